"""The result type shared by every explainer."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from .regions import keep_mask


@dataclasses.dataclass(frozen=True, eq=False)
class Explanation:
    """One explanation of one class for one image.

    Attributes
    ----------
    method : str
        Registered name of the explainer that produced it (``"cam"``, ``"secam"``...).
    model : str
        Registry name of the model.
    class_index : int
        Explained class.
    label : str
        Human-readable name of ``class_index``.
    probability : float
        Softmax probability of ``class_index`` for this image.
    logit : float
        Raw score of ``class_index``.
    rank : int
        0-based rank of ``class_index`` among the model's predictions.
    saliency : (H, W) float32 ndarray
        Map in [0, 1] at the input image's own resolution.
    class_map : (h, w) float32 ndarray
        The method's raw map at feature resolution before normalisation
        (for CAM, :math:`M_c(x, y) = \\sum_k w_k^c f_k(x, y)`; for Grad-CAM, after
        its ReLU; for LIME, each pixel's superpixel coefficient at the image's
        resolution ``(H, W)``).
    params : Mapping[str, Any]
        Parameters the explainer used.
    timings : Mapping[str, float]
        Seconds spent in each step (``forward``, ``cam``, ``slic``, ``scoring``...).
        Steps shared by several classes (the forward pass, SLIC) are reported
        with their full time on each explanation.
    segments : (H, W) int32 ndarray or None
        Superpixel label of every pixel (SeCAM and LIME), ids start at 1.
    segment_ids : (S,) int32 ndarray or None
        The superpixel ids, ascending.
    segment_scores : (S,) float32 ndarray or None
        Score of each superpixel, aligned with ``segment_ids``.
    segment_areas : (S,) int64 ndarray or None
        Pixel count of each superpixel, aligned with ``segment_ids``.
    mask : (H, W) bool ndarray or None
        Pixels of the kept superpixels (score > threshold x best score).
    """

    method: str
    model: str
    class_index: int
    label: str
    probability: float
    logit: float
    rank: int
    saliency: np.ndarray
    class_map: np.ndarray
    params: Mapping[str, Any]
    timings: Mapping[str, float]
    segments: np.ndarray | None = None
    segment_ids: np.ndarray | None = None
    segment_scores: np.ndarray | None = None
    segment_areas: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of the explained image."""
        return tuple(self.saliency.shape[:2])

    @property
    def kept_segments(self) -> np.ndarray | None:
        """Boolean ``(S,)`` array: which superpixels the mask keeps (SeCAM and LIME)."""
        if self.segment_scores is None or self.mask is None:
            return None
        return keep_mask(self.segment_scores, float(self.params.get("threshold", 0.0)))

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """JSON-ready summary; arrays are left out unless ``include_arrays``."""
        out: dict[str, Any] = {
            "method": self.method,
            "model": self.model,
            "rank": self.rank,
            "class_index": self.class_index,
            "label": self.label,
            "probability": self.probability,
            "logit": self.logit,
            "image_size": list(self.image_size),
            "params": dict(self.params),
            "timings": dict(self.timings),
        }
        if (
            self.segment_ids is not None
            and self.segment_scores is not None
            and self.segment_areas is not None
            and self.mask is not None
        ):
            kept = self.kept_segments
            assert kept is not None
            out["segments"] = [
                {"id": int(i), "score": float(s), "area": int(a), "kept": bool(k)}
                for i, s, a, k in zip(self.segment_ids, self.segment_scores, self.segment_areas, kept)
            ]
            out["kept_fraction"] = float(self.mask.mean())
        if include_arrays:
            out["saliency"] = self.saliency.tolist()
            out["class_map"] = self.class_map.tolist()
        return out
