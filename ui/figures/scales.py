"""Honest scales: how a map's values become colours, the same way for every method (pure numpy, no Streamlit).

Two normalisations, applied identically to both sides of a comparison and to
their difference:

``relative``
    Each map's own ``saliency`` min-max scaled to [0, 1] over the photo: the
    weakest pixel is 0 and the strongest 1, whatever the class's probability.
``absolute``
    Each method's raw class map (``Explanation.class_map``: for CAM
    :math:`M_c = \\sum_k w_k^c f_k`), averaged per superpixel for superpixel
    methods, divided by the largest value of the *top-1 class's* raw map for
    the same model, method and photo. One scale for every class of the photo,
    so a class the model gives 0.0 % looks cold. Negative values show as 0.

Colours come from lookup tables built from Plotly's colour scales, so the page,
the PNG export and the HTML report use the very same colours. Everything is
computed on a display grid (at most ``max_side`` px), sampled at full-resolution
pixel positions, so a 12-megapixel photo stays cheap.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
import plotly.colors as pcolors
from skimage.segmentation import find_boundaries

from explainers import Explanation
# Sequential colour scales for maps: the library's, so the review trials, the Batch gallery and the CLI draw with
# the same default; the first two are perceptually uniform and colour-blind safe (the default first).
from explainers.overlays import COLORSCALES

from .arrays import display_shape, resize_image, sample_positions

#: Diverging scale for differences (blue: A higher, red: B higher); colour-blind safe.
DIVERGING = "RdBu_r"
#: Normalisations (see the module's docstring).
SCALES = ("relative", "absolute")
SCALE_TEXT = {
    "relative": "each map min-max scaled to [0, 1] over this photo (0: its weakest pixel, 1: its strongest)",
    "absolute": "each method's raw class map divided by the maximum of the top-1 class's map (same model, method "
                "and photo), so every class of this photo shares one scale; negatives shown as 0",
}
BOUNDARY_RGB = (255, 255, 255)
_RGB = re.compile(r"rgba?\(([^)]+)\)")
_LUTS: dict[str, np.ndarray] = {}


def colorscale_lut(colorscale: str, n: int = 256) -> np.ndarray:
    """``(n, 3)`` uint8 RGB table of a Plotly colour scale, so pictures and colour bars agree.

    Raises
    ------
    ValueError
        If ``colorscale`` is not a Plotly colour scale name.
    """
    cached = _LUTS.get(f"{colorscale}:{n}")
    if cached is not None:
        return cached
    try:
        scale = pcolors.get_colorscale(colorscale)
    except Exception:
        raise ValueError(f"unknown colour scale '{colorscale}'; use one of {', '.join(COLORSCALES + (DIVERGING,))}") from None
    colors = pcolors.sample_colorscale(scale, list(np.linspace(0.0, 1.0, n)))
    rgb = [[float(v) for v in _RGB.match(c).group(1).split(",")[:3]] if c.startswith("rgb")
           else list(pcolors.hex_to_rgb(c)) for c in colors]
    lut = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    lut.flags.writeable = False
    _LUTS[f"{colorscale}:{n}"] = lut
    return lut


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown normalisation '{scale}'; use one of {', '.join(SCALES)}")
    return scale


def grid(shape: tuple[int, int], max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution rows and columns of a display grid of at most ``max_side`` px for a ``(H, W)`` photo."""
    h, w = display_shape(shape, max_side)
    return sample_positions(shape[0], h), sample_positions(shape[1], w)


