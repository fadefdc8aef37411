"""Plotly figures of explanations: pure functions, no Streamlit.

Each builder takes the library's results (an :class:`~explainers.Explanation`,
a :class:`~explainers.ForwardPass`) and the photo, and returns a
``plotly.graph_objects.Figure``; they never compute an explanation, so they can
be unit-tested without a browser and reused outside the dashboard.

Maps are computed at full resolution by the library; the figures draw the photo
from a copy of at most ``DISPLAY_MAX_SIDE`` px on its long side and sample the
hover layer on a grid of at most ``HOVER_MAX_SIDE`` px, so that a 12-megapixel
photo still sends well under a megabyte to the browser. Hover coordinates are
always full-resolution pixel coordinates, and the value shown is the
full-resolution value at that pixel.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots
from skimage.segmentation import find_boundaries

from explainers import Explanation, ForwardPass

from ..text import html
from .arrays import resize_image, sample_positions

from . import scales
from .scales import COLORSCALES, DIVERGING, colorscale_lut  # noqa: F401  (one definition of the colours)
#: Long side, in px, of the photo drawn in a figure.
DISPLAY_MAX_SIDE = 1024
#: Long side, in px, of the grid that carries hover values (the maps are smooth or piecewise constant).
HOVER_MAX_SIDE = 192
#: JPEG quality of the pictures sent to the browser.
JPEG_QUALITY = 85
#: Colours of kept / dropped superpixels in bar charts.
KEPT_COLOR, DROPPED_COLOR = "#d62728", "#9aa5b1"
#: How "kept" reads everywhere a superpixel is described (hover, table, chart): index 0 for no, 1 for yes.
KEPT_TEXT = ("no", "yes")
#: A superpixel's facts in a hover: the same names as the table and the chart (``customdata`` = id, score,
#: area %; ``text`` = kept yes/no).
SUPERPIXEL_HOVER = ("superpixel #%{customdata[0]:.0f}<br>score %{customdata[1]:.3f}<br>"
                    "area %{customdata[2]:.2f}%<br>kept %{text}")
#: At most this many region numbers are written on a map (the best kept superpixels).
MAX_NUMBERS = 40
#: Colour of the outline of the superpixel selected in the table (no map colour scale contains magenta).
HIGHLIGHT_RGB = (255, 0, 255)



# -- small shared pieces -----------------------------------------------------------
def image_uri(image: np.ndarray, fmt: str = "JPEG", quality: int = JPEG_QUALITY) -> str:
    """A ``data:`` URI of an ``(H, W, 3)`` uint8 RGB image.

    JPEG by default (small and fast to encode), without chroma subsampling so
    saturated map colours and thin boundaries keep their colour.
    """
    buffer = io.BytesIO()
    options = {"quality": quality, "subsampling": 0} if fmt.upper() == "JPEG" else {}
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format=fmt, **options)
    mime = "jpeg" if fmt.upper() == "JPEG" else fmt.lower()
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _check_pair(image: np.ndarray, explanation: Explanation) -> None:
    """The image must be the explained photo or a copy of it with the same aspect ratio."""
    if not isinstance(explanation, Explanation):
        raise TypeError(f"expected an explainers.Explanation, got {type(explanation).__name__}")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise TypeError("`image` must be an (H, W, 3) uint8 RGB array")
    height, width = explanation.image_size
    h, w = image.shape[:2]
    if abs(h * width - w * height) > max(h, w, height, width):  # aspect ratios differ by more than a pixel
        raise ValueError(f"`image` is {w}x{h} px but the explanation is for a {width}x{height} px photo; "
                         "pass the explained photo (or a resized copy of it)")


def _photo_trace(image: np.ndarray, full_shape: tuple[int, int], max_side: int, name: str = "photo") -> go.Image:
    """The photo (or a picture the size of it) placed in full-resolution pixel coordinates."""
    small = resize_image(image, max_side)
    height, width = full_shape
    dy, dx = height / small.shape[0], width / small.shape[1]
    return go.Image(source=image_uri(small), x0=dx / 2 - 0.5, y0=dy / 2 - 0.5, dx=dx, dy=dy,
                    hoverinfo="skip", name=name)


def _style_image_axes(fig: go.Figure, full_shape: tuple[int, int], rows: int = 1, cols: int = 1) -> None:
    """Pixel axes for every subplot: y down, square pixels, no ticks, all panels zoom together."""
    height, width = full_shape
    fig.update_xaxes(range=[-0.5, width - 0.5], showgrid=False, zeroline=False, showticklabels=False,
                     ticks="", constrain="domain")
    fig.update_yaxes(range=[height - 0.5, -0.5], showgrid=False, zeroline=False, showticklabels=False,
                     ticks="", constrain="domain")
    for index in range(1, rows * cols + 1):
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
        if index > 1:  # linked zoom and pan across panels
            fig.layout[f"xaxis{suffix}"].matches = "x"
            fig.layout[f"yaxis{suffix}"].matches = "y"


#: Width in px kept free at the right of every map figure for Plotly's toolbar, drawn there upright, so it never
#: covers a panel's title or the photo.
MODEBAR_PX = 30


def _modebar_aside(fig: go.Figure) -> None:
    """Plotly's toolbar upright in a free strip at the right edge (the same for every map figure)."""
    fig.update_layout(modebar={"orientation": "v"}, margin={"r": MODEBAR_PX})


