"""IROF: Iterative Removal Of Features (Rieger and Hansen, 2020).

Deletion at the granularity of superpixels: the photo's SLIC superpixels (SeCAM's, by default with
SeCAM's defaults, so SeCAM's own explanations can lend theirs) are ranked by the map's mean over each,
and removed one after the other, best first, by painting them with the photo's mean colour. The
probability of the class relative to the intact photo's falls fast for a faithful map; IROF is the
area *over* that curve.
"""

from __future__ import annotations

import numpy as np
import torch

from ..methods.secam import SLIC_PARAMETERS
from ..parameters import SEED_MAX, Param
from .base import BATCH_SIZE, HIGHER, MapBatch, Metric, class_probabilities, register_metric
from .faithfulness import FAITHFULNESS_PARAMETERS, auc, blurred

_N_SEGMENTS, _COMPACTNESS, _, _SLIC_MAX_SIDE = SLIC_PARAMETERS
#: The blur of the ``"blur"`` baseline: the deletion curve's default, in input pixels.
_BLUR_SIGMA = float(FAITHFULNESS_PARAMETERS[1].default)


def segment_order(segments: np.ndarray, saliency: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The superpixels present in ``segments``, by decreasing mean saliency (ties in a seeded random order).

    Parameters
    ----------
    segments : (S, S) int ndarray
        Labels.
    saliency : (S, S) float ndarray
    seed : int

    Returns
    -------
    labels : (n,) int64 ndarray
        The labels, most salient superpixel first.
    means : (n,) float64 ndarray
        Their mean saliency, in the same order.
    """
    labels, inverse = np.unique(segments.ravel(), return_inverse=True)
    sums = np.bincount(inverse, weights=saliency.ravel().astype(np.float64), minlength=labels.size)
    means = sums / np.bincount(inverse, minlength=labels.size)
    ties = np.random.default_rng(seed).random(labels.size)
    order = np.lexsort((ties, -means))
    return labels[order].astype(np.int64), means[order]


@register_metric
class IROF(Metric):
    """IROF (Rieger and Hansen, 2020): higher is better.

    For a photo ``x`` at the model's input (``S x S``, preprocessed) with superpixels ``s_1..s_n``
    (the triple's ``segments``, else :func:`explainers.slic_segments` of the photo with these SLIC
    parameters, at the photo's resolution; both brought to ``S x S`` by nearest neighbour, superpixels
    that vanish at ``S x S`` left out) ranked by the map's mean over each (:func:`segment_order`),
    let ``x_k`` (``k = 0..n``) be ``x`` with its first ``k`` superpixels painted with the baseline
    and ``q_k = p(x_k) / p(x_0)`` the softmax probability of the class relative to the intact photo's.
    The value is the area over that curve with superpixels counted as equal shares,
    :math:`\\mathrm{IROF} = 1 - \\sum_k (q_k + q_{k+1}) / (2 n)`: near 1 when the first superpixels
    take the class away, 0 or below when removing them does not lower the probability (``q`` can
    exceed 1, so the value is not bounded). Quantus' ``IROF`` reports ``n - sum_{k=1..n-1} (q_k +
    q_{k+1}) / 2``, which equals ``n * IROF + (1 + q_1) / 2``.

    Parameters
    ----------
    n_segments, compactness, slic_max_side
        SLIC's, as SeCAM's (the same defaults: SeCAM's explanations can lend their ``segments``).
    baseline : {"mean", "blur"}, default "mean"
        What a removed superpixel is painted with: the photo's mean colour (per channel, over the
        input; Rieger and Hansen's choice) or the same pixels of the Gaussian-blurred copy of
        :class:`~explainers.metrics.faithfulness.Deletion` (sigma 10 input pixels).
    batch_size : int, default 64
    seed : int, default 0
        Seed of the order among superpixels of equal mean saliency.
    """

    name = "irof"
    title = "IROF"
    summary = "area over the relative class probability as the most salient superpixels are painted grey"
    direction = HIGHER
    uses_superpixels = True
    parameters = (
        _N_SEGMENTS,
        _COMPACTNESS,
        _SLIC_MAX_SIDE,
        Param("baseline", str, "mean", choices=("mean", "blur"), help="paint removed superpixels with"),
        BATCH_SIZE,
        Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the order among superpixels of equal mean"),
    )

    def cost(self) -> float:
        """About ``n_segments`` forward passes per map (one per superpixel SLIC makes)."""
        return float(self.params["n_segments"])

    def compute(self, batch: MapBatch):
        p = self.params
        device = batch.model.device
        plans = []
        for i in range(len(batch)):
            segments = batch.segments_at_input(i, p["n_segments"], p["compactness"], p["slic_max_side"])
            labels, _ = segment_order(segments, batch.maps[i], p["seed"])
            plans.append((segments, labels))

        def baseline(photo: int) -> torch.Tensor:
            x = batch.x(photo)
            if p["baseline"] == "blur":
                return batch.cached(("blurred", photo, _BLUR_SIGMA), lambda: blurred(x, _BLUR_SIGMA))
            return x.mean(dim=(1, 2), keepdim=True).expand_as(x)

        def copies():
            for i, (segments, labels) in enumerate(plans):
                photo = int(batch.photo_of[i])
                x = batch.x_on_device(photo)
                base = baseline(photo).to(device)
                # rank[s] = position of superpixel s in the order; a pixel is removed at step k if its rank < k
                rank = np.zeros(int(segments.max()) + 1, dtype=np.int64)
                rank[labels] = np.arange(labels.size)
                pixel_rank = torch.from_numpy(rank[segments]).to(device)
                for k in range(1, labels.size + 1):
                    yield torch.where(pixel_rank < k, base, x), int(batch.classes[i])

        count = sum(labels.size for _, labels in plans)
        flat = class_probabilities(batch.model, copies(), count, p["batch_size"])
        originals = batch.originals()
        values, fractions, curves = [], [], []
        start = 0
        for i, (_, labels) in enumerate(plans):
            n = labels.size
            relative = np.concatenate([[1.0], flat[start : start + n] / originals[i]])
            start += n
            shares = np.arange(n + 1) / n
            values.append(1.0 - auc(shares, relative))
            fractions.append(shares)
            curves.append(relative)
        return np.asarray(values), tuple(fractions), tuple(curves)
