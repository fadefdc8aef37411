"""SeCAM: Segmentation-based Class Activation Mapping, computed at image resolution."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import torch
from skimage.segmentation import slic

from .base import Explainer, register_explainer
from ..errors import ParameterError
from ..explanation import Explanation
from ..images import MIN_SIDE, validate_image
from ..maps import relu_max, upsample
from ..models.loaded import ForwardPass, LoadedModel
from ..parameters import Param
from ..regions import keep_mask, nearest, region_scores  # noqa: F401  (region_scores: public here too)

#: Default long side of SLIC's working copy: photos up to this size are segmented at full resolution.
SLIC_MAX_SIDE = 640


def slic_segments(
    image: np.ndarray, n_segments: int = 50, compactness: float = 10.0, max_side: int | None = None
) -> np.ndarray:
    """SLIC superpixels of an RGB image: scikit-image's SLIC on a CIELAB copy made by OpenCV.

    scikit-image's ``slic`` spends about a third of its time converting RGB to CIELAB in
    float64; here OpenCV converts in float32 (within 0.4 Lab units of ``skimage.color.rgb2lab``) and
    scikit-image clusters that copy with the same colour/space balance. The labels agree with
    :func:`slic_reference` (scikit-image alone) within the tolerance ``tests/test_secam.py`` checks on
    the ``skimage.data`` photos: SeCAM maps correlated at >= 0.97, boundary recall >= 0.95, the same
    number of superpixels within 2.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB (the tutorial passed OpenCV's BGR by mistake; SLIC works in CIELAB,
        so the channel order matters).
    n_segments : int
        Approximate number of superpixels.
    compactness : float
        Colour versus space trade-off (higher: more square superpixels).
    max_side : int, optional
        If given (> 0) and the image's long side is larger, SLIC runs on a
        working copy shrunk (area averaging) to this long side and the labels
        are mapped back to ``(H, W)`` by nearest neighbour (pixel centres), so
        superpixel edges are placed to within about ``max(H, W) / max_side``
        pixels of where SLIC would put them at full resolution. ``None`` or 0:
        always full resolution (the default).

    Returns
    -------
    (H, W) int32 ndarray
        Superpixel labels starting at 1.

    Examples
    --------
    >>> seg = slic_segments(np.zeros((3000, 4000, 3), np.uint8), 50, 10, max_side=640)
    >>> seg.shape
    (3000, 4000)
    """
    image = validate_image(image)
    if working_size(image.shape[:2], max_side) != image.shape[:2]:
        return _segment(image, n_segments, compactness, max_side).full
    lab = _slic_lab(image)
    # scikit-image stretches whatever it is given to [0, 1] and weighs colour by 1 / compactness**2:
    # dividing the compactness by the Lab copy's range keeps its colour/space balance exactly
    span = float(lab.max() - lab.min()) or 1.0
    labels = slic(
        lab, n_segments=n_segments, compactness=compactness / span, start_label=1, convert2lab=False, channel_axis=-1
    )
    return labels.astype(np.int32, copy=False)


def _slic_lab(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float32 CIELAB of ``image`` as scikit-image's SLIC makes it (RGB first stretched to [0, 1])."""
    rgb = image.astype(np.float32)
    lo, hi = float(rgb.min()), float(rgb.max())
    rgb -= lo
    rgb *= 1.0 / (hi - lo) if hi > lo else 1.0 / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def slic_reference(image: np.ndarray, n_segments: int = 50, compactness: float = 10.0) -> np.ndarray:
    """scikit-image's SLIC alone, at full resolution: the reference :func:`slic_segments` is tested against.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB.
    n_segments, compactness :
        As :func:`slic_segments`.

    Returns
    -------
    (H, W) int32 ndarray
        Superpixel labels starting at 1.
    """
    image = validate_image(image)
    return slic(image, n_segments=n_segments, compactness=compactness, start_label=1).astype(np.int32, copy=False)


@dataclasses.dataclass(frozen=True)
class Segmentation:
    """Superpixels of one image, as SeCAM's per-call shared context.

    Attributes
    ----------
    full : (H, W) int32 ndarray
        Labels at the image's resolution (what the Explanation carries).
    working : (h, w) int32 ndarray or None
        Labels of the reduced working copy SLIC ran on; None when SLIC ran at full resolution.
    areas : (L,) int64 ndarray
        Pixel count of each label of ``full`` (index = label).
    seconds : float
        Time SLIC took (working copy, mapping back and areas included).
    """

    full: np.ndarray
    working: np.ndarray | None
    areas: np.ndarray
    seconds: float


#: SLIC's parameters and SeCAM's threshold, shared by every method that works on SeCAM's superpixels.
SLIC_PARAMETERS = (
    Param(
        "n_segments",
        int,
        50,
        low=2,
        server_high=300,
        aliases=("segments",),
        help="SLIC's target number of superpixels (more: smaller superpixels)",
    ),
    Param(
        "compactness",
        float,
        10.0,
        low=0.0,
        low_open=True,
        help="SLIC's compactness (higher: squarer superpixels that follow colour edges less)",
    ),
    Param(
        "threshold",
        float,
        0.8,
        low=0.0,
        high=1.0,
        help="the mask keeps superpixels scoring above threshold x the best score",
    ),
    Param(
        "slic_max_side",
        int,
        SLIC_MAX_SIDE,
        low=0,
        none_means=0,
        rule=lambda v: v == 0 or v >= 64,
        rule_text="0 (full resolution) or >= 64",
        help="SLIC runs on a copy of at most this long side, labels mapped back (0: full resolution)",
    ),
)