def predictions_figure(forward: ForwardPass, labels: Sequence[str], k: int = 5,
                       highlight: int | None = None) -> go.Figure:
    """Top-``k`` predictions as a horizontal bar chart of probabilities, best on top.

    Parameters
    ----------
    forward : ForwardPass
    labels : sequence of str
        One name per class (``model.labels``).
    k : int
        Number of classes, in [1, K].
    highlight : int, optional
        A class index drawn in another colour (the explained class).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Bar`` with x = probabilities in [0, 1].
    """
    classes = forward.select(None, k)
    probs = [float(forward.probabilities[c]) for c in classes]
    names = [f"{html(labels[c])} ({c})" for c in classes]  # class labels are user text: shown, never rendered
    colours = [KEPT_COLOR if c == highlight else "#1f77b4" for c in classes]
    bar = go.Bar(x=probs, y=names, orientation="h", marker_color=colours, text=[f"{p:.1%}" for p in probs],
                 textposition="auto", customdata=classes,
                 hovertemplate="%{y}<br>probability %{x:.2%}<br>class %{customdata}<extra></extra>")
    fig = go.Figure(bar)
    fig.update_layout(height=60 + 32 * len(classes), margin=dict(l=0, r=10, t=30, b=0),
                      title={"text": f"Top-{len(classes)} predictions", "font": {"size": 14}},
                      xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"autorange": "reversed"})
    return fig


def superpixel_bar_figure(explanation: Explanation, n: int = 15) -> go.Figure:
    """The ``n`` best superpixels by score, kept ones in red, with the threshold as a line.

    Returns
    -------
    plotly.graph_objects.Figure
        ``go.Bar`` traces ("kept", "not kept") whose x are scores.
    """
    if explanation.segment_scores is None:
        raise ValueError(f"a superpixel chart needs an explanation with superpixels; {explanation.method} has none")
    if n < 1:
        raise ValueError(f"`n` must be >= 1, got {n}")
    order = np.argsort(-explanation.segment_scores, kind="stable")[:n]
    kept = explanation.kept_segments
    height, width = explanation.image_size
    fig = go.Figure()
    for flag, name, colour in ((True, "kept", KEPT_COLOR), (False, "not kept", DROPPED_COLOR)):
        idx = [i for i in order if bool(kept[i]) == flag]
        fig.add_trace(go.Bar(
            x=explanation.segment_scores[idx], y=[f"#{explanation.segment_ids[i]}" for i in idx], orientation="h",
            name=name, marker_color=colour,
            customdata=100.0 * explanation.segment_areas[idx] / (height * width),
            hovertemplate="superpixel %{y}<br>score %{x:.3f}<br>area %{customdata:.2f}%<br>kept "
                          + KEPT_TEXT[int(flag)] + "<extra></extra>",
        ))
    best = float(explanation.segment_scores.max()) if explanation.segment_scores.size else 0.0
    cut = float(explanation.params.get("threshold", 0.0)) * best
    fig.add_vline(x=cut, line_dash="dash", line_color="#444",
                  annotation_text=f"threshold x best = {cut:.3f}", annotation_position="top")
    fig.update_layout(height=90 + 22 * len(order), margin=dict(l=0, r=10, t=40, b=0), barmode="overlay",
                      yaxis={"type": "category", "categoryorder": "array",
                             "categoryarray": [f"#{explanation.segment_ids[i]}" for i in order], "autorange": "reversed"},
                      xaxis={"title": {"text": "score (mean CAM over the superpixel)"}},
                      legend={"orientation": "h", "y": -0.15},
                      title={"text": f"Best {len(order)} superpixels", "font": {"size": 14}})
    return fig


