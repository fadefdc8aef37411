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
from explainers import Condition  # noqa: E402
from ui.app import launch, session  # noqa: E402
from ui.compute import explanations, faithfulness, photos  # noqa: E402
from ui.compute import models as model_cache  # noqa: E402
from conftest import shown  # noqa: E402

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
    assert not at.error, [shown(e.value) for e in at.error]


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
    import explainers.methods.secam as secam_module

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
    for name in photos.SAMPLES:
        image = photos.sample_image(name)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, name
        assert not image.flags.writeable, "cached arrays are shared between sessions: read-only"


# -- every page -------------------------------------------------------------------------
def test_explain_page(tmp_path):
    at = new_app()
    at.run()
    assert_clean(at)
    assert shown(at.title[0].value) == "Explain a prediction"
    assert {"Top-3 predictions", "Best 15 superpixels"} <= {f["layout"].get("title", {}).get("text") for f in figures(at)}
    assert panel_titles(at, "maps") == ["A: CAM on efficientnet_lite0", "B: SeCAM on efficientnet_lite0"]
    assert metric(at, "Probability").endswith("%")
    table = at.dataframe[0].value
    assert list(table.columns) == ["id", "score", "area_pct", "kept"]
    assert table["score"].is_monotonic_decreasing and set(table["kept"]) == {"yes", "no"}  # never 1 / 0
    assert at.dataframe[0].proto.placeholder == "\u2014"  # a missing cell shows a dash, not "None"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CAM map (PNG)", "CAM map (.npy)", "SeCAM map (PNG)", "SeCAM map (.npy)",
                      "Superpixel scores (CSV)", "Whole result (JSON)"]
    # the sidebar: the model list holds only usable models, the others are listed with the reason
    models = at.sidebar.selectbox(key="model_name")
    available = {n: ok for n, (ok, _) in model_cache.availability().items()}
    assert {o.split(" - ")[0] for o in models.options} == {n for n, ok in available.items() if ok}
    blocked = [n for n, ok in available.items() if not ok]
    if blocked:  # one short line (a collapsed expander), the names and why inside it
        [box] = [e for e in at.sidebar.expander if e.label.startswith("Not available")]
        assert box.label == f"Not available: {len(blocked)} model{'s' if len(blocked) != 1 else ''}"
        assert not box.proto.expanded
        inside = " ".join(shown(m.value) for m in box.markdown)
        assert all(f"**{n}** cannot be picked" in inside for n in blocked)
    assert any("Device: **CPU**" in c.value or "Device: **GPU" in shown(c.value) for c in at.sidebar.caption)


def test_region_numbers_and_the_picked_table_row_show_on_the_secam_map():
    from ui.compute import comparison
    from ui.views import compare as compare_view

    at = new_app()
    at.run()
    assert_clean(at)
    assert not [t for t in chart(at, "maps")["data"] if t["type"] == "scatter"]  # no numbers by default
    at.toggle(key="w_region_numbers").set_value(True).run()
    assert_clean(at)
    [marks] = [t for t in chart(at, "maps")["data"] if t["type"] == "scatter"]
    table = at.dataframe[0].value
    kept = [f"#{i}" for i in table.loc[table["kept"] == "yes", "id"]]
    assert marks["text"] == kept[:len(marks["text"])] and marks["xaxis"] == "x2"  # on the SeCAM panel (B)
    hover = [t for t in chart(at, "maps")["data"] if t["type"] == "heatmap"][1]["hovertemplate"]
    assert "score" in hover and "kept %{text}" in hover and "value" not in hover

    # a row picked in the table: its callback records (table token, id); the map outlines and numbers it
    at.toggle(key="w_region_numbers").set_value(False).run()
    before = [picture(chart(at, "maps"), i) for i in (0, 1)]
    sel = at.session_state["selection"]
    picked = int(table["id"].iloc[-1])  # the worst superpixel: never numbered unless picked
    label = sel.model.labels[at.session_state["target_class"]]
    secam_side = comparison.compute_side("B", explanations.condition(sel.model_name, "secam", sel, 0.8), sel, label,
                                         "relative")
    at.session_state[compare_view.HIGHLIGHT_KEY] = (compare_view._table_token(sel, secam_side), picked)
    at.run()
    assert_clean(at)
    [marks] = [t for t in chart(at, "maps")["data"] if t["type"] == "scatter"]
    assert marks["text"] == [f"#{picked}"] and marks["xaxis"] == "x2"
    after = [picture(chart(at, "maps"), i) for i in (0, 1)]
    assert after[0] == before[0] and after[1] != before[1]  # only the SeCAM map changes
    # a pick from another table (another photo or method) is not shown
    at.session_state[compare_view.HIGHLIGHT_KEY] = ("sample:astronaut|other", picked)
    at.run()
    assert [picture(chart(at, "maps"), i) for i in (0, 1)] == before


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure drawn with ``key``, as a JSON dict."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart with key {key!r}")


