"""The Compare page's pure parts: honest scales, panels, swipe, difference, the PNG and the HTML report.

No Streamlit and no model: toy explanations whose numbers are known.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import Explanation  # noqa: E402
from ui.exports import files as exports  # noqa: E402
from ui.exports import report  # noqa: E402
from ui.figures import maps as figures  # noqa: E402
from ui.figures import scales  # noqa: E402

H, W = 40, 60


def _segments() -> np.ndarray:
    return (np.arange(H)[:, None] // 20 * 3 + np.arange(W)[None, :] // 20 + 1).astype(np.int32)


def _explanation(method: str, class_map: np.ndarray, *, saliency=None, superpixels=False, probability=0.7,
                 class_index=1) -> Explanation:
    fields = {}
    if saliency is None:
        up = np.asarray(Image.fromarray(class_map.astype(np.float32)).resize((W, H), Image.BILINEAR))
        saliency = (up - up.min()) / max(float(up.max() - up.min()), 1e-9)
    if superpixels:
        seg = _segments()
        ids = np.arange(1, 7, dtype=np.int32)
        scores = np.array([saliency[seg == i].mean() for i in ids], np.float32)
        lookup = np.zeros(7, np.float32)
        lookup[ids] = scores
        saliency = lookup[seg]
        kept = np.zeros(7, bool)
        kept[ids] = scores > 0.8 * scores.max()
        fields = dict(segments=seg, segment_ids=ids, segment_scores=scores, segment_areas=np.full(6, 400, np.int64),
                      mask=kept[seg])
    return Explanation(method=method, model="toy", class_index=class_index, label="cat", probability=probability,
                       logit=1.0, rank=0, saliency=saliency.astype(np.float32),
                       class_map=class_map.astype(np.float32), params={"threshold": 0.8}, timings={"forward": 0.01},
                       **fields)


@pytest.fixture
def photo() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


RAMP = np.tile(np.linspace(-1.0, 4.0, 6, dtype=np.float32), (4, 1))


def test_relative_scale_is_the_same_rule_for_every_method():
    a = _explanation("a", RAMP)
    b = _explanation("b", RAMP, superpixels=True)
    rows, cols = scales.grid((H, W), 1000)
    for e in (a, b):
        v = scales.values(e, rows, cols, "relative")
        assert v.min() == pytest.approx(0.0) and v.max() == pytest.approx(1.0)  # min-max on both sides
    # b's saliency is a superpixel mean with its max below 1: the relative scale stretches it like a's
    assert b.saliency.max() < 1.0


def test_absolute_scale_makes_a_weak_class_cold():
    strong = _explanation("cam", RAMP, probability=0.99)
    weak = _explanation("cam", RAMP * 0.05, probability=0.0, class_index=2)
    rows, cols = scales.grid((H, W), 1000)
    reference = scales.absolute_reference(strong, rows, cols)
    assert reference == pytest.approx(4.0, rel=1e-3)
    hot = scales.values(strong, rows, cols, "absolute", reference)
    cold = scales.values(weak, rows, cols, "absolute", reference)
    assert hot.max() == pytest.approx(1.0, rel=1e-3) and cold.max() < 0.06
    # relative would draw both equally hot: that is what "absolute" fixes
    assert scales.values(weak, rows, cols, "relative").max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="reference"):
        scales.values(weak, rows, cols, "absolute")
    with pytest.raises(ValueError, match="relative, absolute"):
        scales.values(weak, rows, cols, "log")


def test_absolute_superpixel_values_are_means_of_the_raw_map():
    e = _explanation("secam", RAMP, superpixels=True)
    rows, cols = scales.grid((H, W), 1000)
    raw = scales.raw_values(e, rows, cols)
    seg = e.segments
    for i in range(1, 7):
        assert np.ptp(raw[seg == i]) == 0  # one value per superpixel
    assert raw[seg == 1].mean() < raw[seg == 2].mean() < raw[seg == 3].mean()  # the ramp rises to the right
    assert raw[seg == 1][0] < 0  # raw class-map units, not [0, 1]


def test_difference_is_symmetric_and_fitted_to_the_data(photo):
    a = _explanation("a", RAMP)
    b = _explanation("b", RAMP, superpixels=True)
    panel, diff = figures.difference_panel(photo, a, b, title="B - A")
    limit = float(np.abs(diff).max())
    assert panel.low == pytest.approx(-limit) and panel.high == pytest.approx(limit) and limit < 1.0
    assert panel.colorscale == scales.DIVERGING
    same, zero = figures.difference_panel(photo, a, a, title="B - A")
    assert same.high == pytest.approx(0.01) and not zero.any()  # no difference: the smallest range, all white


def test_map_panel_hover_has_the_same_facts_for_every_method(photo):
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A")
    b = figures.map_panel(photo, _explanation("b", RAMP, superpixels=True), title="B")
    assert "value %{z:.3f}" in a.template
    assert a.customdata is None and a.text is None
    # a superpixel's hover has one number for the region (its score), named as in the table and the chart
    assert "value" not in b.template and b.template.count("score") == 1
    for fact in ("superpixel #", "score", "area", "kept %{text}"):
        assert fact in b.template
    ids, score, area = np.moveaxis(b.customdata, -1, 0)
    assert set(np.unique(ids)) == set(range(1, 7)) and np.allclose(area, 100 * 400 / (H * W))
    assert set(np.unique(b.text)) <= {"yes", "no"}
    assert a.picture.shape == (H, W, 3) and a.picture.dtype == np.uint8


def test_paint_uses_the_colour_scale_exactly(photo):
    ones = np.ones((H, W), np.float32)
    picture = scales.paint(photo, ones, "Viridis", 1.0)
    assert (picture == scales.colorscale_lut("Viridis")[-1]).all()
    assert (scales.paint(photo, ones * 0, "Cividis", 1.0) == scales.colorscale_lut("Cividis")[0]).all()
    assert (scales.paint(photo, ones, "Viridis", 0.0) == photo).all()
    with pytest.raises(ValueError, match="opacity"):
        scales.paint(photo, ones, "Viridis", 2.0)
    assert scales.COLORSCALES[0] in ("Viridis", "Cividis")  # the default is colour-blind safe


def test_swipe_panel_splits_pictures_and_hover(photo):
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A", colorscale="Viridis", opacity=1.0)
    b = figures.map_panel(photo, _explanation("b", -RAMP), title="B", colorscale="Viridis", opacity=1.0)
    s = figures.swipe_panel(a, b, 0.5, title="swipe")
    assert (s.picture[:, : W // 2] == a.picture[:, : W // 2]).all()
    assert (s.picture[:, W // 2:] == b.picture[:, W // 2:]).all()
    side = s.customdata[..., -1]
    assert (side[:, s.cols < W / 2] == 0).all() and (side[:, s.cols >= W / 2] == 1).all()
    fig = figures.panels_figure([s], split=0.5)
    assert fig.layout.shapes[0].x0 == pytest.approx(W / 2 - 0.5)


def test_panels_figure_links_axes_and_shares_one_colour_bar(photo):
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A")
    b = figures.map_panel(photo, _explanation("b", RAMP, superpixels=True), title="B")
    d, _ = figures.difference_panel(photo, _explanation("a", RAMP), _explanation("b", RAMP, superpixels=True),
                                    title="D")
    fig = figures.panels_figure([a, b, d])
    assert fig.layout.xaxis2.matches == "x" and fig.layout.xaxis3.matches == "x"
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert [t.coloraxis for t in heat] == ["coloraxis", "coloraxis", "coloraxis2"]
    stacked = figures.panels_figure([a, b], stacked=True)
    assert stacked.layout.yaxis2.domain[1] < stacked.layout.yaxis.domain[0]  # B below A


def test_comparison_png_is_what_is_shown(photo):
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A", colorscale="Cividis")
    b = figures.map_panel(photo, _explanation("b", RAMP, superpixels=True), title="B", colorscale="Cividis")
    png = np.asarray(Image.open(io.BytesIO(exports.comparison_png([a, b], "cat", "caption " * 40))))
    # both pictures appear pixel for pixel, side by side, below the title
    found = [(y, x) for y in range(png.shape[0] - H) for x in range(png.shape[1] - W)
             if (png[y:y + H, x:x + W] == a.picture).all() or (png[y:y + H, x:x + W] == b.picture).all()]
    assert len(found) == 2 and found[0][0] == found[1][0]
    with pytest.raises(ValueError, match="empty"):
        exports.comparison_png([])


def test_report_is_self_contained(photo):
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A")
    fig = figures.panels_figure([a])
    html = report.html_report(title="A vs B <cat>", photo=photo, figures=[("maps", fig)],
                              settings={"model": "toy"}, predictions=[{"label": "cat", "probability": 0.7}],
                              sides=[{"name": "A", "timings": {"forward": 0.01}, "superpixels": None}],
                              faithfulness=[{"map": "A", "deletion AUC": 0.1, "kept %": None},
                                            {"map": "B", "deletion AUC": np.float32(0.2), "kept %": float("nan")}],
                              caption="Both maps use the same rule.").decode()
    assert "A vs B &lt;cat&gt;" in html and "data:image/jpeg;base64," in html
    assert html.count("Plotly.newPlot") == 1 and len(html) > 3_000_000  # plotly.js inlined
    # nothing is fetched from the network: no external script, stylesheet or image
    assert not re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)=["']https?://""", html)
    assert "deletion AUC" in html and "Not measured" not in html
    # cells that do not apply show a dash, as on the page, never None or nan
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert "None" not in cells and "nan" not in cells and cells.count("\u2014") == 2 and "0.2" in cells
    rows = [{"id": 3, "score": 0.5, "kept": np.True_}, {"id": 4, "score": 0.1, "kept": False}]
    with_superpixels = report.html_report(title="t", photo=photo, figures=[], settings={}, predictions=[],
                                          sides=[{"name": "B", "timings": {}, "superpixels": rows}]).decode()
    assert re.findall(r"<td>(yes|no|True|False)</td>", with_superpixels) == ["yes", "no"]