def timings_figure(timings: Mapping[str, float]) -> go.Figure:
    """Seconds per step (``forward``, ``cam``, ``slic``, ``scoring``...) as horizontal bars in milliseconds."""
    steps = [(k, float(v)) for k, v in timings.items() if v is not None]
    fig = go.Figure(go.Bar(x=[v * 1000 for _, v in steps], y=[html(k) for k, _ in steps], orientation="h",
                           text=[f"{v * 1000:.1f} ms" for _, v in steps], textposition="auto",
                           hovertemplate="%{y}: %{x:.2f} ms<extra></extra>", marker_color="#636efa"))
    fig.update_layout(height=60 + 30 * len(steps), margin=dict(l=0, r=10, t=30, b=0),
                      xaxis={"title": {"text": "milliseconds"}}, yaxis={"autorange": "reversed"},
                      title={"text": "Time of each step", "font": {"size": 14}})
    return fig


def contribution_figure(contributions: np.ndarray, n: int = 12, label: str = "") -> go.Figure:
    """The ``n`` channels with the largest :math:`w_k^c \\cdot \\overline{f_k}`, as bars.

    Parameters
    ----------
    contributions : (C,) float ndarray
        From :func:`ui.analysis.channel_contributions`.
    n : int
    label : str
        Class name for the title.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Bar``; y are ``"channel k"``.
    """
    contributions = np.asarray(contributions, dtype=np.float64)
    order = np.argsort(-contributions, kind="stable")[:n]
    total = float(contributions.sum())
    fig = go.Figure(go.Bar(
        x=contributions[order], y=[f"channel {k}" for k in order], orientation="h", marker_color="#2ca02c",
        customdata=100.0 * contributions[order] / total if total else np.zeros(len(order)),
        hovertemplate="%{y}<br>w x mean activation = %{x:.3f}<br>%{customdata:.1f}% of the sum<extra></extra>",
    ))
    fig.update_layout(height=80 + 24 * len(order), margin=dict(l=0, r=10, t=30, b=0),
                      yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "contribution to the logit"}},
                      title={"text": f"Top {len(order)} channels" + (f" for {html(label)}" if label else ""),
                             "font": {"size": 14}})
    return fig


