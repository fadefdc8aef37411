"""Small numerical helpers the dashboard shows, pure numpy (no Streamlit, no Plotly).

They explain results the library computed; none of them recomputes an
explanation. Every function leaves its inputs untouched.
"""

from __future__ import annotations

import cv2
import numpy as np


def display_shape(shape: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``(h, w)`` of a copy of an ``(H, W)`` picture whose long side is at most ``max_side``.

    Parameters
    ----------
    shape : (H, W)
        Full-resolution size in pixels.
    max_side : int
        Largest side of the copy, >= 1.

    Returns
    -------
    (h, w) : tuple of int
        ``(H, W)`` itself when it already fits; the aspect ratio is kept otherwise.

    Raises
    ------
    ValueError
        If ``max_side`` < 1 or a side of ``shape`` is < 1.
    """
    height, width = int(shape[0]), int(shape[1])
    if max_side < 1 or height < 1 or width < 1:
        raise ValueError(f"`max_side` and the shape must be >= 1, got max_side={max_side}, shape={shape}")
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def sample_positions(full: int, n: int) -> np.ndarray:
    """Indices of ``n`` full-resolution pixels evenly spread over ``full`` (the centre of each of ``n`` bins).

    Sampling (rather than averaging) keeps every displayed value equal to the
    full-resolution value at the pixel shown in the hover text.

    Returns
    -------
    (n,) int64 ndarray
        Ascending indices in ``[0, full - 1]``.
    """
    return np.minimum(((np.arange(n) + 0.5) * full / n).astype(np.int64), full - 1)


def sample_grid(array: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-pixel copy of a 2-D map on a grid of at most ``max_side`` per side.

    Parameters
    ----------
    array : (H, W) ndarray
        A map at full resolution (saliency, superpixel labels...).
    max_side : int

    Returns
    -------
    values : (h, w) ndarray
        ``array[rows][:, cols]``, same dtype.
    rows : (h,) int64 ndarray
        Full-resolution row of each sampled row.
    cols : (w,) int64 ndarray
        Full-resolution column of each sampled column.
    """
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D (H, W) map, got shape {array.shape}")
    h, w = display_shape(array.shape, max_side)
    rows = sample_positions(array.shape[0], h)
    cols = sample_positions(array.shape[1], w)
    return array[np.ix_(rows, cols)], rows, cols


def resize_image(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-averaged copy of an ``(H, W, 3)`` uint8 image with its long side at most ``max_side``.

    Returns ``image`` itself (not a copy) when it already fits.
    """
    h, w = display_shape(image.shape[:2], max_side)
    if (h, w) == image.shape[:2]:
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def channel_contributions(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Each feature channel's share of a class logit: :math:`w_k^c \\cdot \\mathrm{mean}_{x,y} f_k(x, y)`.

    For a GAP + linear head the contributions sum to the logit minus the
    classifier's bias, which the Method page checks on the current photo.

    Parameters
    ----------
    weights : (C,) float ndarray
        The classifier's row for the class, :math:`w^c`.
    features : (C, h, w) float ndarray
        The feature layer's output for one image.

    Returns
    -------
    (C,) float64 ndarray

    Raises
    ------
    ValueError
        If the channel counts differ.

    Examples
    --------
    >>> channel_contributions(np.array([2.0, -1.0]), np.ones((2, 3, 3)))
    array([ 2., -1.])
    """
    weights = np.asarray(weights, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 3 or weights.shape != (features.shape[0],):
        raise ValueError(f"expected weights (C,) and features (C, h, w), got {weights.shape} and {features.shape}")
    return weights * features.mean(axis=(1, 2))


def tutorial_grid_survivors(segments: np.ndarray, grid: tuple[int, int]) -> tuple[int, int]:
    """How many superpixels the tutorial's SeCAM keeps when it shrinks the labels to the CAM grid.

    The tutorial resizes the ``(H, W)`` SLIC labels to the ``(h, w)`` CAM grid
    (7x7 for a 224 px input) with nearest-neighbour sampling; a superpixel that
    falls between the sampled pixels disappears and gets no score.

    Parameters
    ----------
    segments : (H, W) int ndarray
        SLIC labels.
    grid : (h, w)
        The CAM's feature-map size.

    Returns
    -------
    survivors, total : int
        Superpixels present on the shrunk grid, and in the full-resolution labels.
    """
    h, w = int(grid[0]), int(grid[1])
    small = cv2.resize(segments.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    return int(np.unique(small).size), int(np.unique(segments).size)


def map_agreement(first: np.ndarray, second: np.ndarray, max_side: int = 256) -> float:
    """Pearson correlation of two ``(H, W)`` maps, on a grid of at most ``max_side`` px (1: same shape of map).

    Returns ``nan`` when a map is constant.

    Raises
    ------
    ValueError
        If the maps have different shapes.
    """
    if first.shape != second.shape:
        raise ValueError(f"maps of different shapes: {first.shape} and {second.shape}")
    a = sample_grid(first, max_side)[0].astype(np.float64).ravel()
    b = sample_grid(second, max_side)[0].astype(np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
