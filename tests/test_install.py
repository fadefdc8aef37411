"""The distribution: a wheel built from the repository installs into a fresh virtual environment elsewhere,
and there the library works alone: no web or database code is imported, and the console script explains a
photo with the default model, whose weights come with the install (no download)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from photos import ROOT

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPLAINERS_", "PYTHON"))}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_installs_alone_and_the_console_script_explains(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
         str(ROOT)], cwd=tmp_path)
    [wheel] = dist.glob("explainers-*.whl")
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, script = env_dir / "bin" / "python", env_dir / "bin" / "explainers"
    # torch and torchvision as requirements.txt pins them (the releases this machine keeps on disk)
    run([str(python), "-m", "pip", "install", "-q", str(wheel), "torch==2.14.1", "torchvision==0.29.1"],
        cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = ("import sys, explainers, explainers.evaluate, explainers.cli; "
             "bad = [m for m in ('streamlit', 'sqlalchemy', 'alembic', 'psycopg', 'plotly', 'pandas', 'ray', "
             "'explainers_team', 'ui') if m in sys.modules]; assert not bad, bad; "
             "from explainers.models.registry import default_registry_path; print(default_registry_path())")
    where = run([str(python), "-c", check], cwd=elsewhere).stdout.strip()
    assert str(env_dir) in where, where  # the packaged registry, not this checkout's
    missing = run([str(python), "-c", "import importlib.util as u; print([m for m in ('streamlit', 'sqlalchemy') "
                                      "if u.find_spec(m)])"], cwd=elsewhere).stdout.strip()
    assert missing == "[]", f"a plain install pulled in {missing}"

    from skimage import data
    from PIL import Image

    Image.fromarray(data.chelsea()).save(elsewhere / "cat.jpg")
    out = run([str(script), "explain", "cat.jpg", "--method", "cam", "--out", "out", "--device", "cpu"],
              cwd=elsewhere).stdout
    assert "explained 1 image(s) with cam on efficientnet_lite0" in out
    result = json.loads((elsewhere / "out" / "results.json").read_text())
    assert result["images"][0]["predictions"][0]["label"] in {"Egyptian cat", "tabby", "tiger cat"}
