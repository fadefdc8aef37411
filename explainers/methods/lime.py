"""LIME on SLIC superpixels (Ribeiro et al., 2016), with a compact implementation of our own.

Why not the ``lime`` package: the algorithm is 30 lines of numpy once the
segments exist, and writing it here lets it (1) use exactly SeCAM's segments
(:func:`explainers.methods.secam.slic_segments`, same defaults), (2) compose the
perturbed copies directly on the model's preprocessed ``(3, S, S)`` tensor and
push them through ``LoadedModel.forward_batch`` in batches, where the package
builds every copy at full photo resolution in a Python loop and hands them to a
classifier function that would have to resize and normalise each one again, and
(3) avoid a dependency (scikit-learn, matplotlib) for the core library. The
maths is LIME's ``LimeImageExplainer`` default: binary masks over superpixels,
the first sample keeping all of them, cosine distance to the unperturbed mask,
kernel :math:`\\sqrt{\\exp(-d^2 / 0.25^2)}`, and a ridge regression with
``alpha = 1`` and an intercept, weighted by the kernel, on every superpixel
(the package's ``num_features`` default keeps them all). The one documented
difference is the fill colour (below).

How its superpixel weights compare with the ``lime`` package's, and how long each takes:
``docs/EVALUATION.md``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from .base import Explainer, register_explainer
from .. import progress
from ..models.loaded import MAX_FORWARD_IMAGES, ForwardPass, LoadedModel
from ..parameters import SEED_MAX, Param
from ..regions import keep_mask, nearest, region_scores
from .secam import SLIC_PARAMETERS, slic_segments


@dataclasses.dataclass(frozen=True, eq=False)
class PerturbedForwardPass(ForwardPass):
    """The unperturbed :class:`ForwardPass` plus LIME's perturbed samples.

    Attributes
    ----------
    segments : (H, W) int32 ndarray
        SLIC labels of the photo.
    segment_ids : (S,) int32 ndarray
        Labels present, ascending; column ``j`` of ``samples`` is ``segment_ids[j]``.
    samples : (N, S) uint8 ndarray
        1 where a superpixel is kept, 0 where it is filled; row 0 keeps all.
    sample_probabilities : (N, K) float32 ndarray
        Softmax output of the model on each perturbed copy.
    """

    segments: np.ndarray
    segment_ids: np.ndarray
    samples: np.ndarray
    sample_probabilities: np.ndarray


def perturbed_batches(
    model: LoadedModel,
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    segment_ids: np.ndarray,
    batch_size: int,
) -> np.ndarray:
    """Model probabilities on copies of ``image`` with superpixels replaced by the photo's mean colour.

    The copies are composed on the preprocessed tensor: the photo is resized and
    normalised once, the labels are resized to the input size with nearest
    neighbour, and a hidden superpixel takes the normalised mean colour. This
    differs from resizing each composed photo only on the one-pixel seams
    between superpixels.

    Parameters
    ----------
    model : LoadedModel
    image : (H, W, 3) uint8 ndarray
    segments : (H, W) int ndarray
    samples : (N, S) {0, 1} ndarray
        Which of ``segment_ids`` each copy keeps.
    segment_ids : (S,) int ndarray
    batch_size : int
        Copies per forward pass (at most the device's ``MAX_FORWARD_IMAGES``, which bounds the memory).

    Returns
    -------
    (N, K) float32 ndarray

    Raises
    ------
    explainers.progress.Cancelled
        If the caller's :class:`~explainers.progress.Progress` was cancelled (checked after each batch).
    """
    size = model.input_size
    x = model.preprocess(image)  # (3, S, S)
    mean = torch.tensor(model.spec.mean).view(3, 1, 1)
    std = torch.tensor(model.spec.std).view(3, 1, 1)
    fill = (torch.from_numpy(image.reshape(-1, 3).mean(axis=0) / 255.0).float().view(3, 1, 1) - mean) / std
    small = nearest(segments.astype(np.int32), (size, size))  # pixel centres, as the preprocessing
    column = np.zeros(int(segment_ids.max()) + 1, dtype=np.int64)
    column[segment_ids] = np.arange(segment_ids.size)
    index = torch.from_numpy(column[small])  # (S, S): column of each input pixel
    keep_all = torch.from_numpy(samples.astype(bool))
    step = min(batch_size, MAX_FORWARD_IMAGES[model.device.type == "cuda"])  # copies alive at once: bounded
    progress.plan(samples.shape[0])
    out = []
    for start in range(0, samples.shape[0], step):
        keep = keep_all[start : start + step][:, index]  # (B, S, S)
        batch = torch.where(keep[:, None], x[None], fill[None])
        logits, _ = model.forward_batch(batch)
        out.append(torch.softmax(logits, dim=1).cpu().numpy())
        progress.advance(keep.shape[0])
    return np.concatenate(out).astype(np.float32, copy=False)


def kernel_weights(samples: np.ndarray, kernel_width: float) -> np.ndarray:
    """LIME's weights ``sqrt(exp(-d^2 / width^2))``, ``d`` the cosine distance to the all-ones mask.

    Parameters
    ----------
    samples : (N, S) {0, 1} ndarray
    kernel_width : float

    Returns
    -------
    (N,) float64 ndarray
    """
    kept = samples.sum(axis=1).astype(np.float64)
    # cosine(z, 1) = z.1 / (|z| |1|) = sqrt(kept / S) for binary z; an empty mask is at distance 1
    distance = 1.0 - np.sqrt(kept / samples.shape[1])
    return np.sqrt(np.exp(-(distance**2) / kernel_width**2))


def weighted_ridge(
    features: np.ndarray, target: np.ndarray, weights: np.ndarray, alpha: float = 1.0
) -> tuple[np.ndarray, float]:
    """Ridge regression with an intercept and sample weights (as scikit-learn's ``Ridge``).

    Minimises :math:`\\sum_i w_i (y_i - x_i \\beta - b)^2 + \\alpha \\lVert\\beta\\rVert^2`.

    Parameters
    ----------
    features : (N, S) ndarray
    target : (N,) ndarray
    weights : (N,) non-negative ndarray
    alpha : float

    Returns
    -------
    coef : (S,) float64 ndarray
    intercept : float
    """
    X = features.astype(np.float64)
    y = target.astype(np.float64)
    w = weights.astype(np.float64)
    total = w.sum()
    x_mean = w @ X / total
    y_mean = float(w @ y / total)
    Xc = X - x_mean
    gram = Xc.T @ (Xc * w[:, None]) + alpha * np.eye(X.shape[1])
    coef = np.linalg.solve(gram, Xc.T @ (w * (y - y_mean)))
    return coef, y_mean - float(x_mean @ coef)


@register_explainer
class LIME(Explainer):
    """LIME with SLIC superpixels: a weighted linear surrogate of the class probability.

    1. SLIC superpixels of the RGB photo, as SeCAM (``n_segments``, ``compactness``).
    2. ``num_samples`` random keep/hide masks over the superpixels (seeded by
       ``seed``; the first keeps all), each hidden superpixel painted with the
       photo's mean colour. LIME's package default paints each superpixel with
       its own mean colour instead, which leaves its colour visible to the model.
    3. The model's softmax on every copy, in batches of ``batch_size``
       (shared by all target classes of one call).
    4. Per class, a ridge regression (``alpha = 1``) of the class probability
       on the masks, weighted by LIME's kernel on the cosine distance
       (``kernel_width``, LIME's default 0.25).

    ``segment_scores`` are the regression coefficients (change in probability
    when the superpixel is shown); ``class_map`` paints them on the photo's
    pixels; ``saliency`` is that map min-max normalised to [0, 1] (as CAM);
    ``mask`` keeps superpixels whose coefficient exceeds ``threshold`` x the best
    (as SeCAM). The ``forward`` timing covers the unperturbed pass and
    ``perturb`` the ``num_samples`` perturbed ones.

    Parameters
    ----------
    num_samples : int, default 1000
        Perturbed copies, in [10, 100000] (at most 2000 on a shared server).
    n_segments : int, default 50
        Approximate number of SLIC superpixels, >= 2.
    compactness : float, default 10
        SLIC compactness, > 0.
    threshold : float, default 0.8
        Mask: fraction of the best coefficient a superpixel must exceed, in [0, 1].
    kernel_width : float, default 0.25
        Width of the exponential kernel on the cosine distance, > 0.
    seed : int, default 0
        Seed of the random masks, in [0, 2**32 - 1].
    batch_size : int, default 64
        Copies per forward batch, in [1, 4096] (at most 64 on a shared server; does not change the result).
    slic_max_side : int, default 640
        As SeCAM's: SLIC on a working copy for photos with a longer side, so both use the same superpixels.

    Examples
    --------
    >>> lime = get_explainer("lime", num_samples=500)
    >>> [e] = lime.explain(model, image)          # doctest: +SKIP
    >>> e.segment_scores.shape == e.segment_ids.shape  # doctest: +SKIP
    True
    """

    name = "lime"
    title = "LIME"
    parameters = (
        Param(
            "num_samples",
            int,
            1000,
            low=10,
            high=100_000,
            server_high=2000,
            aliases=("samples",),
            help="perturbed copies of the photo pushed through the model (cost grows with it)",
        ),
        *SLIC_PARAMETERS[:3],
        Param(
            "kernel_width",
            float,
            0.25,
            low=0.0,
            low_open=True,
            help="width of the exponential kernel that weighs samples by their distance to the photo",
        ),
        Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the random perturbations (same seed: same map)"),
        Param("batch_size", int, 64, low=1, high=4096, server_high=64, help="perturbed copies per forward pass"),
        SLIC_PARAMETERS[3],
    )
    requires_exact_cam = False
    uses_superpixels = True
    #: 100 copies instead of 1000 where many photos are explained while someone waits (noisier, a tenth of the work)
    quick_params = {"num_samples": 100}

    def cost(self) -> int:
        """The unperturbed pass and ``num_samples`` perturbed copies."""
        return 1 + int(self.params["num_samples"])

    def forward_pass(self, model: LoadedModel, image: np.ndarray, forward: ForwardPass | None) -> ForwardPass:
        """The ordinary pass (reused when given), then SLIC and the perturbed copies."""
        if isinstance(forward, PerturbedForwardPass):
            return forward
        if forward is None:
            forward = model.forward(image)
        p = self.params
        t0 = time.perf_counter()
        segments = slic_segments(image, p["n_segments"], p["compactness"], p["slic_max_side"])  # SeCAM's superpixels
        segment_ids = np.unique(segments).astype(np.int32)
        t1 = time.perf_counter()
        rng = np.random.default_rng(p["seed"])
        samples = rng.integers(0, 2, size=(p["num_samples"], segment_ids.size), dtype=np.uint8)
        samples[0] = 1
        probabilities = perturbed_batches(model, image, segments, samples, segment_ids, p["batch_size"])
        t2 = time.perf_counter()
        fields = {f.name: getattr(forward, f.name) for f in dataclasses.fields(ForwardPass)}
        fields["timings"] = {**forward.timings, "slic": t1 - t0, "perturb": t2 - t1}
        return PerturbedForwardPass(
            **fields, segments=segments, segment_ids=segment_ids, samples=samples, sample_probabilities=probabilities
        )

    def prepare(
        self, model: LoadedModel, image: np.ndarray, forward: ForwardPass, timings: dict[str, float], **precomputed: Any
    ) -> ForwardPass:
        super().prepare(model, image, forward, timings, **precomputed)
        return forward

    def class_map(self, model: LoadedModel, forward: ForwardPass, class_index: int) -> torch.Tensor:
        """``(H, W)`` each pixel's superpixel coefficient for ``class_index``, at image resolution."""
        if not isinstance(forward, PerturbedForwardPass):
            raise TypeError("LIME's map needs the pass of its forward_pass (the perturbed samples)")
        weights = kernel_weights(forward.samples, self.params["kernel_width"])
        coef, _ = weighted_ridge(forward.samples, forward.sample_probabilities[:, class_index], weights)
        lookup = np.zeros(int(forward.segment_ids.max()) + 1, dtype=np.float32)
        lookup[forward.segment_ids] = coef
        return torch.from_numpy(lookup[forward.segments])

    def build(
        self,
        model: LoadedModel,
        image: np.ndarray,
        class_map: torch.Tensor,
        context: PerturbedForwardPass,
        timings: dict[str, float],
        t0: float,
    ) -> dict[str, Any]:
        segments = context.segments
        values = class_map.numpy()
        lo, hi = float(values.min()), float(values.max())
        saliency = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        ids, scores, areas = region_scores(values, segments)
        kept = np.zeros(int(ids.max()) + 1, dtype=bool)
        kept[ids] = keep_mask(scores, self.params["threshold"])
        timings[self.name] = time.perf_counter() - t0
        return {
            "saliency": saliency.astype(np.float32),
            "segments": segments,
            "segment_ids": ids,
            "segment_scores": scores,
            "segment_areas": areas,
            "mask": kept[segments],
        }
