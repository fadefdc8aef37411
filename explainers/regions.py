"""Superpixel regions: the mean of a map over each region, the one rule for the mask, nearest-label resizing.

Its own module so that :mod:`explainers.explanation` (``kept_segments``), SeCAM and LIME share the mask
rule without an import cycle (``base -> explanation -> secam -> base``).
"""

from __future__ import annotations

import cv2
import numpy as np


def region_scores(value_map: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``value_map`` over each superpixel, without a Python loop.

    Parameters
    ----------
    value_map : (H, W) float ndarray
    segments : (H, W) int ndarray
        Non-negative labels.

    Returns
    -------
    ids : (S,) int32 ndarray
        Labels present, ascending.
    scores : (S,) float32 ndarray
        Mean of ``value_map`` over each label.
    areas : (S,) int64 ndarray
        Pixel count of each label.
    """
    flat = segments.ravel()
    counts = np.bincount(flat)
    sums = np.bincount(flat, weights=value_map.ravel().astype(np.float64), minlength=counts.size)
    ids = np.flatnonzero(counts)
    return ids.astype(np.int32), (sums[ids] / counts[ids]).astype(np.float32), counts[ids].astype(np.int64)


def keep_mask(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Which superpixels to keep: ``score > threshold * best``; none when every score is 0."""
    best = float(scores.max()) if scores.size else 0.0
    if best <= 0:
        return np.zeros(scores.shape, dtype=bool)
    return scores > threshold * best


def nearest(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize to ``size = (H, W)`` with pixel centres (OpenCV's legacy INTER_NEAREST shifts)."""
    return cv2.resize(values, size[::-1], interpolation=cv2.INTER_NEAREST_EXACT)
