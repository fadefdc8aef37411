"""Faithfulness of a saliency map to the model: deletion and insertion curves (Petsiuk et al., 2018).

Deletion removes the photo's pixels from the most salient down and follows the
explained class's probability: a faithful map makes it fall fast (low area
under the curve). Insertion starts from a blurred copy and puts the pixels back
in the same order: a faithful map makes the probability rise fast (high area).

Everything happens at the model's input resolution on the preprocessed tensor:
the photo is resized and normalised once, the saliency is resized to the input
size, and "removed" means replaced by the same pixel of the blurred copy
(Gaussian, ``blur_sigma`` input pixels), the baseline RISE uses for insertion.
A blurred baseline rather than black or grey keeps the copies close to natural
images, so the curve measures the loss of detail where the map points rather
than the model's reaction to an unusual colour. Pixels of equal saliency (a
SeCAM map is constant on each superpixel) are taken in a fixed random order,
seeded, so no method gains from the raster order.

One implementation serves both entry points: :func:`removal_curves` computes the curves of any
number of (photo, map, class) triples in shared forward batches; :func:`faithfulness` (one map, both
curves) and the registered metrics ``deletion`` and ``insertion`` (many maps, one curve each) call it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import cv2
import numpy as np
import torch

from ..parameters import SEED_MAX, Param
from ..errors import ParameterError
from ..models.loaded import LoadedModel
from .base import BATCH_SIZE, LOWER, HIGHER, MapBatch, Metric, class_probabilities, register_metric


@dataclasses.dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion curves of one saliency map for one class.

    Attributes
    ----------
    fractions : (steps + 1,) float64 ndarray
        Share of the input's pixels removed (deletion) or inserted (insertion), 0 to 1.
    deletion, insertion : (steps + 1,) float64 ndarray
        Probability of the explained class at each fraction.
    deletion_auc, insertion_auc : float
        Trapezoidal area under each curve over ``fractions`` (in [0, 1]).
    kept_fraction : float or None
        Share of the photo's pixels the explanation's mask keeps (None without a mask).
    timings : dict
        Seconds: ``curves`` (both curves, forward passes included).
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    kept_fraction: float | None
    timings: dict[str, float]

    def to_dict(self) -> dict:
        """JSON-ready copy (arrays as lists)."""
        return {
            "fractions": self.fractions.tolist(),
            "deletion": self.deletion.tolist(),
            "insertion": self.insertion.tolist(),
            "deletion_auc": self.deletion_auc,
            "insertion_auc": self.insertion_auc,
            "kept_fraction": self.kept_fraction,
            "timings": dict(self.timings),
        }


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under ``values`` over ``fractions``.

    Parameters
    ----------
    fractions : (T,) ndarray, increasing from 0 to 1
    values : (T,) ndarray

    Returns
    -------
    float
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    return float(np.sum((values[1:] + values[:-1]) * np.diff(fractions)) / 2.0)


def kept_fraction(mask: np.ndarray | None) -> float | None:
    """Share of ``True`` pixels in an ``(H, W)`` bool mask; None when there is no mask."""
    return None if mask is None else float(np.asarray(mask, dtype=bool).mean())


def pixel_order(saliency: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Flat indices of the ``size x size`` input's pixels, most salient first.

    Parameters
    ----------
    saliency : (H, W) float ndarray
        Map at the photo's resolution; resized bilinearly to ``size x size``.
    size : int
        Model input side.
    seed : int
        Seed of the random order among pixels of equal saliency.

    Returns
    -------
    (size * size,) int64 ndarray
    """
    resized = cv2.resize(np.asarray(saliency, dtype=np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    ties = np.random.default_rng(seed).random(size * size)
    return np.lexsort((ties, -resized.ravel()))


def blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of a ``(3, S, S)`` tensor, ``sigma`` in pixels (reflected border)."""
    arr = x.permute(1, 2, 0).numpy()
    out = cv2.GaussianBlur(
        np.ascontiguousarray(arr), (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
    )
    return torch.from_numpy(out).permute(2, 0, 1).contiguous()


def random_saliency(shape: tuple[int, int], grid: int = 7, seed: int = 0) -> np.ndarray:
    """A random map shaped like a CAM: uniform noise on a ``grid x grid`` lattice, upsampled bilinearly.

    The baseline every method must beat. Coarse like a 7x7 CAM, so that it removes
    pixels in blobs as the methods do, rather than as salt-and-pepper noise.

    Parameters
    ----------
    shape : (H, W)
    grid : int
        Lattice side, >= 1.
    seed : int

    Returns
    -------
    (H, W) float32 ndarray in [0, 1]
    """
    grid = Param("grid", int, 7, low=1).check(grid)
    coarse = np.random.default_rng(seed).random((grid, grid)).astype(np.float32)
    return cv2.resize(coarse, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR)


#: Steps of each curve unless told otherwise (``2 * (steps + 1)`` copies of the photo through the model per map).
DEFAULT_STEPS = 20


def curve_copies(steps: int = DEFAULT_STEPS) -> int:
    """Copies of the photo one map's deletion and insertion curves push through the model: ``2 * (steps + 1)``.

    The unit of time estimates (:mod:`explainers.progress` counts the same copies).

    Examples
    --------
    >>> curve_copies(20)
    42
    """
    return 2 * (int(steps) + 1)


#: The parameters of :func:`faithfulness`, declared once (the ``deletion`` and ``insertion`` metrics share them).
FAITHFULNESS_PARAMETERS = (
    Param(
        "steps",
        int,
        DEFAULT_STEPS,
        low=1,
        high=1000,
        server_high=100,
        help="points of the deletion and insertion curves, minus one",
    ),
    Param("blur_sigma", float, 10.0, low=0.0, low_open=True, help="Gaussian blur of the baseline, input pixels"),
    BATCH_SIZE,
    Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the order among pixels of equal saliency"),
)


def removal_curves(
    batch: MapBatch,
    steps: int = DEFAULT_STEPS,
    blur_sigma: float = 10.0,
    batch_size: int = 64,
    seed: int = 0,
    kinds: tuple[str, ...] = ("deletion", "insertion"),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Deletion and/or insertion curves of every triple of ``batch``, in shared forward batches.

    For triple ``i`` with photo ``x`` (preprocessed, ``S x S``), its blurred copy ``b`` and the rank
    ``r(p)`` of each input pixel ``p`` in :func:`pixel_order` of the map, the copy at step ``j`` of
    ``steps`` with ``n_j = round(j / steps * S * S)`` is ``where(r < n_j, b, x)`` for deletion and
    ``where(r < n_j, x, b)`` for insertion (all channels of a pixel together); the curve is the softmax
    probability of the triple's class on each copy. The copies are made on the model's device one
    batch at a time, triple after triple (deletion before insertion).

    Parameters
    ----------
    batch : MapBatch
        ``N`` triples.
    steps, blur_sigma, batch_size, seed
        As :func:`faithfulness` (already validated).
    kinds : tuple of {"deletion", "insertion"}
        The curves to compute.

    Returns
    -------
    fractions : (steps + 1,) float64 ndarray
        ``n_j / (S * S)``.
    curves : dict
        Kind -> ``(N, steps + 1)`` float64 ndarray.
    """
    size = batch.size
    counts = np.round(np.linspace(0.0, 1.0, steps + 1) * size * size).astype(np.int64)
    device = batch.model.device

    def copies():
        for i in range(len(batch)):
            photo = int(batch.photo_of[i])
            x = batch.x_on_device(photo)
            base = batch.cached(("blurred", photo, blur_sigma), lambda photo=photo: blurred(batch.x(photo), blur_sigma))
            base = base.to(device)
            order = torch.from_numpy(pixel_order(batch.maps[i], size, seed)).to(device)
            rank = torch.empty(size * size, dtype=torch.int64, device=device)
            rank[order] = torch.arange(size * size, device=device)
            rank = rank.view(size, size)
            for kind in kinds:
                removed, kept = (base, x) if kind == "deletion" else (x, base)
                for n in counts:
                    yield torch.where(rank < int(n), removed, kept), int(batch.classes[i])

    points = len(kinds) * (steps + 1)
    flat = class_probabilities(batch.model, copies(), len(batch) * points, batch_size)
    table = flat.reshape(len(batch), len(kinds), steps + 1)
    return counts / float(size * size), {kind: table[:, k] for k, kind in enumerate(kinds)}


def faithfulness(
    model: LoadedModel,
    image: np.ndarray,
    saliency: np.ndarray,
    class_index: int,
    steps: int = DEFAULT_STEPS,
    blur_sigma: float = 10.0,
    batch_size: int = 64,
    seed: int = 0,
    mask: np.ndarray | None = None,
) -> Faithfulness:
    """Deletion and insertion curves of ``saliency`` for ``class_index``.

    At step ``i`` of ``steps`` the ``round(i / steps * S * S)`` most salient input
    pixels are replaced by the blurred copy (deletion) or the blurred copy gets
    them back (insertion); the ``2 * (steps + 1)`` copies go through the model in
    batches (:func:`removal_curves`).

    Parameters
    ----------
    model : LoadedModel
    image : (H, W, 3) uint8 ndarray
    saliency : (H, W) float ndarray
        Higher means more important; only the order matters.
    class_index : int
        Class whose softmax probability is followed, in [0, K).
    steps : int
        Number of steps, in [1, 1000].
    blur_sigma : float
        Sigma of the Gaussian blur of the baseline, in input pixels, > 0.
    batch_size : int
        Copies per forward pass, in [1, 4096].
    seed : int
        Seed of the order among pixels of equal saliency, >= 0.
    mask : (H, W) bool ndarray, optional
        The explanation's mask, for ``kept_fraction``.

    Returns
    -------
    Faithfulness

    Raises
    ------
    ParameterError
        If a parameter is outside its range, or ``saliency`` is not shaped like the image.
    explainers.progress.Cancelled
        If the caller's :class:`~explainers.progress.Progress` was cancelled (checked after each batch).
    """
    params = {
        p.name: p.check(value)
        for p, value in zip(
            (*FAITHFULNESS_PARAMETERS, Param("class_index", int, 0, low=0, high=model.num_classes - 1)),
            (steps, blur_sigma, batch_size, seed, class_index),
        )
    }
    saliency = np.asarray(saliency)
    if saliency.shape != image.shape[:2]:
        raise ParameterError(
            f"`saliency` has shape {saliency.shape}; it must be the image's (H, W) = {image.shape[:2]}"
        )
    t0 = time.perf_counter()
    batch = MapBatch(model, [image], [saliency], [params["class_index"]])
    fractions, curves = removal_curves(
        batch, params["steps"], params["blur_sigma"], params["batch_size"], params["seed"]
    )
    deletion, insertion = curves["deletion"][0], curves["insertion"][0]
    return Faithfulness(
        fractions=fractions,
        deletion=deletion,
        insertion=insertion,
        deletion_auc=auc(fractions, deletion),
        insertion_auc=auc(fractions, insertion),
        kept_fraction=kept_fraction(mask),
        timings={"curves": time.perf_counter() - t0},
    )


class _RemovalCurve(Metric):
    """Deletion or insertion as a registered metric: the area under one curve of :func:`removal_curves`."""

    parameters = FAITHFULNESS_PARAMETERS
    kind: ClassVar[str] = ""

    def cost(self) -> float:
        """``steps + 1`` forward passes per map."""
        return float(self.params["steps"] + 1)

    def compute(self, batch: MapBatch):
        p = self.params
        fractions, curves = removal_curves(
            batch, p["steps"], p["blur_sigma"], p["batch_size"], p["seed"], kinds=(self.kind,)
        )
        table = curves[self.kind]
        values = np.array([auc(fractions, row) for row in table])
        return values, tuple(fractions for _ in table), tuple(table)


@register_metric
class Deletion(_RemovalCurve):
    """Deletion AUC (Petsiuk et al., 2018): lower is better.

    For a photo ``x`` at the model's input (``S x S``, preprocessed), its Gaussian-blurred copy ``b``
    (``blur_sigma`` input pixels) and the map's pixel order (:func:`pixel_order`: most salient first,
    ties in a seeded random order), let ``x_j`` be ``x`` with its ``n_j = round(j / T * S^2)`` first
    pixels replaced by ``b`` (``j = 0..T``, ``T = steps``) and ``p_j`` the softmax probability of the
    class on ``x_j``. The value is the trapezoidal area ``sum_j (p_j + p_{j+1}) / 2 * (n_{j+1} - n_j) / S^2``,
    in [0, 1]: small when the probability falls as soon as the pixels the map ranks first are gone.

    Parameters
    ----------
    steps : int, default 20
        ``T``, in [1, 1000] (100 on a shared server); ``T + 1`` forward passes per map.
    blur_sigma : float, default 10
        Blur of the baseline in input pixels, > 0.
    batch_size : int, default 64
        Copies per forward pass.
    seed : int, default 0
        Seed of the order among pixels of equal saliency.
    """

    name = "deletion"
    title = "Deletion AUC"
    summary = "area under the class probability as the most salient pixels are blurred away"
    direction = LOWER
    kind = "deletion"


@register_metric
class Insertion(_RemovalCurve):
    """Insertion AUC (Petsiuk et al., 2018): higher is better.

    The reverse of :class:`Deletion`: ``x_j`` is the blurred copy ``b`` with the ``n_j`` first pixels
    of the map's order taken from ``x``; the value is the trapezoidal area under ``p_j`` over
    ``n_j / S^2``, in [0, 1]: large when the probability comes back as soon as the pixels the map
    ranks first are restored. Parameters as :class:`Deletion`.
    """

    name = "insertion"
    title = "Insertion AUC"
    summary = "area under the class probability as the most salient pixels are restored on a blurred copy"
    direction = HIGHER
    kind = "insertion"
