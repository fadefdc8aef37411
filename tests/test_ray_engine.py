"""The Ray engine on a real local Ray instance (2 CPUs) equals the local engine; bad photos are recorded.

One Ray instance serves the whole module and is shut down at its end.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from explainers import cli
from explainers.evaluate import evaluate_dataset
from explainers.errors import ParameterError
from explainers.evaluate import collect_photos

from conftest import ROOT

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[data]' (scripts/test.sh installs it)")

METHODS = ("cam", "secam")
STEPS = 5


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        Image.fromarray(getattr(skdata, name)()).save(folder / f"{name}.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not the rest of a JPEG")
    return folder


@pytest.fixture(scope="module")
def local_run(photo_dir):
    # one torch thread, as each Ray replica uses on 2 CPUs: then the sums run in the same order and the
    # AUCs are equal bit for bit (with 2 threads here and 1 there they differ by about 1e-7)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return evaluate_dataset(collect_photos(photo_dir), methods=METHODS, engine="local", steps=STEPS, device="cpu")
    finally:
        torch.set_num_threads(threads)


def assert_same_results(ray_results, local_results):
    assert [(r.file, r.method) for r in ray_results] == [(r.file, r.method) for r in local_results]
    for a, b in zip(ray_results, local_results):
        assert a.predicted_class == b.predicted_class and a.class_index == b.class_index, (a.file, a.method)
        assert abs(a.deletion_auc - b.deletion_auc) <= 1e-6, (a.file, a.method)
        assert abs(a.insertion_auc - b.insertion_auc) <= 1e-6, (a.file, a.method)
        assert a.predicted_probability == pytest.approx(b.predicted_probability, abs=1e-6)
        assert (a.kept_fraction is None) == (b.kept_fraction is None)
        np.testing.assert_allclose(a.curves.deletion, b.curves.deletion, atol=1e-6)


@pytest.mark.slow
def test_ray_engine_equals_local_engine_and_records_the_bad_photo(ray_session, photo_dir, local_run):
    local_results, local_failures = local_run
    results, failures = evaluate_dataset(collect_photos(photo_dir), methods=METHODS, engine="ray", workers=1,
                                         steps=STEPS, device="cpu")
    assert len(results) == 4 * (len(METHODS) + 1)  # four photos: each method and the random baseline
    assert_same_results(results, local_results)
    assert [(f.file, f.message) for f in failures] == [(f.file, f.message) for f in local_failures]
    assert failures[0].file == "broken.jpg" and "damaged or truncated" in failures[0].message


@pytest.mark.slow
def test_ray_cli_writes_csv_summary_and_parquet(ray_session, photo_dir, local_run, tmp_path, capsys):
    import pyarrow.parquet as pq

    labels = tmp_path / "labels.csv"
    labels.write_text("file,class_index\nastronaut.jpg,450\nchelsea.jpg,285\ncoffee.jpg,967\nbroken.jpg,1\n")
    out = tmp_path / "out"
    code = cli.main(["evaluate", str(photo_dir), "--methods", ",".join(METHODS), "--steps", str(STEPS),
                     "--engine", "ray", "--workers", "1", "--labels", str(labels), "--device", "cpu",
                     "--out", str(out), "--no-progress"])
    assert code == 1  # two photos failed: broken.jpg (damaged) and rocket.jpg (not in the labels file)
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "rocket.jpg: not in the labels file" in err
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [f for f in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg") for _ in range(3)]
    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [(r["file"], r["method"]) for r in table] == [(r["file"], r["method"]) for r in rows]
    for csv_row, pq_row in zip(rows, table):
        assert float(csv_row["deletion_auc"]) == pytest.approx(pq_row["deletion_auc"], abs=1e-12)
        assert len(pq_row["deletion"]) == STEPS + 1 and pq_row["true_class"] == int(csv_row["true_class"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "ray" and summary["photos"] == 3 and summary["failed"] == 2
    assert summary["accuracy"]["n"] == 3 and set(summary["methods"]) == {*METHODS, "random"}
    # the explained class is the true class from the labels file, as with the local engine
    assert {r["file"]: int(r["class_index"]) for r in rows}["chelsea.jpg"] == 285


def test_engine_options_are_checked(photo_dir):
    photos = collect_photos(photo_dir)
    with pytest.raises(ParameterError, match="unknown engine 'spark'"):
        evaluate_dataset(photos, engine="spark")
    with pytest.raises(ParameterError, match="engine='ray' only"):
        evaluate_dataset(photos, engine="local", workers=2)
    assert cli.main(["evaluate", str(photo_dir), "--workers", "2", "--out", "/nonexistent/out"]) == 2


def test_missing_ray_says_how_to_install(photo_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ParameterError, match=r"pip install 'ray\[data\]'"):
        evaluate_dataset(collect_photos(photo_dir), methods=["cam"], engine="ray")


def test_local_engine_never_imports_ray():
    code = ("import sys, explainers, explainers.cli, explainers.evaluate, explainers.inputs; "
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
