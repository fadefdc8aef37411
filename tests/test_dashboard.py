"""The dashboard driven without a browser, by ``streamlit.testing.v1.AppTest``.

Each page runs with no exception and no error box; a widget change changes the
result; moving the threshold, the opacity or the colour scale runs neither the
model nor SLIC again (counted by wrapping ``LoadedModel.forward_batch`` and
SeCAM's ``slic``), while changing SLIC's parameters or the photo does.

Sidebar widgets are driven like page widgets: the entry script draws the
sidebar on every run (with a ``pages/`` folder it would not; see
``test_no_pages_folder_next_to_the_entry_script``).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

import explainers  # noqa: E402
from explainers.models.loaded import LoadedModel  # noqa: E402
from ui import state  # noqa: E402

PAGES = ["dashboard.py", "pages/compare.py", "pages/method.py", "pages/models.py"]
TIMEOUT = 240


def new_app(**choices) -> AppTest:
    """The app, with session choices set before its first run (sample 'coffee' is small and fast)."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["sample"] = "chelsea"
    for key, value in choices.items():
        at.session_state[key] = value
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def figures(at: AppTest) -> list[dict]:
    """The Plotly figures of the last run, as JSON dicts."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def titled(at: AppTest, prefix: str) -> dict:
    for fig in figures(at):
        if fig["layout"].get("title", {}).get("text", "").startswith(prefix):
            return fig
    raise AssertionError(f"no figure titled {prefix!r}")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def counters(monkeypatch):
    """Count network forward passes and SLIC runs, wherever they are called from."""
    import explainers.secam as secam_module

    calls = {"forward": 0, "slic": 0}
    forward_batch, slic = LoadedModel.forward_batch, secam_module.slic

    def counted_forward(self, batch):
        calls["forward"] += 1
        return forward_batch(self, batch)

    def counted_slic(*args, **kwargs):
        calls["slic"] += 1
        return slic(*args, **kwargs)

    monkeypatch.setattr(LoadedModel, "forward_batch", counted_forward)
    monkeypatch.setattr(secam_module, "slic", counted_slic)
    return calls


def test_every_gallery_sample_decodes_to_rgb():
    for name in state.SAMPLES:
        image = state.sample_image(name)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, name
        assert not image.flags.writeable, "cached arrays are shared between sessions: read-only"


# -- every page -------------------------------------------------------------------------
def test_explain_page(tmp_path):
    at = new_app()
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Explain a prediction"
    assert {"Top-3 predictions", "CAM: Egyptian cat", "Best 15 superpixels"} <= {
        f["layout"]["title"]["text"] for f in figures(at)}
    titled(at, "SeCAM: Egyptian cat")
    assert metric(at, "Probability").endswith("%")
    table = at.dataframe[0].value
    assert list(table.columns) == ["id", "score", "area_pct", "kept"]
    assert table["score"].is_monotonic_decreasing and table["kept"].any()
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CAM overlay (PNG)", "SeCAM masked photo (PNG)", "CAM saliency (.npy)",
                      "SeCAM saliency (.npy)", "Superpixel scores (CSV)", "Whole result (JSON)"]
    # the sidebar: the model list holds only usable models, the others are listed with the reason
    models = at.sidebar.selectbox(key="model_name")
    available = {n: ok for n, (ok, _) in state.availability().items()}
    assert {o.split(" - ")[0] for o in models.options} == {n for n, ok in available.items() if ok}
    blocked = [n for n, ok in available.items() if not ok]
    if blocked:
        assert any(all(n in e.label for n in blocked) for e in at.sidebar.expander)
    assert any("Device: **CPU**" in c.value or "Device: **GPU" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES[1:])
def test_page_renders(page):
    at = new_app()
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    if page.endswith("compare.py"):
        titles = [a["text"] for a in titled_annotations(at)]
        assert sum(t.startswith("CAM: #") for t in titles) == 3  # top-3: a row per class
        assert [m.label for m in at.metric] == ["Forward", "CAM", "SLIC", "Scoring"]
    elif page.endswith("method.py"):
        text = " ".join(m.value for m in at.markdown)
        assert "7x7x1280" in text and "superpixels survive" in text
        assert len(at.latex) >= 5
        # contributions + bias equal the logit (GAP + linear head), as the page claims
        assert metric(at, "Sum of contributions + bias") == metric(at, "Logit of the class")
        assert len(figures(at)) == 3
    else:
        table = at.dataframe[0].value.set_index("model")
        assert set(state.registry().specs) <= set(table.index)
        row = table.loc["efficientnet_lite0"]
        assert row["weights offline"] == "yes" and row["GAP check"].startswith("exact")
        assert row["feature map (h x w x C)"] == "7x7x1280"
        assert (table.loc[table["weights offline"] == "no", "GAP check"] == "cannot load").all()
        # the other models load only on demand (the button is disabled when only this one is usable)
        button = at.button(key="check_all")
        if not button.disabled:
            button.click().run()
            assert_clean(at)
        table = at.dataframe[0].value.set_index("model")
        usable = table[table["weights offline"] == "yes"]
        assert usable["GAP check"].str.startswith("exact").all() and (usable["parameters"] != "").all()


def titled_annotations(at: AppTest) -> list[dict]:
    return [a for f in figures(at) for a in f["layout"].get("annotations", [])]


# -- caching: the hot path ----------------------------------------------------------------
def test_threshold_opacity_colours_rerun_without_model_or_slic(counters):
    state.clear_caches()
    at = new_app()
    at.run()
    assert_clean(at)
    assert counters["forward"] >= 1 and counters["slic"] >= 1  # the counters do see the real work
    before = dict(counters)
    kept = metric(at, "Kept")

    at.slider(key="w_threshold").set_value(0.2).run()
    assert_clean(at)
    assert metric(at, "Kept") != kept  # the result changed...
    assert counters == before  # ...without a forward pass or SLIC

    cam = titled(at, "CAM: ")
    at.slider(key="w_opacity").set_value(0.9).run()
    at.radio(key="w_colorscale").set_value("Turbo").run()
    assert_clean(at)
    assert counters == before
    heat = next(t for t in titled(at, "CAM: ")["data"] if t["type"] == "heatmap")
    assert heat["opacity"] == 0.9 and heat["colorscale"] != next(
        t for t in cam["data"] if t["type"] == "heatmap")["colorscale"]

    # the threshold, opacity and colour scale carry over to the other pages
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert counters["slic"] == before["slic"]
    assert at.session_state["threshold"] == 0.2 and at.session_state["opacity"] == 0.9
    at.switch_page("dashboard.py").run()
    assert at.slider(key="w_threshold").value == 0.2

    # SLIC's own parameters do run SLIC again, but not the model
    at.sidebar.slider(key="n_segments").set_value(80).run()
    assert_clean(at)
    assert counters["slic"] == before["slic"] + 1 and counters["forward"] == before["forward"]
    at.sidebar.toggle(key="slic_full").set_value(True).run()  # full-resolution SLIC, not the library's working copy
    assert_clean(at)
    assert counters["slic"] == before["slic"] + 2 and counters["forward"] == before["forward"]
    assert at.session_state["selection"].slic_max_side == 0


def test_target_class_changes_the_explanation(counters):
    at = new_app()
    at.run()
    first = titled(at, "CAM: ")
    forwards = counters["forward"]
    selectbox = at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("w_target_class")))
    assert len(selectbox.options) == 1000  # any class, not only the top-K
    tiger = at.session_state["selection"].model.labels.index("tiger")
    selectbox.set_value(tiger).run()
    assert_clean(at)
    second = titled(at, "CAM: ")
    assert second["layout"]["title"]["text"] == "CAM: tiger"
    assert second["data"][1]["z"] != first["data"][1]["z"]
    assert counters["forward"] == forwards  # a new class reuses the cached forward pass
    assert float(metric(at, "Probability").rstrip("%")) < 5


def test_topk_changes_predictions_and_compare_grid():
    at = new_app(topk=1)
    at.run()
    assert len(titled(at, "Top-1 predictions")["data"][0]["y"]) == 1
    at.switch_page("pages/compare.py").run()
    assert sum(a["text"].startswith("CAM: #") for a in titled_annotations(at)) == 1
    at.sidebar.slider(key="topk").set_value(5).run()
    assert_clean(at)
    assert sum(a["text"].startswith("CAM: #") for a in titled_annotations(at)) == 5


def test_sample_change_runs_the_model_again(counters):
    at = new_app()
    at.run()
    before = counters["forward"]
    at.sidebar.selectbox(key="sample").set_value("coffee").run()
    assert_clean(at)
    assert counters["forward"] == before + 1
    assert titled(at, "CAM: ")["layout"]["title"]["text"] != "CAM: Egyptian cat"


# -- uploads and errors ----------------------------------------------------------------------
def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_a_photo_and_a_broken_file():
    from skimage import data

    at = new_app(image_source=state.SOURCE_UPLOAD)
    at.run()
    assert not at.exception
    assert any("Upload a photo" in e.value for e in at.error)  # nothing uploaded yet: says what to do
    rocket = data.rocket()[::2, ::2].copy()
    at.file_uploader[0].upload("rocket.png", _png(rocket), "image/png").run()
    assert_clean(at)
    assert at.session_state["selection"].image.shape == rocket.shape
    assert at.session_state["selection"].image_name == "rocket.png"
    assert len(figures(at)) == 4

    at = new_app(image_source=state.SOURCE_UPLOAD)
    at.run()
    at.file_uploader[0].upload("holiday.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG", "image/jpeg").run()
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "holiday.jpg" in messages and "pick a sample" in messages
    assert not figures(at)


def test_model_that_fails_to_load_shows_an_error(monkeypatch):
    def broken(name):
        raise explainers.WeightsUnavailableError(f"model '{name}': weights file is corrupt")

    monkeypatch.setattr(state, "get_model", broken)
    for page in PAGES:
        at = new_app()
        at.run()
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception, page
        messages = " ".join(e.value for e in at.error)
        assert "cannot be loaded" in messages and "Pick another model" in messages, page
