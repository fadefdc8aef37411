"""A metric added by a separately installed package (entry point group ``explainers.metrics``), for real.

As ``test_plugins`` does for methods: the plug-in is a tiny distribution written to a temporary folder
(``keeptop_plugin.py`` and ``keeptop_plugin-0.1.dist-info/`` with ``METADATA`` and ``entry_points.txt``,
what ``pip install`` leaves in site-packages). A second entry point names a module that does not exist:
it is reported by name with its error, and everything else works. A subprocess sees the folder through
``PYTHONPATH`` and gets the metric from ``import explainers`` alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import explainers
from explainers import plugins
from explainers.metrics import METRICS, MapBatch, get_metric
from photos import ROOT
import test_metrics
from test_metrics import quarter_map, textured_image

#: The model with a known answer (a fixture of test_metrics).
detail_model = test_metrics.detail_model

#: The plug-in module.
PLUGIN = '''\
"""Keep top: the class probability when the model sees only the most salient pixels (the rest blurred)."""
import numpy as np
import torch

from explainers import Param
from explainers.metrics import HIGHER, Metric, blurred, class_probabilities, pixel_order


class KeepTop(Metric):
    name = "keeptop"
    title = "Keep top"
    summary = "class probability when only the most salient share of the pixels is kept"
    direction = HIGHER
    parameters = (Param("share", float, 0.2, low=0.0, high=1.0, help="share of the pixels kept"),)

    def cost(self):
        return 1.0

    def compute(self, batch):
        size = batch.size

        def copies():
            for i in range(len(batch)):
                x = batch.x(int(batch.photo_of[i]))
                keep = np.zeros(size * size, bool)
                keep[pixel_order(batch.maps[i], size)[: round(self.params["share"] * size * size)]] = True
                kept = torch.from_numpy(keep.reshape(size, size))
                yield torch.where(kept, x, blurred(x, 10.0)), int(batch.classes[i])

        return class_probabilities(batch.model, copies(), len(batch), 64), None, None
'''

ENTRY_POINTS = """\
[explainers.metrics]
keeptop = keeptop_plugin:KeepTop
brokenmetric = keeptop_missing_module:Nothing
"""


@pytest.fixture
def plugin_dir(tmp_path):
    site = tmp_path / "site"
    info = site / "keeptop_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "keeptop_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keeptop-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


@contextlib.contextmanager
def installed(plugin_dir: Path):
    """``plugin_dir`` on ``sys.path`` and its metrics loaded, as ``import explainers`` would; all undone after."""
    sys.path.insert(0, str(plugin_dir))
    before = dict(METRICS)
    try:
        yield explainers.load_metric_plugins()
    finally:
        sys.path.remove(str(plugin_dir))
        METRICS.clear()
        METRICS.update(before)
        plugins._METRIC_ERRORS.clear()
        sys.modules.pop("keeptop_plugin", None)


def test_a_plugin_metric_registers_like_a_builtin_and_a_broken_one_is_reported(plugin_dir, detail_model):
    with installed(plugin_dir) as errors:
        assert explainers.list_metrics()[-1] == "keeptop" and explainers.list_metrics()[0] == "deletion"
        cls = METRICS["keeptop"]
        assert cls.source == "keeptop-plugin" and METRICS["deletion"].source == "explainers"
        assert "keeptop" not in explainers.metrics.builtin_metrics()
        assert list(errors) == ["brokenmetric"]
        message = explainers.metric_plugin_errors()["brokenmetric"]
        assert "keeptop_missing_module:Nothing" in message and "ModuleNotFoundError" in message
        assert explainers.plugin_errors() == {}  # method plug-ins are another record
        # it measures, batched like a built-in, with its declared parameter checked
        image = textured_image()
        scores = get_metric("keeptop", share=1.0).measure(detail_model, [image, image], [quarter_map()] * 2, [0, 1])
        originals = MapBatch(detail_model, [image, image], [quarter_map()] * 2, [0, 1]).originals()
        np.testing.assert_allclose(scores.values, originals, atol=1e-6)  # keeping every pixel keeps the photo
        assert scores.metric == "keeptop" and scores.params == {"share": 1.0} and scores.direction == "higher"
        with pytest.raises(explainers.ParameterError, match=r"`share` must be in \[0.0, 1.0\], got 2"):
            get_metric("keeptop", share=2)
        assert explainers.load_metric_plugins() == explainers.metric_plugin_errors()  # again: nothing changes
    assert "keeptop" not in METRICS


@pytest.mark.parametrize("value, error", [
    ("keeptop_plugin:NotThere", "AttributeError"),
    ("json:dumps", "not a subclass of explainers.metrics.Metric"),
    ("keeptop_plugin", "must be 'module:Class'"),
])
def test_bad_metric_entry_points_are_reported_by_name(plugin_dir, value, error):
    (plugin_dir / "keeptop_plugin-0.1.dist-info" / "entry_points.txt").write_text(f"[explainers.metrics]\nbad = {value}\n")
    with installed(plugin_dir) as errors:
        assert list(errors) == ["bad"] and error in errors["bad"], errors
        assert "bad" not in METRICS and "deletion" in METRICS


def test_a_plugin_metric_may_not_take_a_builtin_name_or_another_name(plugin_dir):
    (plugin_dir / "keeptop_plugin.py").write_text(PLUGIN.replace('name = "keeptop"', 'name = "irof"'))
    info = plugin_dir / "keeptop_plugin-0.1.dist-info" / "entry_points.txt"
    info.write_text("[explainers.metrics]\nirof = keeptop_plugin:KeepTop\nkeep = keeptop_plugin:KeepTop\n")
    with installed(plugin_dir) as errors:
        assert "taken by explainers.metrics.irof.IROF" in errors["irof"] and "rename the metric" in errors["irof"]
        assert "the entry point is named 'keep' but KeepTop.name is 'irof'" in errors["keep"]
        assert METRICS["irof"].__module__ == "explainers.metrics.irof"


def test_a_metric_with_a_bad_declaration_is_refused_with_its_name(plugin_dir):
    (plugin_dir / "keeptop_plugin.py").write_text(PLUGIN.replace("direction = HIGHER", 'direction = "up"'))
    with installed(plugin_dir) as errors:
        assert "KeepTop.direction must be 'higher' or 'lower', got 'up'" in errors["keeptop"]


def test_importing_explainers_loads_the_plugin_metric(plugin_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")])}
    code = ("import json, explainers; print(json.dumps({'metrics': explainers.list_metrics(), "
            "'errors': explainers.metric_plugin_errors()}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["metrics"][-1] == "keeptop" and list(found["errors"]) == ["brokenmetric"]
