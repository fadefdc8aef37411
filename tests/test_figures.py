"""The dashboard's pure helpers: Plotly figure builders, numbers shown on pages, download files.

Tiny synthetic explanations with known answers: a 40x60 photo, a left-to-right
saliency ramp, six 20x20 superpixels with chosen scores. No Streamlit, no model.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly.colors as pcolors
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import Explanation, ForwardPass  # noqa: E402
from ui.exports import files as exports  # noqa: E402
from ui.figures import arrays as analysis  # noqa: E402
from ui.figures import maps as figures  # noqa: E402

H, W = 40, 60
SCORES = np.array([0.9, 0.1, 0.5, 0.8, 0.0, 0.3], dtype=np.float32)  # superpixels 1..6


def _segments() -> np.ndarray:
    """Six 20x20 blocks, labels 1..6 row by row."""
    return (np.arange(H)[:, None] // 20 * 3 + np.arange(W)[None, :] // 20 + 1).astype(np.int32)


@pytest.fixture
def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture
def cam() -> Explanation:
    ramp = np.tile(np.linspace(0.0, 1.0, W, dtype=np.float32), (H, 1))
    return Explanation(method="cam", model="toy", class_index=1, label="cat", probability=0.7, logit=2.0, rank=0,
                       saliency=ramp, class_map=np.zeros((4, 6), np.float32), params={},
                       timings={"forward": 0.01, "cam": 0.001})


@pytest.fixture
def secam() -> Explanation:
    segments = _segments()
    ids = np.arange(1, 7, dtype=np.int32)
    lookup = np.zeros(7, np.float32)
    lookup[ids] = SCORES
    kept = SCORES > 0.5 * SCORES.max()
    mask = np.zeros(7, bool)
    mask[ids] = kept
    return Explanation(method="secam", model="toy", class_index=1, label="cat", probability=0.7, logit=2.0, rank=0,
                       saliency=lookup[segments], class_map=np.zeros((4, 6), np.float32),
                       params={"n_segments": 6, "compactness": 10.0, "threshold": 0.5},
                       timings={"forward": 0.01, "slic": 0.02, "cam": 0.001, "scoring": 0.003},
                       segments=segments, segment_ids=ids, segment_scores=SCORES,
                       segment_areas=np.full(6, 400, np.int64), mask=mask[segments])


def _decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def _colours(scale) -> list[str]:
    return [colour for _, colour in scale]


def _by_type(fig, kind):
    return [t for t in fig.data if t.type == kind]


# -- map figures ---------------------------------------------------------------------------------
def _drawn(photo, explanation, **kwargs):
    """A one-map figure as the pages draw it (map_panel + panels_figure)."""
    return figures.panels_figure([figures.map_panel(photo, explanation, title="map", **kwargs)])


def test_map_hover_shows_the_pixel_and_its_full_resolution_value(photo, cam):
    fig = _drawn(photo, cam, colorscale="Turbo", opacity=0.4)
    [image], [heat] = _by_type(fig, "image"), _by_type(fig, "heatmap")
    assert [t.type for t in fig.data] == ["image", "heatmap"]  # the picture, and the hover layer over it
    z, x, y = np.asarray(heat.z), np.asarray(heat.x), np.asarray(heat.y)
    np.testing.assert_allclose(z, cam.saliency[np.ix_(y, x)], atol=1e-6)  # hover value == value at that pixel
    assert "pixel x=%{x}, y=%{y}" in heat.hovertemplate and "value %{z:.3f}" in heat.hovertemplate
    assert heat.opacity == 0.0 and heat.coloraxis == "coloraxis"
    assert _colours(fig.layout.coloraxis.colorscale) == _colours(pcolors.get_colorscale("Turbo"))
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert _decode(image.source).shape == (H, W, 3)
    grey = np.full_like(photo, 100)  # flat, so JPEG keeps the colours: the chosen opacity and scale
    picture = _decode(_by_type(_drawn(grey, cam, colorscale="Turbo", opacity=0.4), "image")[0].source).astype(int)
    lut = figures.colorscale_lut("Turbo")
    expected = 0.6 * 100 + 0.4 * lut[round(float(cam.saliency[5, 50]) * 255)]
    assert np.abs(picture[5, 50] - expected).max() <= 8
    assert image.x0 + (W - 1) * image.dx == pytest.approx(W - 1)  # picture pixels sit on full-resolution pixels
    assert tuple(fig.layout.yaxis.range) == (H - 0.5, -0.5)  # y goes down, like an image


def test_big_photo_is_drawn_from_a_small_copy(cam):
    big_h, big_w = 2000, 3000
    smooth = np.add.outer(np.sin(np.linspace(0, 3, big_h)), np.cos(np.linspace(0, 4, big_w))).astype(np.float32)
    big = Explanation(**{**cam.__dict__, "saliency": (smooth - smooth.min()) / np.ptp(smooth)})  # maps are smooth
    photo = np.zeros((big_h, big_w, 3), np.uint8)
    fig = _drawn(photo, big)
    [image], [heat] = _by_type(fig, "image"), _by_type(fig, "heatmap")
    assert max(_decode(image.source).shape[:2]) == figures.DISPLAY_MAX_SIDE
    assert max(np.asarray(heat.z).shape) == figures.HOVER_MAX_SIDE
    assert np.asarray(heat.x).max() < big_w and np.asarray(heat.y).max() < big_h  # full-resolution coordinates
    assert len(fig.to_json()) < 1_000_000  # what the browser receives stays small
    segments = (np.arange(big_h)[:, None] // 400 * 8 + np.arange(big_w)[None, :] // 400 + 1).astype(np.int32)
    ids = np.unique(segments)
    scores = np.linspace(0, 1, ids.size, dtype=np.float32)
    lookup = np.zeros(ids.max() + 1, np.float32)
    lookup[ids] = scores
    secam = Explanation(**{**big.__dict__, "method": "secam", "saliency": lookup[segments], "segments": segments,
                           "segment_ids": ids, "segment_scores": scores,
                           "segment_areas": np.bincount(segments.ravel())[ids], "mask": lookup[segments] > 0.5})
    assert len(_drawn(photo, secam).to_json()) < 1_500_000  # with id, score, area and kept per hover cell


def test_a_resized_copy_of_the_photo_is_accepted_but_not_another_shape(photo, cam):
    small = np.ascontiguousarray(photo[::2, ::2])
    assert figures.map_panel(small, cam, title="m").cols[-1] < W
    with pytest.raises(ValueError, match="aspect|explanation is for"):
        figures.map_panel(np.zeros((60, 60, 3), np.uint8), cam, title="m")
    with pytest.raises(TypeError):
        figures.map_panel(photo.astype(np.float32), cam, title="m")
    with pytest.raises(ValueError, match="opacity"):
        figures.map_panel(photo, cam, title="m", opacity=1.5)


def test_superpixel_hover_gives_id_score_area_and_kept(photo, secam):
    fig = _drawn(photo, secam, opacity=1.0, colorscale="Jet")
    [image], [hover] = _by_type(fig, "image"), _by_type(fig, "heatmap")
    x, y = np.asarray(hover.x), np.asarray(hover.y)
    custom = np.asarray(hover.customdata)
    ids = secam.segments[np.ix_(y, x)]
    np.testing.assert_array_equal(custom[..., 0], ids)
    np.testing.assert_allclose(custom[..., 1], SCORES[ids - 1])
    np.testing.assert_allclose(custom[..., 2], 100 * 400 / (H * W), rtol=1e-6)  # each block is 1/6 of the photo
    # kept reads yes / no, never 1 / 0
    np.testing.assert_array_equal(np.asarray(hover.text), np.where((SCORES > 0.5 * SCORES.max())[ids - 1], "yes", "no"))
    # the colour is the map on the relative scale: min-max of the scores (not shown as a second number)
    np.testing.assert_allclose(np.asarray(hover.z), (SCORES[ids - 1] - SCORES.min()) / np.ptp(SCORES), atol=1e-6)
    for field in ("superpixel #%{customdata[0]", "score %{customdata[1]", "area %{customdata[2]", "kept %{text}"):
        assert field in hover.hovertemplate
    assert "value" not in hover.hovertemplate and "customdata[3]" not in hover.hovertemplate
    picture = _decode(image.source).astype(int)
    lut = figures.colorscale_lut("Jet")
    # inside superpixel 1 (score 0.9, relative 1.0) the colour is Jet's top; its right edge (x=19) is a white boundary
    assert np.abs(picture[10, 10] - lut[255]).max() <= 12
    assert (picture[10, 19] >= 230).all()
    plain = _decode(_drawn(photo, secam, opacity=1.0, colorscale="Jet", boundaries=False).data[0].source).astype(int)
    assert np.abs(plain[10, 19] - lut[255]).max() <= 12


def test_region_numbers_sit_at_the_centroids_of_the_kept_superpixels(photo, secam):
    assert [t.type for t in _drawn(photo, secam).data] == ["image", "heatmap"]  # off by default
    fig = _drawn(photo, secam, numbers=True)
    [marks] = _by_type(fig, "scatter")
    assert marks.mode == "text" and marks.hoverinfo == "skip"
    # kept: 0.9, 0.8, 0.5 > 0.5 x 0.9 (ids 1, 4, 3), best first; blocks are 20x20, row by row, 3 per row
    assert list(marks.text) == ["#1", "#4", "#3"]
    np.testing.assert_allclose(marks.x, [9.5, 9.5, 49.5])
    np.testing.assert_allclose(marks.y, [9.5, 29.5, 9.5])
    # the numbers are the ones the chart shows
    chart = figures.superpixel_bar_figure(secam)
    assert set(marks.text) == set(chart.data[0].y)
    assert "kept yes" in chart.data[0].hovertemplate and "kept no" in chart.data[1].hovertemplate
    # a map without superpixels gets no numbers
    cam = Explanation(**{**secam.__dict__, "method": "cam", "segments": None, "segment_ids": None,
                         "segment_scores": None, "segment_areas": None, "mask": None})
    assert not _by_type(_drawn(photo, cam, numbers=True), "scatter")


def test_a_highlighted_superpixel_is_outlined_and_numbered(photo, secam):
    plain = figures.map_panel(photo, secam, title="m", boundaries=False)
    lit = figures.map_panel(photo, secam, title="m", boundaries=False, highlight=6)
    changed = np.any(lit.picture != plain.picture, axis=-1)
    region = secam.segments == 6
    assert changed.any() and not (changed & ~region).any()  # only inside superpixel 6, at its edge
    assert (lit.picture[changed] == figures.HIGHLIGHT_RGB).all()
    assert not changed[30, 50]  # the region's middle keeps its colour
    assert lit.marks == [(pytest.approx(49.5), pytest.approx(29.5), "#6")]
    # an id the map does not have (a stale pick) changes nothing
    other = figures.map_panel(photo, secam, title="m", boundaries=False, highlight=99)
    assert (other.picture == plain.picture).all() and other.marks == []


def test_superpixel_chart_needs_superpixels(cam):
    with pytest.raises(ValueError, match="superpixels; cam has none"):
        figures.superpixel_bar_figure(cam)


# -- charts ----------------------------------------------------------------------------------------
def test_predictions_figure_top_k_best_first():
    logits = torch.tensor([0.0, 3.0, 1.0, 2.0])
    forward = ForwardPass(logits=logits, probabilities=torch.softmax(logits, 0), features=torch.zeros(2, 1, 1),
                          image_size=(H, W), timings={})
    fig = figures.predictions_figure(forward, ["a", "b", "c", "d"], k=3, highlight=3)
    [bar] = fig.data
    assert list(bar.y) == ["b (1)", "d (3)", "c (2)"]
    np.testing.assert_allclose(bar.x, torch.softmax(logits, 0)[[1, 3, 2]].numpy(), rtol=1e-6)
    assert list(bar.marker.color) == ["#1f77b4", figures.KEPT_COLOR, "#1f77b4"]
    assert fig.layout.title.text == "Top-3 predictions" and tuple(fig.layout.xaxis.range) == (0, 1)


def test_superpixel_bar_figure_best_first_kept_in_red_threshold_line(secam):
    fig = figures.superpixel_bar_figure(secam, n=4)
    kept, dropped = fig.data
    assert (kept.name, dropped.name) == ("kept", "not kept")
    assert list(kept.y) == ["#1", "#4", "#3"] and list(dropped.y) == ["#6"]  # 0.9, 0.8, 0.5 > 0.5 x 0.9; 0.3
    assert list(fig.layout.yaxis.categoryarray) == ["#1", "#4", "#3", "#6"] and fig.layout.yaxis.type == "category"
    [line] = fig.layout.shapes
    assert line.x0 == pytest.approx(0.5 * 0.9)
    np.testing.assert_allclose(kept.customdata, [100 * 400 / (H * W)] * 3)


def test_small_charts():
    fig = figures.timings_figure({"forward": 0.2, "cam": 0.001, "slic": 0.05, "scoring": 0.002})
    assert list(fig.data[0].y) == ["forward", "cam", "slic", "scoring"]
    np.testing.assert_allclose(fig.data[0].x, [200, 1, 50, 2])
    contributions = np.array([0.1, 2.0, -1.0, 0.5])
    fig = figures.contribution_figure(contributions, n=2, label="cat")
    assert list(fig.data[0].y) == ["channel 1", "channel 3"] and list(fig.data[0].x) == [2.0, 0.5]
    features = np.arange(4 * 3 * 3, dtype=np.float32).reshape(4, 3, 3)
    fig = figures.feature_maps_figure(features, [1, 3], cols=4)
    assert [a.text for a in fig.layout.annotations] == ["channel 1", "channel 3"]
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), features[3])
    image = np.zeros((H, W, 3), np.uint8)
    fig = figures.segmentation_figure(image, [("six", _segments()), ("one", np.ones((H, W), np.int32))])
    assert len(fig.data) == 2 and fig.layout.xaxis2.matches == "x"
    assert (_decode(fig.data[0].source)[10, 19] > 200).any() and (_decode(fig.data[1].source) < 40).all()


def test_colorscale_lut_matches_plotly():
    lut = figures.colorscale_lut("Jet")
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == (0, 0, 131) and tuple(lut[-1]) == (128, 0, 0)  # Plotly's Jet ends
    with pytest.raises(ValueError, match="Viridis, Cividis, Turbo, Jet"):
        figures.colorscale_lut("NoSuchScale")


# -- numbers shown on the pages -------------------------------------------------------------------------
def test_display_shape_and_sampling():
    assert analysis.display_shape((3000, 4000), 1024) == (768, 1024)
    assert analysis.display_shape((300, 451), 1024) == (300, 451)
    np.testing.assert_array_equal(analysis.sample_positions(10, 5), [1, 3, 5, 7, 9])
    values, rows, cols = analysis.sample_grid(np.arange(100).reshape(10, 10), 5)
    np.testing.assert_array_equal(values, np.arange(100).reshape(10, 10)[1::2, 1::2])
    with pytest.raises(ValueError):
        analysis.display_shape((10, 10), 0)


def test_channel_contributions_sum_to_the_logit_minus_bias():
    rng = np.random.default_rng(0)
    features, weights, bias = rng.random((5, 3, 3)), rng.normal(size=5), 0.7
    logit = weights @ features.mean(axis=(1, 2)) + bias  # GAP + linear
    contributions = analysis.channel_contributions(weights, features)
    assert contributions.sum() + bias == pytest.approx(logit)
    np.testing.assert_allclose(contributions, weights * features.mean(axis=(1, 2)))
    with pytest.raises(ValueError):
        analysis.channel_contributions(weights[:4], features)


def test_tutorial_grid_loses_small_superpixels():
    labels = np.ones((14, 14), np.int32)
    labels[:, 7:] = 2
    labels[1, 1] = 3  # a one-pixel superpixel the 7x7 nearest-neighbour grid (rows/cols 0, 2, 4...) never samples
    assert analysis.tutorial_grid_survivors(labels, (7, 7)) == (2, 3)
    assert analysis.tutorial_grid_survivors(labels, (14, 14)) == (3, 3)


def test_map_agreement():
    a = np.random.default_rng(0).random((20, 30))
    assert analysis.map_agreement(a, a) == pytest.approx(1.0)
    assert analysis.map_agreement(a, 1 - a) == pytest.approx(-1.0)
    assert np.isnan(analysis.map_agreement(a, np.zeros_like(a)))


# -- downloads ---------------------------------------------------------------------------------------------
def test_download_files_round_trip(photo, cam, secam):
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(exports.png_bytes(photo)))), photo)
    np.testing.assert_array_equal(np.load(io.BytesIO(exports.npy_bytes(cam.saliency))), cam.saliency)
    rows = list(csv.DictReader(io.StringIO(exports.superpixels_csv(secam).decode())))
    assert [r["id"] for r in rows] == ["1", "4", "3", "6", "2", "5"]  # best score first
    assert rows[0] == {"id": "1", "score": "0.9", "area_px": "400", "area_pct": "16.6667", "kept": "True"}
    result = json.loads(exports.result_json([cam, secam], image={"name": "toy.png"},
                                            predictions=[{"class_index": 1, "label": "cat", "probability": 0.7}],
                                            extra={"threshold": np.float32(0.5)}))
    assert result["model"] == "toy" and result["image"] == {"name": "toy.png"}
    assert [e["method"] for e in result["explanations"]] == ["cam", "secam"]
    assert len(result["explanations"][1]["segments"]) == 6 and result["settings"]["threshold"] == 0.5
    with pytest.raises(ValueError, match="superpixels; cam has none"):
        exports.superpixel_rows(cam)


def test_pure_modules_do_not_import_streamlit():
    """ui.figures (every module) and the file builders of ui.exports are pure: testable without Streamlit."""
    code = ("import sys; import explainers, ui.figures.maps, ui.figures.arrays, ui.figures.scales, "
            "ui.figures.evaluation, ui.figures.review, ui.exports.files, ui.exports.report; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_one_default_colour_scale_for_dashboard_maps_review_trials_and_the_batch_gallery(cam):
    import cv2

    from explainers import overlays
    from explainers_team.review import design
    from ui.app import session
    from ui.figures import scales

    assert scales.COLORSCALES is overlays.COLORSCALES and session.DEFAULTS["colorscale"] == overlays.DEFAULT_COLORSCALE
    assert overlays.DEFAULT_COLORSCALE == "Viridis"
    black = np.zeros((H, W, 3), np.uint8)
    top = np.ones((H, W), np.float32)
    # a review trial's (and the Batch gallery's) picture: 0.3 x the default scale's colour over the photo
    picture = design._picture(black, cam.__class__(**{**cam.__dict__, "saliency": top}), "overlay")
    viridis_top = cv2.applyColorMap(np.full((1, 1), 255, np.uint8), cv2.COLORMAP_VIRIDIS)[0, 0, ::-1]
    np.testing.assert_allclose(picture[0, 0], 0.3 * viridis_top.astype(float), atol=1)
    lut = scales.colorscale_lut(overlays.DEFAULT_COLORSCALE)
    assert np.abs(viridis_top.astype(int) - lut[-1].astype(int)).max() <= 3  # the same colours as the page's maps
    assert not np.array_equal(overlays.heatmap_overlay(black, top, colorscale="Jet"), picture)
    with pytest.raises(ValueError, match="unknown colour scale 'Rainbow'; use one of Viridis"):
        overlays.heatmap_overlay(black, top, colorscale="Rainbow")
