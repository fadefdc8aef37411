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
"""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np
import torch

from ..parameters import SEED_MAX, Param
from ..errors import ParameterError
from .. import progress
from ..models.loaded import MAX_FORWARD_IMAGES, LoadedModel


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
#: The parameters of :func:`faithfulness`, declared once.
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
    Param("batch_size", int, 64, low=1, high=4096, server_high=64, help="copies per forward pass"),
    Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the order among pixels of equal saliency"),
)


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
    batches.

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
    steps = params["steps"]
    t0 = time.perf_counter()
    size = model.input_size
    x = model.preprocess(image)
    base = blurred(x, params["blur_sigma"])
    order = torch.from_numpy(pixel_order(saliency, size, params["seed"]))
    counts = np.round(np.linspace(0.0, 1.0, steps + 1) * size * size).astype(np.int64)
    rank = torch.empty(size * size, dtype=torch.int64)
    rank[order] = torch.arange(size * size)
    rank = rank.view(size, size)
    # deletion copies, then insertion copies, made one batch at a time (bounded memory)
    plan = [(int(n), base, x) for n in counts] + [(int(n), x, base) for n in counts]
    step = min(params["batch_size"], MAX_FORWARD_IMAGES[model.device.type == "cuda"])
    progress.plan(len(plan))
    probabilities = []
    for start in range(0, len(plan), step):
        batch = torch.stack([torch.where(rank < n, a, b) for n, a, b in plan[start : start + step]])
        logits, _ = model.forward_batch(batch)
        probabilities.append(torch.softmax(logits, dim=1)[:, params["class_index"]].cpu())
        progress.advance(batch.shape[0])
    curve = torch.cat(probabilities).double().numpy()
    fractions = counts / float(size * size)
    deletion, insertion = curve[: steps + 1], curve[steps + 1 :]
    return Faithfulness(
        fractions=fractions,
        deletion=deletion,
        insertion=insertion,
        deletion_auc=auc(fractions, deletion),
        insertion_auc=auc(fractions, insertion),
        kept_fraction=kept_fraction(mask),
        timings={"curves": time.perf_counter() - t0},
    )