THRESHOLD = SLIC_PARAMETERS[2]


def working_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``(h, w)`` of SLIC's working copy for an image of ``size = (H, W)``; ``size`` itself if it fits."""
    h, w = size
    if not max_side or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    small = max(1, round(h * scale)), max(1, round(w * scale))
    return (h, w) if min(small) < MIN_SIDE else small  # a sliver too thin to shrink: keep it whole


def _segment(image: np.ndarray, n_segments: int, compactness: float, max_side: int | None) -> Segmentation:
    """SLIC at full resolution, or on a working copy with the labels mapped back (see ``slic_segments``)."""
    t0 = time.perf_counter()
    h, w = image.shape[:2]
    small_size = working_size((h, w), max_side)
    if small_size == (h, w):
        full = slic_segments(image, n_segments, compactness)
        working = None
    else:
        # INTER_AREA averages each block, so the working copy has no aliasing
        small = cv2.resize(image, small_size[::-1], interpolation=cv2.INTER_AREA)
        working = slic_segments(small, n_segments, compactness)
        full = nearest(working, (h, w))
        # exact full-resolution areas without touching the 12 M labels: each working pixel stands for
        # (rows mapped to its row) x (columns mapped to its column) full-resolution pixels
        repeats = np.outer(_multiplicity(small_size[0], h), _multiplicity(small_size[1], w))
        areas = np.rint(np.bincount(working.ravel(), weights=repeats.ravel())).astype(np.int64)
        return Segmentation(full, working, areas, time.perf_counter() - t0)
    areas = np.bincount(full.ravel())
    return Segmentation(full, working, areas, time.perf_counter() - t0)


