"""The CLI on the whole corpus in one call: each bad file gets one line on stderr, the rest are explained.

One subprocess (``python -m explainers explain good.jpg <every corpus file> --out DIR``) on a
tiny registry model (torchvision resnet18, 3 classes, random weights), so the test is about
the files, not the model, and stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import corpus

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 0.05
LIMIT = int(LIMIT_MB * 1024 * 1024)  # as explainers.images computes MAX_FILE_BYTES
BAD = corpus.bad_cases(oversize_limit=LIMIT)
ODD = corpus.odd_cases()
REGISTRY = """
models:
  tiny:
    architecture: torchvision:resnet18
    weights: none
    num_classes: 3
    input_size: 64
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    inputs = folder / "in"
    good = inputs / "good.jpg"
    inputs.mkdir()
    good.write_bytes(corpus.good_jpeg((320, 240)))
    bad = {c.name: (p, c.expected) for c, p in zip(BAD, corpus.write_cases(BAD, inputs).values())}
    bad.update({name: (path, expected) for name, path, expected in corpus.path_cases(inputs)})
    odd = corpus.write_cases(ODD, inputs)
    (folder / "models.yaml").write_text(REGISTRY)
    out = folder / "out"
    args = [str(good), *(str(p) for p, _ in bad.values()), *(str(p) for p in odd.values())]
    env = {**os.environ, "EXPLAINERS_MAX_FILE_MB": str(LIMIT_MB), "EXPLAINERS_DEVICE": "cpu", "PYTHONWARNINGS": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "explainers", "explain", *args, "--model", "tiny",
         "--models", str(folder / "models.yaml"), "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc, good, bad, odd, out


def test_exit_status_is_non_zero(run):
    proc, *_ = run
    assert proc.returncode == 1, proc.stderr


def test_one_line_per_bad_file_and_no_traceback(run):
    proc, _, bad, _, _ = run
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    assert len(lines) == len(bad), proc.stderr
    for name, (path, expected) in bad.items():
        [line] = [ln for ln in lines if ln.startswith(f"error: {path}: ")]
        assert expected in line, (name, line)


def test_no_output_files_for_bad_files_and_no_temporaries(run):
    _, _, bad, _, out = run
    written = [p.name for p in out.iterdir()]
    for name in bad:
        assert not [f for f in written if f"_{name}_" in f], name
    assert not [f for f in written if f.startswith(".tmp-")]


def test_good_and_odd_files_are_explained(run):
    proc, good, bad, odd, out = run
    results = json.loads((out / "results.json").read_text())
    explained = [r["image"] for r in results["images"]]
    assert explained == [str(good), *(str(p) for p in odd.values())]  # in the order given
    for record in results["images"]:
        for prediction in record["predictions"]:
            for filename in prediction["files"]:
                assert (out / filename).stat().st_size > 0
    assert f"explained {1 + len(odd)} image(s)" in proc.stdout
