"""SeCAM: Segmentation-based Class Activation Mapping, computed at image resolution."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch
from skimage.segmentation import slic

from .base import Explainer, check_float, check_int, register_explainer
from .explanation import Explanation
from .images import validate_image
from .maps import relu_max, upsample
from .models.loaded import ForwardPass, LoadedModel


def slic_segments(image: np.ndarray, n_segments: int = 50, compactness: float = 10.0) -> np.ndarray:
    """SLIC superpixels of an RGB image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB (the tutorial passed OpenCV's BGR by mistake; SLIC works in CIELAB,
        so the channel order matters).
    n_segments : int
        Approximate number of superpixels.
    compactness : float
        Colour versus space trade-off (higher: more square superpixels).

    Returns
    -------
    (H, W) int32 ndarray
        Superpixel labels starting at 1.
    """
    image = validate_image(image)
    return slic(image, n_segments=n_segments, compactness=compactness, start_label=1).astype(np.int32, copy=False)


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


@register_explainer
class SeCAM(Explainer):
    """Segmentation-based CAM at the image's own resolution.

    1. SLIC superpixels of the RGB image (once per call, shared by all targets).
    2. The class's CAM with ReLU, divided by its maximum, upsampled bilinearly
       to the image size.
    3. Each superpixel's score is the mean of that map over its pixels; the
       SeCAM map gives each pixel its superpixel's score.
    4. The mask keeps superpixels whose score > ``threshold`` x the best score.

    Unlike the tutorial's code, the superpixels are never shrunk to the CAM
    grid (7x7 there, which collapses them); the CAM is brought up to the image.

    Parameters
    ----------
    n_segments : int, default 50
        Approximate number of SLIC superpixels, >= 2.
    compactness : float, default 10
        SLIC compactness, > 0.
    threshold : float, default 0.8
        Fraction of the best superpixel score a superpixel must exceed to be kept, in [0, 1].
    """

    name = "secam"
    defaults = {"n_segments": 50, "compactness": 10.0, "threshold": 0.8}

    def _check_params(self, params: dict[str, Any]) -> None:
        check_int(params, "n_segments", 2)
        check_float(params, "compactness", 0.0, low_open=True)
        check_float(params, "threshold", 0.0, 1.0)

    def prepare(self, model: LoadedModel, image: np.ndarray, forward: ForwardPass,
                timings: dict[str, float], segments: np.ndarray | None = None) -> np.ndarray:
        """SLIC once per call, or reuse ``segments`` passed to ``explain`` (``(H, W)`` labels)."""
        t0 = time.perf_counter()
        if segments is None:
            segments = slic_segments(image, self.params["n_segments"], self.params["compactness"])
        elif segments.shape != image.shape[:2]:
            raise ValueError(f"`segments` has shape {segments.shape}, the image is {image.shape[:2]}")
        timings["slic"] = time.perf_counter() - t0
        return segments

    def build(self, model: LoadedModel, image: np.ndarray, class_map: torch.Tensor, context: np.ndarray,
              timings: dict[str, float], t0: float) -> dict[str, Any]:
        segments = context
        upsampled = upsample(relu_max(class_map), image.shape[:2])
        timings["cam"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        ids, scores, areas = region_scores(upsampled, segments)
        lookup = np.zeros(int(ids.max()) + 1, dtype=np.float32)
        lookup[ids] = scores
        saliency = lookup[segments]
        kept = np.zeros(lookup.size, dtype=bool)
        kept[ids] = keep_mask(scores, self.params["threshold"])
        mask = kept[segments]
        timings["scoring"] = time.perf_counter() - t1
        return {"saliency": saliency, "segments": segments, "segment_ids": ids,
                "segment_scores": scores, "segment_areas": areas, "mask": mask}


def with_threshold(explanation: Explanation, threshold: float) -> Explanation:
    """The same SeCAM explanation with another mask threshold (no forward pass, no SLIC).

    Raises ParameterError if ``threshold`` is outside [0, 1].
    """
    params = {"threshold": threshold}
    check_float(params, "threshold", 0.0, 1.0)
    if explanation.segments is None:
        raise ValueError("with_threshold needs a SeCAM explanation (it has no superpixels)")
    kept = np.zeros(int(explanation.segment_ids.max()) + 1, dtype=bool)
    kept[explanation.segment_ids] = keep_mask(explanation.segment_scores, params["threshold"])
    return dataclasses.replace(explanation, mask=kept[explanation.segments],
                               params={**explanation.params, "threshold": params["threshold"]})