def feature_maps_figure(features: np.ndarray, channels: Sequence[int], cols: int = 4) -> go.Figure:
    """Individual feature maps (one panel per channel, each with its own colour range).

    Parameters
    ----------
    features : (C, h, w) float ndarray
    channels : sequence of int
        Channels to draw, in order.
    cols : int
        Panels per row.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Heatmap`` per channel.
    """
    channels = [int(c) for c in channels]
    if not channels:
        raise ValueError("`channels` is empty")
    cols = max(1, min(cols, len(channels)))
    rows = -(-len(channels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"channel {c}" for c in channels],
                        horizontal_spacing=0.03, vertical_spacing=0.12 / rows)
    for i, c in enumerate(channels):
        fig.add_trace(go.Heatmap(z=np.asarray(features[c], dtype=np.float32), colorscale="Viridis", showscale=False,
                                 hovertemplate=f"channel {c}<br>cell (row %{{y}}, col %{{x}})<br>activation %{{z:.3f}}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, autorange="reversed", constrain="domain")
    for index in range(1, rows * cols + 1):
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_layout(height=190 * rows + 30, margin=dict(l=0, r=0, t=30, b=0))
    _modebar_aside(fig)
    fig.update_annotations(font_size=11)
    return fig


def segmentation_figure(image: np.ndarray, labelings: Sequence[tuple[str, np.ndarray]]) -> go.Figure:
    """Superpixel boundaries over the photo, one panel per labelling (to show SLIC's parameters' effect).

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    labelings : sequence of (title, (H, W) int ndarray)
        Labels of the same size as ``image``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Image`` per labelling, axes linked.
    """
    labelings = list(labelings)
    if not labelings:
        raise ValueError("`labelings` is empty")
    fig = make_subplots(rows=1, cols=len(labelings), subplot_titles=[html(t) for t, _ in labelings],
                        horizontal_spacing=0.02)
    for i, (_, labels) in enumerate(labelings, start=1):
        if labels.shape != image.shape[:2]:
            raise ValueError(f"labels of shape {labels.shape} do not match the image {image.shape[:2]}")
        picture = image.copy()
        picture[find_boundaries(labels, mode="inner")] = (255, 255, 0)
        fig.add_trace(_photo_trace(picture, image.shape[:2], DISPLAY_MAX_SIDE, name="superpixels"), row=1, col=i)
    _style_image_axes(fig, image.shape[:2], cols=len(labelings))
    height, width = image.shape[:2]
    fig.update_layout(height=int(min(420, 1100 / len(labelings) * height / width)) + 40,
                      margin=dict(l=0, r=0, t=30, b=0))
    _modebar_aside(fig)
    return fig


# -- comparison panels: one picture + an invisible hover layer, the same for every method ----------------
class Panel:
    """One map as drawn: the picture (colours over the photo) and the hover layer that carries the facts.

    Built by :func:`map_panel`, :func:`difference_panel` or :func:`swipe_panel`;
    drawn by :func:`panels_figure`; exported by :mod:`ui.exports` and :mod:`ui.report`
    from the same picture, so what is saved is what is shown.

    Attributes
    ----------
    title : str
    picture : (h, w, 3) uint8 ndarray
        At display resolution.
    full_shape : (H, W)
        The photo's full resolution (hover coordinates are full-resolution pixels).
    z : (hh, hw) float32 ndarray
        Hover values (colour units) on the hover grid.
    rows, cols : int ndarray
        Full-resolution positions of the hover grid.
    customdata : (hh, hw, k) float32 ndarray or None
    text : (hh, hw) object ndarray of str, or None
        Per hover cell text (a superpixel's kept yes/no).
    template : str
        Plotly hover template.
    colorscale : str
    low, high : float
        Colour range of ``z``.
    colorbar : str
        Colour bar title.
    marks : list of (x, y, str)
        Text written on the map at full-resolution pixel ``(x, y)`` (region numbers).
    """

    def __init__(self, title, picture, full_shape, z, rows, cols, customdata, template, colorscale, low, high,
                 colorbar, *, text=None, marks=()):
        self.title, self.picture, self.full_shape = title, picture, tuple(full_shape)
        self.z, self.rows, self.cols, self.customdata, self.text = z, rows, cols, customdata, text
        self.template, self.colorscale, self.low, self.high, self.colorbar = template, colorscale, low, high, colorbar
        self.marks = list(marks)


def _hover_grid(full_shape: tuple[int, int], picture_rows: np.ndarray, picture_cols: np.ndarray,
                hover_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the picture grid of a hover grid of at most ``hover_side`` px."""
    h, w = len(picture_rows), len(picture_cols)
    scale = min(1.0, hover_side / max(h, w))
    hh, hw = max(1, round(h * scale)), max(1, round(w * scale))
    return sample_positions(h, hh), sample_positions(w, hw)


def map_panel(photo: np.ndarray, explanation: Explanation, *, title: str, scale: str = "relative",
              reference: float | None = None, colorscale: str = COLORSCALES[0], opacity: float = 0.5,
              boundaries: bool = True, max_side: int = DISPLAY_MAX_SIDE, hover_side: int = HOVER_MAX_SIDE,
              numbers: bool = False, highlight: int | None = None) -> Panel:
    """A method's map as a :class:`Panel`: value on hover, and for superpixel methods the region's facts.

    A superpixel method's hover names the region as the table and the chart do
    (``superpixel #id``, ``score``, ``area``, ``kept`` yes/no) and shows no
    second number for it: its colour is its score on the chosen scale.

    Parameters
    ----------
    photo : (H', W', 3) uint8 ndarray
        The explained photo or a copy of it with the same aspect ratio.
    explanation : Explanation
        Any method's result.
    title : str
    scale : {"relative", "absolute"}
        See :mod:`ui.scales`; ``reference`` is required for ``absolute``.
    colorscale, opacity, boundaries :
        As shown on the page (boundaries only for superpixel methods).
    numbers : bool
        Write each kept superpixel's number (at most :data:`MAX_NUMBERS`, best first) at its centroid.
    highlight : int, optional
        A superpixel id to outline (:data:`HIGHLIGHT_RGB`) and number; ignored when the map has no such region.

    Returns
    -------
    Panel
    """
    _check_pair(photo, explanation)
    rows, cols = scales.grid(explanation.image_size, max_side)
    vals = scales.values(explanation, rows, cols, scale, reference)
    labels = scales.labels_on(explanation, rows, cols)
    picture = scales.paint(photo, vals, colorscale, opacity, labels=labels, boundaries=boundaries)
    hr, hc = _hover_grid(explanation.image_size, rows, cols, hover_side)
    z = vals[np.ix_(hr, hc)]
    height, width = explanation.image_size
    name = explanation.method
    template = "pixel x=%{x}, y=%{y}<br>value %{z:.3f}"
    customdata = text = None
    marks: list[tuple[float, float, str]] = []
    if labels is not None and explanation.segment_scores is not None:
        ids = labels[np.ix_(hr, hc)]
        score = np.zeros(int(explanation.segment_ids.max()) + 1, np.float32)
        score[explanation.segment_ids] = explanation.segment_scores
        area = np.zeros_like(score)
        area[explanation.segment_ids] = 100.0 * explanation.segment_areas / float(height * width)
        kept = np.zeros(score.size, bool)
        if explanation.kept_segments is not None:
            kept[explanation.segment_ids] = explanation.kept_segments
        customdata = np.stack([ids, score[ids], area[ids]], axis=-1).astype(np.float32)
        text = np.asarray(KEPT_TEXT, dtype=object)[kept[ids].astype(np.intp)]
        template = "pixel x=%{x}, y=%{y}<br>" + SUPERPIXEL_HOVER
        chosen = _numbered(explanation) if numbers else []
        if highlight is not None and int(highlight) in set(explanation.segment_ids.tolist()):
            picture = outline(picture, labels == int(highlight))
            chosen = [i for i in chosen if i != int(highlight)] + [int(highlight)]
        marks = _centroid_marks(labels, rows, cols, chosen)
    template += f"<extra>{html(name)}</extra>"
    high = 1.0
    return Panel(title, picture, explanation.image_size, z, rows[hr], cols[hc], customdata, template, colorscale,
                 0.0, high, "value", text=text, marks=marks)


def _numbered(explanation: Explanation) -> list[int]:
    """The ids of the kept superpixels, best score first, at most :data:`MAX_NUMBERS`."""
    order = np.argsort(-explanation.segment_scores, kind="stable")
    kept = explanation.kept_segments
    chosen = [int(explanation.segment_ids[i]) for i in order if kept is None or bool(kept[i])]
    return chosen[:MAX_NUMBERS]


def _centroid_marks(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    ids: Sequence[int]) -> list[tuple[float, float, str]]:
    """``(x, y, "#id")`` at each superpixel's centroid, in full-resolution pixels, from the display grid's labels."""
    if not ids:
        return []
    flat = labels.ravel()
    count = np.bincount(flat)
    ys = np.bincount(flat, weights=np.repeat(rows.astype(np.float64), labels.shape[1]))
    xs = np.bincount(flat, weights=np.tile(cols.astype(np.float64), labels.shape[0]))
    return [(float(xs[i] / count[i]), float(ys[i] / count[i]), f"#{i}") for i in ids
            if i < count.size and count[i] > 0]


def outline(picture: np.ndarray, region: np.ndarray, rgb: tuple[int, int, int] | None = None) -> np.ndarray:
    """A copy of ``picture`` (``(h, w, 3)`` uint8) with the edge of the boolean ``region`` (``(h, w)``) drawn
    2-3 px wide in ``rgb`` (:data:`HIGHLIGHT_RGB` by default)."""
    edge = find_boundaries(region, mode="inner")
    thick = max(1, round(max(picture.shape[:2]) / 300))
    if thick > 1:
        edge = cv2.dilate(edge.astype(np.uint8), np.ones((thick, thick), np.uint8)).astype(bool) & region
    out = picture.copy()
    out[edge] = HIGHLIGHT_RGB if rgb is None else rgb
    return out


def difference_panel(photo: np.ndarray, first: Explanation, second: Explanation, *, title: str,
                     scale: str = "relative", references: tuple[float | None, float | None] = (None, None),
                     opacity: float = 0.75, max_side: int = DISPLAY_MAX_SIDE,
                     hover_side: int = HOVER_MAX_SIDE) -> tuple[Panel, np.ndarray]:
    """``second - first``, both normalised the same way, on a symmetric diverging scale fitted to the data.

    Returns
    -------
    panel : Panel
        Over a grey copy of the photo; red where ``second`` is higher, blue where ``first`` is.
    difference : (h, w) float32 ndarray
        The values on the display grid (for the export and the statistics).
    """
    _check_pair(photo, first)
    _check_pair(photo, second)
    if first.image_size != second.image_size:
        raise ValueError(f"the two explanations are for photos of different sizes: {first.image_size} and "
                         f"{second.image_size}")
    rows, cols = scales.grid(first.image_size, max_side)
    diff = (scales.values(second, rows, cols, scale, references[1])
            - scales.values(first, rows, cols, scale, references[0])).astype(np.float32)
    limit = scales.difference_limit(diff)
    picture = scales.paint(photo, diff, DIVERGING, opacity, -limit, limit, grey=True)
    hr, hc = _hover_grid(first.image_size, rows, cols, hover_side)
    template = "pixel x=%{x}, y=%{y}<br>B - A %{z:+.3f}<extra>difference</extra>"
    return Panel(title, picture, first.image_size, diff[np.ix_(hr, hc)], rows[hr], cols[hc], None, template,
                 DIVERGING, -limit, limit, "B - A"), diff


def swipe_panel(left: Panel, right: Panel, split: float, *, title: str) -> Panel:
    """One picture: ``left`` up to ``split`` (fraction of the width), ``right`` after; hover says which side."""
    picture = scales.swipe(left.picture, right.picture, split)
    cut = split * left.full_shape[1]
    on_left = (left.cols < cut)[None, :]
    z = np.where(on_left, left.z, right.z)
    side = np.broadcast_to(np.where(on_left, 0.0, 1.0), z.shape)
    template = "pixel x=%{x}, y=%{y}<br>value %{z:.3f}"
    text = None
    if left.customdata is not None or right.customdata is not None:
        empty = np.full(z.shape + (3,), np.nan, np.float32)
        lc = left.customdata if left.customdata is not None else empty
        rc = right.customdata if right.customdata is not None else empty
        data = np.where(on_left[..., None], lc, rc)
        blank = np.full(z.shape, "-", dtype=object)
        lt = left.text if left.text is not None else blank
        rt = right.text if right.text is not None else blank
        text = np.where(on_left, lt, rt)
        template += "<br>" + SUPERPIXEL_HOVER
        customdata = np.concatenate([data, side[..., None]], axis=-1).astype(np.float32)
        template += "<br>side %{customdata[3]:.0f} (0: A, 1: B)"
    else:
        customdata = side[..., None].astype(np.float32)
        template += "<br>side %{customdata[0]:.0f} (0: A, 1: B)"
    marks = [m for m in left.marks if m[0] < cut] + [m for m in right.marks if m[0] >= cut]
    return Panel(title, picture, left.full_shape, z.astype(np.float32), left.rows, left.cols, customdata,
                 template + "<extra>swipe</extra>", left.colorscale, left.low, left.high, left.colorbar,
                 text=text, marks=marks)


def _panel_traces(panel: Panel, coloraxis: str) -> list:
    height, width = panel.full_shape
    ph, pw = panel.picture.shape[:2]
    dy, dx = height / ph, width / pw
    image = go.Image(source=image_uri(panel.picture), x0=dx / 2 - 0.5, y0=dy / 2 - 0.5, dx=dx, dy=dy,
                     hoverinfo="skip", name="picture")
    extra = {} if panel.customdata is None else {"customdata": panel.customdata}
    if panel.text is not None:
        extra["text"] = panel.text
    hover = go.Heatmap(z=panel.z, x=panel.cols, y=panel.rows, opacity=0.0, hovertemplate=panel.template,
                       coloraxis=coloraxis, name=html(panel.title), **extra)
    traces: list = [image, hover]
    if panel.marks:  # region numbers: white text with a dark shadow, readable on every colour scale
        xs, ys, texts = zip(*panel.marks)
        traces.append(go.Scatter(x=list(xs), y=list(ys), text=[html(t) for t in texts], mode="text",
                                 textfont={"color": "white", "size": 12, "shadow": "0px 0px 3px black"},
                                 hoverinfo="skip", showlegend=False, name="region numbers"))
    return traces


def aspect(fig: go.Figure) -> tuple[float, int, int]:
    """``(width / height of the panels' grid, pixels of titles and colour bars, pixels of the toolbar's strip)``
    of a :func:`panels_figure` figure.

    The figure's height for a width ``w`` is ``(w - side) / ratio + fixed``.
    """
    meta = fig.layout.meta
    if isinstance(meta, dict) and "aspect" in meta:
        return float(meta["aspect"]), int(meta["fixed_px"]), int(meta.get("side_px", 0))
    raise ValueError("the figure was not made by panels_figure (no aspect in its layout.meta)")


def panels_figure(panels: Sequence[Panel], *, stacked: bool = False, panel_width: int = 680,
                  split: float | None = None) -> go.Figure:
    """Panels side by side (or ``stacked``) with linked zoom and pan, one colour bar per colour range.

    Parameters
    ----------
    panels : sequence of Panel
        Same photo; panels with the same colour scale and range share one colour bar.
    stacked : bool
        One above the other (narrow screens) instead of side by side.
    panel_width : int
        Expected width in px of one panel (the figure's height follows the photo's aspect ratio).
    split : float, optional
        Draw the swipe line at this fraction of the width (one panel).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    panels = list(panels)
    if not panels:
        raise ValueError("`panels` is empty")
    n = len(panels)
    rows, cols = (n, 1) if stacked else (1, n)
    # titles name models, methods and classes (user text): Plotly renders a few tags and links in them
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[html(p.title) for p in panels],
                        horizontal_spacing=0.015, vertical_spacing=0.04)
    axes: dict[tuple, str] = {}
    layout = {}
    for i, panel in enumerate(panels):
        key = (panel.colorscale, round(panel.low, 6), round(panel.high, 6))
        if key not in axes:
            axes[key] = "coloraxis" if not axes else f"coloraxis{len(axes) + 1}"
            k = len(axes) - 1
            layout[axes[key]] = {
                "colorscale": panel.colorscale, "cmin": panel.low, "cmax": panel.high,
                "colorbar": {"title": {"text": panel.colorbar, "side": "right"}, "orientation": "h",
                             "thickness": 10, "len": 0.45 if n > 1 else 0.9, "x": 0.25 + 0.5 * k if n > 1 else 0.5,
                             "xanchor": "center", "y": -0.02, "yanchor": "top"}}
        for trace in _panel_traces(panel, axes[key]):
            fig.add_trace(trace, row=i + 1 if stacked else 1, col=1 if stacked else i + 1)
    _style_image_axes(fig, panels[0].full_shape, rows=rows, cols=cols)
    height, width = panels[0].full_shape
    one = int(min(900, max(200, panel_width * height / width)))
    fig.update_layout(height=one * rows + 90, margin=dict(l=0, r=0, t=28, b=10),
                      meta={"aspect": (width * cols) / (height * rows), "fixed_px": 90, "side_px": MODEBAR_PX},
                      **layout)
    _modebar_aside(fig)
    if split is not None:
        x = split * width - 0.5
        fig.add_shape(type="line", x0=x, x1=x, y0=-0.5, y1=height - 0.5, line={"color": "white", "width": 2})
    fig.update_annotations(font_size=13)
    return fig