def panel_titles(at: AppTest, key: str) -> list[str]:
    return [a["text"] for a in chart(at, key)["layout"].get("annotations", [])]


def hover_layers(fig: dict) -> list[dict]:
    return [t for t in fig["data"] if t["type"] == "heatmap"]


@pytest.mark.parametrize("page", PAGES[1:])
def test_page_renders(page):
    from ui.compute import comparison
    from ui.views import compare as compare_view

    at = new_app()
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    if page.endswith("compare.py"):
        assert panel_titles(at, "compare_maps") == ["A: CAM on efficientnet_lite0", "B: SeCAM on efficientnet_lite0"]
        assert [m.label for m in at.metric][:3] == ["A: probability", "B: probability", "Agreement (Pearson r)"]
        [caption] = [shown(c.value) for c in at.caption if "Both maps use the same rule" in shown(c.value)]
        # the page says how to zoom; the caption the PNG and the report carry does not
        exported = comparison.caption([], {"scale": "relative", "colorscale": "Viridis", "opacity": 0.5},
                                      "Side by side", None)
        assert caption == exported + compare_view.ZOOM_HINT and "double-click" in caption
        assert "double-click" not in exported and "Zoom" not in exported
    elif page.endswith("method.py"):
        text = " ".join(shown(m.value) for m in at.markdown)
        assert "7x7x1280" in text and "superpixels survive" in text
        assert len(at.latex) >= 5
        # contributions + bias equal the logit (GAP + linear head), as the page claims
        assert metric(at, "Sum of contributions + bias") == metric(at, "Logit of the class")
        assert len(figures(at)) == 3
    else:
        table = at.dataframe[0].value.set_index("model")
        assert set(model_cache.registry().specs) <= set(table.index)
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


def picture(fig: dict, index: int = 0) -> str:
    """The ``data:`` URI of the ``index``-th drawn picture of a figure."""
    return [t for t in fig["data"] if t["type"] == "image"][index]["source"]


# -- caching: the hot path ----------------------------------------------------------------
def test_threshold_opacity_colours_rerun_without_model_or_slic(counters):
    explanations.clear_caches()
    faithfulness.clear()
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

    maps = chart(at, "maps")
    at.slider(key="w_opacity").set_value(0.9).run()
    at.selectbox(key="w_colorscale").set_value("Cividis").run()
    at.radio(key="w_scale").set_value("absolute").run()
    assert_clean(at)
    assert counters["slic"] == before["slic"]
    assert picture(chart(at, "maps")) != picture(maps)
    layout = chart(at, "maps")["layout"]
    assert layout["coloraxis"]["colorscale"][0][1] != maps["layout"]["coloraxis"]["colorscale"][0][1]

    # the threshold, opacity, colour scale and normalisation carry over to Compare, and back
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert counters["slic"] == before["slic"]
    assert at.session_state["threshold"] == 0.2 and at.session_state["opacity"] == 0.9
    assert at.selectbox(key="w_colorscale").value == "Cividis" and at.radio(key="w_scale").value == "absolute"
    at.slider(key="w_threshold").set_value(0.5).run()
    at.switch_page("dashboard.py").run()
    assert at.slider(key="w_threshold").value == 0.5

    # SLIC's own parameters do run SLIC again, but not the model
    at.sidebar.slider(key="n_segments").set_value(80).run()
    assert_clean(at)
    assert counters["slic"] == before["slic"] + 1 and counters["forward"] == before["forward"]
    at.sidebar.toggle(key="slic_full").set_value(True).run()  # full-resolution SLIC, not the library's working copy
    assert_clean(at)
    assert counters["slic"] == before["slic"] + 2 and counters["forward"] == before["forward"]
    assert at.session_state["selection"].slic_max_side == 0


def class_box(at: AppTest):
    return at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("w_target_class")))