def _check_labels(segments: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Precomputed superpixels must be non-negative integer labels of the image's ``(H, W)``."""
    if segments.shape != image.shape[:2]:
        raise ParameterError(
            f"`segments` has shape {segments.shape}, the image is {image.shape[:2]}; compute them on this image"
        )
    if not np.issubdtype(segments.dtype, np.integer) or (segments.size and segments.min() < 0):
        raise ParameterError("`segments` must hold non-negative integer labels, e.g. from slic_segments(image)")
    return segments


def _multiplicity(small: int, full: int) -> np.ndarray:
    """How many of ``full`` output indices ``nearest`` maps to each of ``small`` input indices."""
    source = nearest(np.arange(small, dtype=np.int32)[None, :], (1, full))[0]
    return np.bincount(source, minlength=small)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _slic_pool() -> ThreadPoolExecutor:
    """Process-wide worker threads for SLIC (created on first use; skimage's SLIC releases the GIL)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="secam-slic")
        return _POOL


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

    Large photos: when the long side exceeds ``slic_max_side``, SLIC runs on a
    working copy of that long side (area-averaged) and the labels are mapped
    back to the full image by nearest neighbour; the scores are the region
    means of the map upsampled to the working copy (they differ from the
    full-resolution means by a few thousandths of the best score, see
    ``tests/test_secam_fast.py``), while ``segments``, ``saliency``, ``mask``
    and ``segment_areas`` are at full resolution. SLIC on a 12-megapixel photo
    then costs about as much as on a working-size one. Images whose long side
    is at most ``slic_max_side`` (ImageNet-sized photos with the default) get
    exactly the full-resolution computation.

    When neither ``forward`` nor ``segments`` is passed to :meth:`explain`, SLIC
    runs in a worker thread while the forward pass runs; the result is the same
    as running them one after the other.

    Parameters
    ----------
    n_segments : int, default 50
        Approximate number of SLIC superpixels, >= 2.
    compactness : float, default 10
        SLIC compactness, > 0.
    threshold : float, default 0.8
        Fraction of the best superpixel score a superpixel must exceed to be kept, in [0, 1].
    slic_max_side : int, default 640
        Long side, in pixels, of SLIC's working copy for larger photos, >= 64;
        0 (or None) segments every photo at full resolution.

    Examples
    --------
    >>> secam = get_explainer("secam", slic_max_side=0)   # always full resolution
    >>> [e] = secam.explain(model, image)                 # doctest: +SKIP
    >>> e.segments.shape == image.shape[:2]               # doctest: +SKIP
    True
    """

    name = "secam"
    #: run SLIC in a worker thread during the forward pass: True, False, or None for "when a CPU core is
    #: free beside torch's threads" (on a busy 2-core machine an extra thread slows torch's OpenMP pool).
    overlap_slic: bool | None = None
    title = "SeCAM"
    parameters = SLIC_PARAMETERS
    uses_superpixels = True

    def output_stem(self, image_stem: str, rank: int) -> str:
        """The tutorial's name: ``SeCAM_{stem}_seg_{n_segments}_ts_{threshold}_{rank}``."""
        return f"SeCAM_{image_stem}_seg_{self.params['n_segments']}_ts_{self.params['threshold']}_{rank}"

    def precompute(self, image: np.ndarray) -> dict[str, Any]:
        """The superpixels, so that a batch runs SLIC in its worker threads."""
        return {"segments": self.segment(image)}

    def segment(self, image: np.ndarray) -> Segmentation:
        """SLIC superpixels of ``image`` with this explainer's parameters (working copy for large photos)."""
        p = self.params
        return _segment(image, p["n_segments"], p["compactness"], p["slic_max_side"])

    def explain(
        self,
        model: LoadedModel,
        image: np.ndarray,
        targets=None,
        topk: int = 1,
        *,
        forward: ForwardPass | None = None,
        segments: np.ndarray | None = None,
        **precomputed: Any,
    ) -> list[Explanation]:
        """Explain ``image`` for each target class; see :meth:`Explainer.explain`.

        ``segments`` : (H, W) int ndarray, optional
            Superpixels to reuse (skips SLIC). When neither ``segments`` nor
            ``forward`` is given, SLIC runs in a worker thread during the forward pass.
        """
        if segments is not None or forward is not None or not self._overlap():
            return super().explain(model, image, targets, topk, forward=forward, segments=segments, **precomputed)
        image = validate_image(image)
        self.check_supports(model)
        pending = _slic_pool().submit(self.segment, image)
        try:
            forward = self.forward_pass(model, image, None)
        except BaseException:
            pending.cancel()
            raise
        return super().explain(model, image, targets, topk, forward=forward, segments=pending.result(), **precomputed)

    def _overlap(self) -> bool:
        if self.overlap_slic is not None:
            return bool(self.overlap_slic)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cores > torch.get_num_threads()

    def prepare(  # type: ignore[override]  # SeCAM takes its superpixels by name
        self,
        model: LoadedModel,
        image: np.ndarray,
        forward: ForwardPass,
        timings: dict[str, float],
        segments: np.ndarray | Segmentation | None = None,
    ) -> Segmentation:
        """SLIC once per call, or reuse ``segments`` passed to ``explain`` (``(H, W)`` labels)."""
        if isinstance(segments, Segmentation):
            _check_labels(segments.full, image)
            timings["slic"] = segments.seconds
            return segments
        t0 = time.perf_counter()
        if segments is None:
            seg = self.segment(image)
        else:
            segments = _check_labels(np.asarray(segments), image)
            seg = Segmentation(segments, None, np.bincount(segments.ravel()), 0.0)
        timings["slic"] = time.perf_counter() - t0
        return seg

    def build(
        self,
        model: LoadedModel,
        image: np.ndarray,
        class_map: torch.Tensor,
        context: Segmentation,
        timings: dict[str, float],
        t0: float,
    ) -> dict[str, Any]:
        segments = context.full
        scored_on = segments if context.working is None else context.working
        upsampled = upsample(relu_max(class_map), scored_on.shape)
        timings["cam"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        ids, scores, _ = region_scores(upsampled, scored_on)
        areas = context.areas[ids].astype(np.int64)
        lookup = np.zeros(int(ids.max()) + 1, dtype=np.float32)
        lookup[ids] = scores
        kept = np.zeros(lookup.size, dtype=bool)
        kept[ids] = keep_mask(scores, self.params["threshold"])
        if context.working is None:
            saliency, mask = lookup[segments], kept[segments]
        else:  # paint at the working size, then the same nearest mapping as the labels: equal to lookup[segments]
            saliency = nearest(lookup[context.working], segments.shape)
            mask = nearest(kept[context.working].view(np.uint8), segments.shape).view(bool)
        timings["scoring"] = time.perf_counter() - t1
        return {
            "saliency": saliency,
            "segments": segments,
            "segment_ids": ids,
            "segment_scores": scores,
            "segment_areas": areas,
            "mask": mask,
        }


def with_threshold(explanation: Explanation, threshold: float) -> Explanation:
    """The same SeCAM explanation with another mask threshold (no forward pass, no SLIC).

    Raises ParameterError if ``threshold`` is outside [0, 1].
    """
    threshold = THRESHOLD.check(threshold)
    if explanation.segments is None or explanation.segment_ids is None or explanation.segment_scores is None:
        raise ParameterError("with_threshold needs a SeCAM explanation (this one has no superpixels)")
    kept = np.zeros(int(explanation.segment_ids.max()) + 1, dtype=bool)
    kept[explanation.segment_ids] = keep_mask(explanation.segment_scores, threshold)
    return dataclasses.replace(
        explanation, mask=_paint_mask(kept, explanation.segments), params={**explanation.params, "threshold": threshold}
    )


def _paint_mask(kept: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """``kept[segments]``; through an 8-bit lookup table when labels fit (faster on large photos)."""
    if kept.size <= 256 and segments.size > 1_000_000:
        lut = np.zeros(256, np.uint8)
        lut[: kept.size] = kept
        return cv2.LUT(segments.astype(np.uint8), lut).view(bool)
    return kept[segments]