def labels_on(explanation: Explanation, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """The explanation's superpixel labels on the grid (None without superpixels)."""
    if explanation.segments is None:
        return None
    return explanation.segments[np.ix_(rows, cols)]


def raw_values(explanation: Explanation, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The raw class map on the grid: bilinear from the feature grid, averaged per superpixel when it has them."""
    raw = np.asarray(explanation.class_map, dtype=np.float32)
    height, width = explanation.image_size
    if raw.shape != (height, width):  # feature resolution: upsample (half-pixel centres, as the library)
        raw = cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR) if raw.size > 1 else \
            np.full((height, width), float(raw.ravel()[0]), np.float32)
    if explanation.segments is not None:  # a superpixel's value is the mean over its pixels
        sums = np.bincount(explanation.segments.ravel(), weights=raw.ravel())
        counts = np.bincount(explanation.segments.ravel())
        means = (sums / np.maximum(counts, 1)).astype(np.float32)
        return means[explanation.segments[np.ix_(rows, cols)]]
    return raw[np.ix_(rows, cols)]


def absolute_reference(top1: Explanation, rows: np.ndarray, cols: np.ndarray) -> float:
    """The ``absolute`` scale's unit: the largest raw value of the top-1 class's map (> 0)."""
    return max(float(raw_values(top1, rows, cols).max()), 1e-12)


def values(explanation: Explanation, rows: np.ndarray, cols: np.ndarray, scale: str = "relative",
           reference: float | None = None) -> np.ndarray:
    """The map on the grid in colour units (1: the scale's top), the same rule for every method.

    Parameters
    ----------
    explanation : Explanation
    rows, cols : int ndarray
        Full-resolution positions of the grid (:func:`grid`).
    scale : {"relative", "absolute"}
    reference : float
        For ``absolute``: :func:`absolute_reference` of the top-1 class (required).

    Returns
    -------
    (h, w) float32 ndarray
        ``relative``: in [0, 1]. ``absolute``: raw / reference (may be < 0 or, rarely, > 1).
    """
    check_scale(scale)
    if scale == "absolute":
        if reference is None:
            raise ValueError("the absolute scale needs the top-1 class's reference (absolute_reference)")
        return (raw_values(explanation, rows, cols) / float(reference)).astype(np.float32)
    saliency = explanation.saliency
    lo, hi = float(saliency.min()), float(saliency.max())
    sampled = saliency[np.ix_(rows, cols)].astype(np.float32)
    return (sampled - lo) / (hi - lo) if hi > lo else np.zeros_like(sampled)


def difference_limit(difference: np.ndarray) -> float:
    """Half-width of the symmetric colour range that fits the difference: its largest magnitude (at least 0.01)."""
    finite = difference[np.isfinite(difference)]
    return max(0.01, float(np.abs(finite).max())) if finite.size else 1.0


def paint(photo: np.ndarray, values_: np.ndarray, colorscale: str, opacity: float, low: float = 0.0,
          high: float = 1.0, labels: np.ndarray | None = None, boundaries: bool = False, grey: bool = False) -> np.ndarray:
    """The picture shown: ``values_`` coloured over the photo, as the page, the PNG and the report draw it.

    Parameters
    ----------
    photo : (H, W, 3) uint8 ndarray
        The photo (any size; resized to the grid).
    values_ : (h, w) float ndarray
        In colour units; ``low`` maps to the scale's first colour and ``high`` to its last.
    colorscale : str
    opacity : float
        Weight of the colours over the photo, in [0, 1].
    labels : (h, w) int ndarray, optional
        Superpixels, for ``boundaries``.
    boundaries : bool
        Draw superpixel boundaries (white).
    grey : bool
        Put the colours over a grey copy of the photo (differences).

    Returns
    -------
    (h, w, 3) uint8 ndarray
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"`opacity` must be in [0, 1], got {opacity}")
    h, w = values_.shape
    small = photo if photo.shape[:2] == (h, w) else cv2.resize(resize_image(photo, max(h, w)), (w, h),
                                                                interpolation=cv2.INTER_AREA)
    if grey:
        small = small.mean(axis=2, keepdims=True).repeat(3, axis=2)
    lut = colorscale_lut(colorscale)
    unit = np.clip((np.nan_to_num(values_) - low) / max(high - low, 1e-12), 0.0, 1.0)
    colours = lut[np.rint(unit * (len(lut) - 1)).astype(np.intp)]
    picture = small.astype(np.float32) * (1.0 - opacity) + colours.astype(np.float32) * opacity
    picture = np.clip(np.rint(picture), 0, 255).astype(np.uint8)
    if boundaries and labels is not None:
        picture[find_boundaries(labels, mode="inner")] = BOUNDARY_RGB
    return picture


def swipe(left: np.ndarray, right: np.ndarray, split: float) -> np.ndarray:
    """``left``'s columns up to ``split`` (a fraction of the width), ``right``'s after: the swipe view's picture."""
    if left.shape != right.shape:
        raise ValueError(f"pictures of different shapes: {left.shape} and {right.shape}")
    if not 0.0 <= split <= 1.0:
        raise ValueError(f"`split` must be in [0, 1], got {split}")
    cut = int(round(split * left.shape[1]))
    out = right.copy()
    out[:, :cut] = left[:, :cut]
    return out