def test_target_class_changes_the_explanation(counters):
    at = new_app()
    at.run()
    first = chart(at, "maps")
    forwards = counters["forward"]
    selectbox = class_box(at)
    assert len(selectbox.options) == 1000  # any class, not only the top-K
    tiger = at.session_state["selection"].model.labels.index("tiger")
    selectbox.set_value(tiger).run()
    assert_clean(at)
    assert any("Why 'tiger'?" in shown(h.value) for h in at.caption)
    second = chart(at, "maps")
    assert hover_layers(second)[0]["z"] != hover_layers(first)[0]["z"]
    assert counters["forward"] == forwards  # a new class reuses the cached forward pass
    assert float(metric(at, "Probability").rstrip("%")) < 5


def test_sample_change_runs_the_model_again(counters):
    at = new_app()
    at.run()
    before = counters["forward"]
    at.sidebar.selectbox(key="sample").set_value("coffee").run()
    assert_clean(at)
    assert counters["forward"] == before + 1
    assert not any("Why 'Egyptian cat'?" in shown(h.value) for h in at.caption)


# -- Compare: two conditions ------------------------------------------------------------------------
def usable_models() -> list[str]:
    return [n for n, (ok, _) in model_cache.availability().items() if ok]


def test_compare_other_model_then_other_method_keeps_the_class():
    other = next((n for n in usable_models() if n != session.DEFAULT_MODEL), None)
    if other is None:
        pytest.skip("only one model has its weights here; the model switch needs a second one")
    at = new_app()
    at.run()
    tiger = at.session_state["selection"].model.labels.index("tiger")
    class_box(at).set_value(tiger).run()
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert class_box(at).value == tiger  # the class chosen on Explain is the class here
    at.selectbox(key="w_right_model").set_value(other).run()
    assert_clean(at)
    assert panel_titles(at, "compare_maps")[1] == f"B: SeCAM on {other}"
    assert at.session_state["right_model"] == other and class_box(at).value == tiger
    gradcam = next(m for m in explainers.list_explainers() if explainers.EXPLAINERS[m].title == "Grad-CAM")
    at.selectbox(key="w_right_method").set_value(gradcam).run()
    assert_clean(at)
    assert panel_titles(at, "compare_maps")[1] == f"B: Grad-CAM on {other}"
    assert class_box(at).value == tiger
    # the sidebar's model changes too: the class survives the switch
    at.switch_page("dashboard.py").run()
    at.sidebar.selectbox(key="model_name").set_value(other).run()
    assert_clean(at)
    assert at.session_state["target_class"] == at.session_state["selection"].model.labels.index("tiger")
    assert any("Why 'tiger'?" in shown(h.value) for h in at.caption)


def test_compare_views_and_topk_rows():
    at = new_app(topk=2)
    at.run()
    at.switch_page("pages/compare.py").run()
    at.radio(key="w_view").set_value("Swipe").run()
    assert_clean(at)
    fig = chart(at, "compare_maps")
    assert len(panel_titles(at, "compare_maps")) == 1 and fig["layout"]["shapes"][0]["type"] == "line"
    at.slider(key="w_swipe").set_value(20).run()
    assert_clean(at)
    assert picture(chart(at, "compare_maps")) != picture(fig)
    at.radio(key="w_view").set_value("Difference").run()
    assert_clean(at)
    fig = chart(at, "compare_maps")
    assert len(panel_titles(at, "compare_maps")) == 3
    axis = fig["layout"]["coloraxis2"]
    assert axis["cmin"] == -axis["cmax"] and 0 < axis["cmax"] < 1  # symmetric, fitted to the data
    assert any("symmetric scale fitted to it" in shown(c.value) for c in at.caption)
    at.radio(key="w_view").set_value("Stacked").run()
    assert_clean(at)
    at.toggle(key="w_topk_rows").set_value(True).run()
    assert_clean(at)
    rows = [c for c in at.get("plotly_chart") if "-topk_" in c.proto.id]
    assert len(rows) == 2  # top-2: a row per class
    at.sidebar.slider(key="topk").set_value(4).run()
    assert len([c for c in at.get("plotly_chart") if "-topk_" in c.proto.id]) == 4


