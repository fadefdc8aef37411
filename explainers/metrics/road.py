"""ROAD: RemOve And Debias (Rong, Leemann, Nguyen, Fiedler, Kasneci; ICML 2022).

Removing pixels by painting them with a constant or a blur leaves a trace of *where* they were: the
shape of the removed region can itself tell the model the class, which rewards maps for that shape
rather than for what they point at. ROAD fills the removed pixels by *noisy linear imputation*: each
removed pixel becomes the weighted mean of its eight neighbours (solved jointly for all removed pixels
as one sparse linear system, so a removed region is filled smoothly from its border), plus a little
Gaussian noise, which leaves far less of the mask's shape in the copy.

Two orders, two metrics: ``road_morf`` removes the *most* relevant pixels first (a faithful map makes
the probability drop: lower is better) and ``road_lerf`` the *least* relevant first (a faithful map
keeps the probability: higher is better).

The imputation is solved on the CPU (SciPy's sparse direct solver); the copies go through the model on
its device.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from ..parameters import SEED_MAX, Param
from .base import BATCH_SIZE, HIGHER, LOWER, MapBatch, Metric, class_probabilities, register_metric
from .faithfulness import pixel_order

#: The eight neighbours of a pixel, as (row offset, column offset, weight): 1/6 for the four that share
#: an edge, 1/12 for the four diagonal ones (Rong et al., 2022).
NEIGHBOUR_WEIGHTS = (
    (0, 1, 1 / 6),
    (0, -1, 1 / 6),
    (1, 0, 1 / 6),
    (-1, 0, 1 / 6),
    (1, 1, 1 / 12),
    (1, -1, 1 / 12),
    (-1, 1, 1 / 12),
    (-1, -1, 1 / 12),
)


def linear_imputation(x: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Fill the ``removed`` pixels of ``x`` from their neighbours (ROAD's imputation, without noise).

    Every removed pixel ``i`` gets the value that makes it the weighted mean of its neighbours inside
    the image, :math:`x_i \\sum_{j \\in N(i)} w_j = \\sum_{j \\in N(i)} w_j x_j` with the weights of
    :data:`NEIGHBOUR_WEIGHTS` (neighbours that are removed themselves are unknowns too), one sparse
    linear system for all removed pixels, solved per channel. Kept pixels are returned unchanged.

    Parameters
    ----------
    x : (C, H, W) float ndarray
    removed : (H, W) bool ndarray
        True where a pixel is removed; at least one pixel must be kept.

    Returns
    -------
    (C, H, W) float64 ndarray

    Raises
    ------
    ValueError
        If every pixel is removed (nothing to impute from) or the shapes disagree.
    """
    x = np.asarray(x, dtype=np.float64)
    removed = np.asarray(removed, dtype=bool)
    channels, height, width = x.shape
    if removed.shape != (height, width):
        raise ValueError(f"`removed` has shape {removed.shape}; it must be the image's (H, W) = {(height, width)}")
    unknown = np.flatnonzero(removed.ravel())
    if unknown.size == 0:
        return x.copy()
    if unknown.size == removed.size:
        raise ValueError("every pixel is removed; keep at least one to impute from")
    variable = np.full(height * width, -1, dtype=np.int64)
    variable[unknown] = np.arange(unknown.size)
    rows, cols = np.divmod(unknown, width)
    flat = x.reshape(channels, -1)
    diagonal = np.zeros(unknown.size)
    rhs = np.zeros((unknown.size, channels))
    a_rows, a_cols, a_vals = [], [], []
    for dr, dc, weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        which = np.flatnonzero(inside)
        neighbour = r[inside] * width + c[inside]
        diagonal[which] += weight
        is_unknown = variable[neighbour] >= 0
        a_rows.append(which[is_unknown])
        a_cols.append(variable[neighbour[is_unknown]])
        a_vals.append(np.full(int(is_unknown.sum()), -weight))
        known = which[~is_unknown]
        rhs[known] += weight * flat[:, neighbour[~is_unknown]].T
    a_rows.append(np.arange(unknown.size))
    a_cols.append(np.arange(unknown.size))
    a_vals.append(diagonal)
    matrix = scipy.sparse.csc_matrix(
        (np.concatenate(a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))), shape=(unknown.size,) * 2
    )
    solution = scipy.sparse.linalg.spsolve(matrix, rhs)
    out = flat.copy()
    out[:, unknown] = np.asarray(solution).reshape(unknown.size, channels).T
    return out.reshape(channels, height, width)