def test_every_map_figure_keeps_plotly_toolbar_off_the_titles(photo):
    """The toolbar stands upright in a strip at the right edge kept free for it, on every map figure."""
    a = figures.map_panel(photo, _explanation("a", RAMP), title="A")
    b = figures.map_panel(photo, _explanation("b", RAMP, superpixels=True), title="B: a long title on panel B")
    labels = np.arange(H * W).reshape(H, W) // 100
    built = [figures.panels_figure([a, b]), figures.panels_figure([a, b], stacked=True),
             figures.segmentation_figure(photo, [("one", labels), ("two", labels)]),
             figures.feature_maps_figure(np.random.default_rng(0).random((3, 4, 4)), [0, 1, 2])]
    for fig in built:
        assert fig.layout.modebar.orientation == "v"
        assert fig.layout.margin.r == figures.MODEBAR_PX >= 28  # Plotly's upright toolbar is about 28 px wide
        right = max(ann.x for ann in fig.layout.annotations)  # the titles stay inside the panels' width
        assert right <= 1.0
    ratio, fixed, side = figures.aspect(built[0])
    assert side == figures.MODEBAR_PX and fixed == 90 and ratio == pytest.approx(2 * W / H)


def test_downloaded_pictures_carry_the_region_numbers_shown_on_the_map():
    big = np.full((200, 300, 3), 90, np.uint8)  # room for the numbers' text
    segments = (np.arange(200)[:, None] // 100 * 3 + np.arange(300)[None, :] // 100 + 1).astype(np.int32)
    ids = np.arange(1, 7, dtype=np.int32)
    scores = np.array([0.9, 0.1, 0.5, 0.8, 0.0, 0.3], np.float32)
    lookup = np.zeros(7, np.float32)
    lookup[ids] = scores
    kept = np.zeros(7, bool)
    kept[ids] = scores > 0.45
    secam = Explanation(method="secam", model="toy", class_index=1, label="cat", probability=0.7, logit=2.0, rank=0,
                        saliency=lookup[segments], class_map=np.zeros((4, 6), np.float32), params={"threshold": 0.5},
                        timings={}, segments=segments, segment_ids=ids, segment_scores=scores,
                        segment_areas=np.full(6, 10_000, np.int64), mask=kept[segments])
    plain = figures.map_panel(big, secam, title="B", boundaries=False)
    assert exports.shown_picture(plain) is plain.picture  # no numbers: the picture itself
    numbered = figures.map_panel(big, secam, title="B", boundaries=False, numbers=True)
    assert [m[2] for m in numbered.marks] == ["#1", "#4", "#3"]
    picture = exports.shown_picture(numbered)
    changed = np.any(picture != numbered.picture, axis=-1)
    # text (white, outlined in black) around each kept superpixel's centre, nothing in the others
    for x, y, _ in numbered.marks:
        box = (slice(int(y) - 12, int(y) + 13), slice(int(x) - 25, int(x) + 26))
        assert changed[box].any()
        assert (picture[box] >= 200).all(-1).any() and (picture[box] <= 40).all(-1).any()  # white, outlined black
    assert not changed[segments == 2].any() and not changed[segments == 5].any()
    assert (numbered.picture == plain.picture).all()  # the page's picture is unchanged (the numbers are a trace)
    # the comparison PNG holds the numbered picture
    png = np.asarray(Image.open(io.BytesIO(exports.comparison_png([numbered], "cat", ""))))
    h, w = picture.shape[:2]
    assert any((png[y:y + h, x:x + w] == picture).all() for y in range(png.shape[0] - h) for x in range(20))