def test_compare_faithfulness_on_demand(monkeypatch):
    monkeypatch.setattr(faithfulness, "STEPS", 3)
    faithfulness.clear()
    at = new_app()
    at.run()
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    calls = []
    forward_batch = LoadedModel.forward_batch
    monkeypatch.setattr(LoadedModel, "forward_batch", lambda self, x: calls.append(len(x)) or forward_batch(self, x))
    at.slider(key="w_opacity").set_value(0.7).run()
    assert calls == [] and not at.get("dataframe")  # nothing measures on its own
    button = at.button(key="measure_faithfulness")
    assert "3 maps" in button.label and "about" in button.label
    button.click().run()
    assert_clean(at)
    assert calls  # measured now
    table = at.dataframe[-1].value
    assert list(table["map"]) == ["A: CAM on efficientnet_lite0", "B: SeCAM on efficientnet_lite0",
                                  "random map on efficientnet_lite0"]
    assert table["deletion AUC"].between(0, 1).all() and table["insertion AUC"].between(0, 1).all()
    said = [shown(m.value) for m in at.markdown if "random map" in m.value]  # the table in words, above it
    assert said and said[0].endswith("the Evaluate page measures many."), said
    # more registered metrics on request: offered by the registry, measured by one more click, one column each
    chooser = at.multiselect(key="faith_metrics")
    assert {"ROAD, most relevant first", "IROF", "Average Drop"} <= set(chooser.options), chooser.options
    chooser.set_value(["average_drop"]).run()
    assert_clean(at)
    more = at.button(key="measure_faithfulness")
    assert "3 more values" in more.label, more.label
    more.click().run()
    assert_clean(at)
    with_more = at.dataframe[-1].value
    drops = with_more["Average Drop (lower is better)"]
    assert drops.notna().all() and (drops >= 0).all() and with_more[["deletion AUC"]].equals(table[["deletion AUC"]])
    # kept: another display change (and the threshold: the order, not the mask) shows it without measuring
    calls.clear()
    at.slider(key="w_opacity").set_value(0.3).run()
    at.slider(key="w_threshold").set_value(0.3).run()
    assert_clean(at)
    assert calls == [] and at.dataframe[-1].value[["deletion AUC"]].equals(table[["deletion AUC"]])
    assert not at.get("button") or all(b.key != "measure_faithfulness" for b in at.button)
    # a new class has no measurement yet: the button is back, nothing runs by itself
    class_box(at).set_value(at.session_state["selection"].model.labels.index("tiger")).run()
    assert calls == [] and at.button(key="measure_faithfulness")


def test_a_plugin_method_is_offered_and_runs():
    """A method registered at run time (as an entry-point plug-in is) appears in the pickers with no dashboard edit."""
    from explainers.methods.base import EXPLAINERS, Explainer, register_explainer
    from explainers.parameters import Param

    class Flipped(Explainer):
        """CAM upside down: a toy method for the test."""
        name = "test_flipped"
        title = "Flipped CAM"
        parameters = (Param("gain", float, 1.0, low=0.0, low_open=True, help="multiplies the map"),)

        def build(self, model, image, class_map, context, timings, t0):
            fields = super().build(model, image, class_map, context, timings, t0)
            return {"saliency": (fields["saliency"][::-1] * 1.0).copy()}

    register_explainer(Flipped)
    try:
        at = new_app()
        at.run()
        at.switch_page("pages/compare.py").run()
        box = at.selectbox(key="w_right_method")
        assert "Flipped CAM" in box.options  # labelled by its title
        box.set_value("test_flipped").run()
        assert_clean(at)
        assert panel_titles(at, "compare_maps")[1] == "B: Flipped CAM on efficientnet_lite0"
        at.number_input(key="w_param_test_flipped_gain").set_value(2.0).run()  # its own parameter, from Param
        assert_clean(at)
        assert at.session_state["method_params"] == {"test_flipped": {"gain": 2.0}}
        at.switch_page("dashboard.py").run()
        assert at.selectbox(key="w_right_method").value == "test_flipped"
    finally:
        EXPLAINERS.pop("test_flipped", None)


def test_session_keys_are_one_list_and_round_trip():
    at = new_app()
    at.run()
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    # every page widget writes a plain key from the one list
    widgets = [w.key for kind in ("selectbox", "slider", "radio", "toggle", "number_input")
               for w in at.main.get(kind) if w.key]
    plain = {"target_class" if k.startswith("w_target_class") else k[2:] for k in widgets
             if k.startswith("w_") and not k.startswith("w_param_")}
    assert len(plain) >= 10 and plain <= set(session.SESSION_KEYS), plain - set(session.SESSION_KEYS)
    for key in session.SESSION_KEYS:
        assert key in at.session_state, key
    assert at.session_state["page"] == "pages/compare.py"
    assert at.session_state["photo_key"] == "sample:chelsea"
    # a snapshot restored into a fresh session gives the same page
    choices = {k: at.session_state[k] for k in session.SESSION_KEYS}
    choices.update(view="Difference", left_method=session.DEFAULT_METHODS[1], colorscale="Cividis")
    fresh = new_app(**choices)
    fresh.run()
    fresh.switch_page(choices["page"]).run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.radio(key="w_view").value == "Difference" and fresh.selectbox(key="w_colorscale").value == "Cividis"
    assert fresh.selectbox(key="w_left_method").value == session.DEFAULT_METHODS[1]


