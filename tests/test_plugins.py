"""A method added by a separately installed package (entry point group ``explainers.methods``), for real.

The plug-in is a tiny distribution written to a temporary folder: ``sharpcam_plugin.py`` (the README's
"Write your own method" example) and ``sharpcam_plugin-0.1.dist-info/`` with ``METADATA`` and
``entry_points.txt``, exactly what ``pip install`` leaves in site-packages. A second entry point names a
module that does not exist: it must be reported by name with its error, and everything else must work.
The CLI sees the folder through ``PYTHONPATH`` in a subprocess; the dashboard through ``sys.path`` and
AppTest. Nothing outside the plug-in is edited.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import explainers
from explainers import plugins
from conftest import shown
from photos import ROOT, skimage_photo

#: The plug-in module, as the README shows it.
PLUGIN = '''\
"""SharpCAM: CAM raised to a power, so only the strongest evidence stays bright."""
import torch

from explainers import Explainer, Param


class SharpCAM(Explainer):
    name = "sharpcam"
    title = "SharpCAM"
    parameters = (Param("power", float, 2.0, low=1.0, high=8.0, help="exponent applied to the positive CAM"),)
    requires_exact_cam = True      # CAM's weights: needs a GAP + linear head
    uses_superpixels = False

    def class_map(self, model, forward, class_index):
        cam = super().class_map(model, forward, class_index)  # sum_k w_k^c f_k at feature resolution
        return torch.relu(cam) ** self.params["power"]
'''

ENTRY_POINTS = """\
[explainers.methods]
sharpcam = sharpcam_plugin:SharpCAM
brokenplug = sharpcam_missing_module:Nothing
"""


@pytest.fixture
def plugin_dir(tmp_path):
    """A folder holding the installed plug-in distribution (module + dist-info)."""
    site = tmp_path / "site"
    info = site / "sharpcam_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "sharpcam_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sharpcam-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


@contextlib.contextmanager
def installed(plugin_dir: Path):
    """``plugin_dir`` on ``sys.path`` and its plug-ins loaded, as ``import explainers`` would; all undone after."""
    sys.path.insert(0, str(plugin_dir))
    before = dict(explainers.EXPLAINERS)
    try:
        yield explainers.load_plugins()
    finally:
        sys.path.remove(str(plugin_dir))
        explainers.EXPLAINERS.clear()
        explainers.EXPLAINERS.update(before)
        plugins._ERRORS.clear()
        sys.modules.pop("sharpcam_plugin", None)


@pytest.fixture
def plugin_loaded(plugin_dir):
    """The plug-in discovered in this process; removed afterwards."""
    with installed(plugin_dir) as errors:
        yield errors


def run_cli(plugin_dir: Path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "explainers", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


# -- the library, in this process ----------------------------------------------------------
def test_plugin_registers_like_a_builtin_and_a_broken_one_is_reported(plugin_loaded, tiny_model):
    assert explainers.list_explainers()[:4] == ["cam", "secam", "gradcam", "lime"]
    assert explainers.list_explainers()[-1] == "sharpcam"
    cls = explainers.EXPLAINERS["sharpcam"]
    assert cls.source == "sharpcam-plugin" and explainers.EXPLAINERS["cam"].source == "explainers"
    assert list(plugin_loaded) == ["brokenplug"]
    message = explainers.plugin_errors()["brokenplug"]
    assert "sharpcam_missing_module:Nothing" in message and "ModuleNotFoundError" in message
    # it explains, with its declared parameter checked like a built-in's
    image = np.zeros((32, 32, 3), np.uint8)
    image[:16, :16] = (220, 20, 20)
    [e] = explainers.get_explainer("sharpcam", power=3.0).explain(tiny_model, image, targets=[0])
    [cam] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[0])
    np.testing.assert_allclose(e.class_map, np.maximum(cam.class_map, 0) ** 3, rtol=1e-5)
    assert e.method == "sharpcam" and e.params == {"power": 3.0}
    with pytest.raises(explainers.ParameterError, match=r"`power` must be in \[1.0, 8.0\], got 9"):
        explainers.get_explainer("sharpcam", power=9)
    assert explainers.load_plugins() == explainers.plugin_errors()  # loading again changes nothing


@pytest.mark.parametrize("value, error", [
    ("sharpcam_plugin:NotThere", "AttributeError"),
    ("json:dumps", "not a subclass of explainers.Explainer"),
    ("sharpcam_plugin", "must be 'module:Class'"),
])
def test_bad_entry_points_are_reported_by_name(plugin_dir, value, error):
    info = plugin_dir / "sharpcam_plugin-0.1.dist-info" / "entry_points.txt"
    info.write_text(f"[explainers.methods]\nbad = {value}\n")
    with installed(plugin_dir) as errors:
        assert list(errors) == ["bad"] and error in errors["bad"], errors
        assert "bad" not in explainers.EXPLAINERS and "cam" in explainers.EXPLAINERS


def test_a_plugin_may_not_take_a_builtin_name(plugin_dir):
    (plugin_dir / "sharpcam_plugin.py").write_text(PLUGIN.replace('name = "sharpcam"', 'name = "cam"'))
    info = plugin_dir / "sharpcam_plugin-0.1.dist-info" / "entry_points.txt"
    info.write_text("[explainers.methods]\ncam = sharpcam_plugin:SharpCAM\n")
    with installed(plugin_dir) as errors:
        assert "taken by explainers.methods.cam.CAM" in errors["cam"]
        assert explainers.EXPLAINERS["cam"].__module__ == "explainers.methods.cam"


# -- the command line, in a subprocess -----------------------------------------------------------
@pytest.mark.slow
def test_cli_lists_explains_and_evaluates_with_the_plugin(plugin_dir, tmp_path):
    proc = run_cli(plugin_dir, "methods")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("sharpcam"))
    assert "SharpCAM" in line and "[from sharpcam-plugin]" in line and "head: GAP + linear" in line
    assert "--power" in proc.stdout and "default 2.0" in proc.stdout
    broken = next(x for x in proc.stdout.splitlines() if x.startswith("brokenplug"))
    assert "FAILED" in broken and "ModuleNotFoundError" in broken

    photo = skimage_photo("chelsea")
    proc = run_cli(plugin_dir, "explain", photo, "--method", "sharpcam", "--power", "3", "--out", tmp_path / "ex")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "ex" / "results.json").read_text())
    assert results["method"] == "sharpcam" and results["params"] == {"power": 3.0}
    assert results["images"][0]["predictions"][0]["label"] == "Egyptian cat"
    assert np.load(tmp_path / "ex" / "sharpcam_chelsea_0.npy").shape == (300, 451)

    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photo, folder / photo.name)
    proc = run_cli(plugin_dir, "evaluate", folder, "--methods", "cam,sharpcam", "--sharpcam-power", "4",
                   "--steps", "2", "--no-progress", "--device", "cpu", "--out", tmp_path / "ev")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert list(summary["methods"]) == ["cam", "sharpcam", "random"]
    assert summary["params"]["sharpcam"] == {"power": 4.0}
    assert 0 <= summary["methods"]["sharpcam"]["deletion_auc"]["mean"] <= 1


# -- the dashboard, through AppTest --------------------------------------------------------------
#: (page script, key of its method picker, what the page needs before the picker shows). Pages that
#: offer methods add a row here; the test checks the plug-in is offered and runs.
PICKERS = [("pages/evaluate.py", "evaluate_methods"), ("dashboard.py", "w_right_method"), ("pages/compare.py", "w_right_method")]


@pytest.mark.parametrize("script, key", PICKERS)
def test_dashboard_pickers_offer_and_run_the_plugin(plugin_loaded, script, key):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    at.session_state["sample"] = "chelsea"
    at.run()
    at.switch_page(script).run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.multiselect(key=key) if key in {w.key for w in at.get("multiselect")} else at.selectbox(key=key)
    assert {"sharpcam", "sharpcam (SharpCAM)", "SharpCAM"} & set(picker.options), picker.options
    if script != "pages/evaluate.py":  # Explain and Compare: condition B runs the plug-in, with its own parameter
        picker.set_value("sharpcam").run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [shown(e.value) for e in at.error]
        assert at.session_state["right_method"] == "sharpcam"
        if script == "pages/compare.py":  # its parameters are set where the conditions are
            at.number_input(key="w_param_sharpcam_power").set_value(3.0).run()
            assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
            assert at.session_state["method_params"] == {"sharpcam": {"power": 3.0}}
        titles = [a["text"] for f in at.get("plotly_chart") for a in json.loads(f.proto.spec)["layout"].get("annotations", [])]
        assert any(t.startswith("B: SharpCAM") for t in titles), titles
    if script == "pages/evaluate.py":
        picker.set_value(["sharpcam"]).run()
        at.slider(key="evaluate_steps").set_value(2)
        at.number_input(key="evaluate_param_sharpcam_power").set_value(3.0)
        at.radio(key="evaluate_source").set_value("Upload photos").run()
        photo = skimage_photo("coffee")
        at.file_uploader(key="evaluate_uploads").set_value([(photo.name, photo.read_bytes(), "image/png")]).run()
        at.button(key="evaluate_run").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [shown(e.value) for e in at.error]
        table = at.dataframe[1].value
        assert list(table["method"]) == ["sharpcam", "random"]
        assert table["deletion_auc"].between(0, 1).all()


def test_models_page_lists_methods_plugin_failures_and_weight_sizes(plugin_loaded):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    at.session_state["sample"] = "chelsea"
    at.run()
    at.switch_page("pages/models.py").run()
    assert not at.exception, [e.value for e in at.exception]
    models = at.dataframe[0].value.set_index("model")
    assert models.loc["efficientnet_lite0", "weights"] == "here (19 MB)"
    assert models.loc["efficientnet_lite0", "size from"] == "the file on disk"
    resnet18 = models.loc["resnet18"]
    if resnet18["weights offline"] == "no":  # not cached on this machine: it says it will download, and how much
        assert resnet18["weights"] == "downloads on first use (45 MB)"
        assert resnet18["size from"] == "torchvision's weights metadata (_file_size)"
    assert models.loc["convnext_tiny", "CAM"] == "not exact: use Grad-CAM or LIME"
    methods = at.dataframe[1].value.set_index("method")
    assert methods.loc["sharpcam", "from"] == "sharpcam-plugin" and methods.loc["sharpcam", "status"] == "ready"
    assert methods.loc["cam", "from"] == "explainers"
    assert methods.loc["brokenplug", "status"].startswith("FAILED: plug-in 'brokenplug'")


def test_the_readme_shows_this_very_plugin():
    readme = (ROOT / "README.md").read_text()
    assert PLUGIN.strip() in readme and 'sharpcam = "sharpcam_plugin:SharpCAM"' in readme