#: ROAD's parameters, declared once (both orders share them).
ROAD_PARAMETERS = (
    Param(
        "steps",
        int,
        9,
        low=1,
        high=99,
        server_high=19,
        help="removed shares 1/(steps+1) ... steps/(steps+1) of the pixels (9: 10% to 90%)",
    ),
    Param(
        "noise",
        float,
        0.01,
        low=0.0,
        high=1.0,
        help="standard deviation of the noise added to imputed pixels, in [0, 1] pixel units",
    ),
    BATCH_SIZE,
    Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the noise and of the order among equal pixels"),
)


class _ROAD(Metric):
    """ROAD in one order; the subclasses set ``most_relevant_first`` and the direction."""

    parameters = ROAD_PARAMETERS
    most_relevant_first: ClassVar[bool] = True

    def cost(self) -> float:
        """``steps`` forward passes per map (and as many sparse solves on the CPU)."""
        return float(self.params["steps"])

    def compute(self, batch: MapBatch):
        p = self.params
        steps, size = p["steps"], batch.size
        shares = np.arange(1, steps + 1) / (steps + 1)
        counts = np.round(shares * size * size).astype(np.int64)
        std = np.asarray(batch.model.spec.std, dtype=np.float64)[:, None]
        device = batch.model.device

        def copies():
            for i in range(len(batch)):
                order = pixel_order(batch.maps[i], size, p["seed"])
                if not self.most_relevant_first:
                    order = order[::-1]
                x = batch.x(int(batch.photo_of[i])).numpy()
                for j, count in enumerate(counts):
                    removed = np.zeros(size * size, dtype=bool)
                    removed[order[:count]] = True
                    filled = linear_imputation(x, removed.reshape(size, size)).reshape(3, -1)
                    if p["noise"] > 0:
                        # the noise of step j is the same for every map: a difference between maps is theirs
                        rng = np.random.default_rng([p["seed"], j])
                        filled[:, removed] += rng.standard_normal((3, int(count))) * (p["noise"] / std)
                    copy = torch.from_numpy(filled.reshape(3, size, size)).float().to(device)
                    yield copy, int(batch.classes[i])

        flat = class_probabilities(batch.model, copies(), len(batch) * steps, p["batch_size"])
        table = flat.reshape(len(batch), steps)
        return table.mean(axis=1), tuple(shares for _ in table), tuple(table)


@register_metric
class ROADMostRelevantFirst(_ROAD):
    """ROAD, most relevant first (MoRF; Rong et al., 2022): lower is better.

    For a photo ``x`` at the model's input (``S x S``, preprocessed) and the map's pixel order
    (:func:`~explainers.metrics.pixel_order`: most salient first, ties in a seeded random order), let
    ``x_j`` (``j = 1..T``, ``T = steps``) be ``x`` with its ``round(q_j S^2)`` first pixels removed,
    ``q_j = j / (T + 1)``, and filled by :func:`linear_imputation` plus Gaussian noise of standard
    deviation ``noise`` (in [0, 1] pixel units; ``noise / std_c`` in channel ``c`` of the normalised
    input). The value is the mean over ``j`` of the softmax probability of the class on ``x_j``, in
    [0, 1]: small when removing what the map ranks first takes the class away. The noise of step
    ``j`` is drawn from ``numpy.random.default_rng([seed, j])``, so a result does not depend on the
    other triples measured with it.

    Parameters
    ----------
    steps : int, default 9
        ``T``: the removed shares are 1/(T+1) ... T/(T+1) (10% to 90% by default), in [1, 99]
        (19 on a shared server); ``T`` forward passes and sparse solves per map.
    noise : float, default 0.01
        Standard deviation of the noise on imputed pixels, [0, 1] pixel units, in [0, 1].
    batch_size : int, default 64
    seed : int, default 0
    """

    name = "road_morf"
    title = "ROAD, most relevant first"
    summary = "mean class probability once the most salient 10%..90% are imputed from their neighbours"
    direction = LOWER
    most_relevant_first = True


@register_metric
class ROADLeastRelevantFirst(_ROAD):
    """ROAD, least relevant first (LeRF; Rong et al., 2022): higher is better.

    As :class:`ROADMostRelevantFirst`, but ``x_j`` has the ``round(q_j S^2)`` *last* pixels of the
    map's order (the least salient) removed and imputed. The value is the mean over ``j`` of the class
    probability, in [0, 1]: large when what the map ranks last can go without changing the decision.
    ``(road_lerf - road_morf) / 2`` is pytorch-grad-cam's "ROAD combined" score.
    """

    name = "road_lerf"
    title = "ROAD, least relevant first"
    summary = "mean class probability once the least salient 10%..90% are imputed from their neighbours"
    direction = HIGHER
    most_relevant_first = False