def test_warm_start_fills_the_page_caches(monkeypatch):
    explanations.clear_caches()
    faithfulness.clear()
    loads = []
    load_model = explainers.load_model
    monkeypatch.setattr(explainers, "load_model", lambda *a, **k: loads.append(a) or load_model(*a, **k))
    seconds = launch.warm()
    assert len(loads) == 1 and seconds["model"] >= 0
    at = new_app()
    at.run()
    assert_clean(at)
    assert len(loads) == 1  # the page found the model the launcher loaded: the same cache


# -- uploads and errors ----------------------------------------------------------------------
def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_a_photo_and_a_broken_file():
    from skimage import data

    at = new_app(image_source=session.SOURCE_UPLOAD)
    at.run()
    assert not at.exception
    assert any("Upload a photo" in shown(e.value) for e in at.error)  # nothing uploaded yet: says what to do
    rocket = data.rocket()[::2, ::2].copy()
    at.file_uploader[0].upload("rocket.png", _png(rocket), "image/png").run()
    assert_clean(at)
    assert at.session_state["selection"].image.shape == rocket.shape
    assert at.session_state["selection"].image_name == "rocket.png"
    assert len(figures(at)) == 3

    # a GIF is accepted by the uploader as by the decoder
    gif = io.BytesIO()
    Image.fromarray(rocket).save(gif, format="GIF")
    at.file_uploader[0].upload("rocket.gif", gif.getvalue(), "image/gif").run()
    assert_clean(at)
    assert at.session_state["selection"].image_name == "rocket.gif"
    assert "gif" in at.file_uploader[0].proto.type or ".gif" in at.file_uploader[0].proto.type

    at = new_app(image_source=session.SOURCE_UPLOAD)
    at.run()
    at.file_uploader[0].upload("holiday.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG", "image/jpeg").run()
    assert not at.exception
    messages = " ".join(shown(e.value) for e in at.error)
    assert "holiday.jpg" in messages and "pick a sample" in messages
    # shown once: on the page (the whole tree, sidebar included, has one message naming the file)
    assert sum("holiday.jpg" in shown(e.value) for e in [*at.error, *at.warning]) == 1
    assert not at.sidebar.error and not at.sidebar.warning
    assert not figures(at)


def test_model_that_fails_to_load_shows_an_error(monkeypatch):
    def broken(name):
        raise explainers.WeightsUnavailableError(f"model '{name}': weights file is corrupt")

    monkeypatch.setattr(model_cache, "get_model", broken)
    for page in PAGES:
        at = new_app()
        at.run()
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception, page
        messages = " ".join(shown(e.value) for e in at.error)
        assert "cannot be loaded" in messages and "Pick another model" in messages, page


def test_a_cancelled_measurement_keeps_nothing_and_plan_covers_each_model():
    from explainers import progress

    faithfulness.clear()
    a = Condition.make(session.DEFAULT_MODEL, session.DEFAULT_METHODS[0])
    b = Condition.make("another_model", session.DEFAULT_METHODS[1], extra={"threshold": 0.3})
    items = faithfulness.plan([a, b], [285, 7], "sample:chelsea", steps=2)
    assert [i.name for i in items] == [f"A: {a.label()}", f"B: {b.label()}", f"random map on {session.DEFAULT_MODEL}",
                                       "random map on another_model"]
    assert [i.class_index for i in items] == [285, 7, 285, 7]  # each model's own index of the class
    image = photos.sample_image("chelsea")
    stopped = progress.Progress()
    stopped.cancel("a newer run replaced it")
    with progress.tracking(stopped), pytest.raises(progress.Cancelled, match="a newer run replaced it"):
        faithfulness.measure(items[2], image, None)
    assert faithfulness.lookup(items)[items[2].name] is None  # cancelled: nothing kept
    curves = faithfulness.measure(items[2], image, None)
    assert faithfulness.lookup(items)[items[2].name] is curves and len(curves.deletion) == 3
    # the threshold is not part of the key (the curves follow the map's order, not its mask)
    again = faithfulness.plan([a, Condition.make("another_model", session.DEFAULT_METHODS[1])], [285, 7],
                              "sample:chelsea", steps=2)
    assert [i.key for i in again] == [i.key for i in items]
