"""Average Drop and Increase in Confidence (Chattopadhay et al., "Grad-CAM++", WACV 2018).

Both show the model only what the map shows: the photo multiplied by the map, and compare the class
probability on that copy (``O``) with the probability on the photo (``Y``). Average Drop is the
relative loss ``max(0, Y - O) / Y`` (lower is better); Increase in Confidence is whether the copy is
*more* convincing than the photo, ``O > Y`` (higher is better). Averaged over photos they are the
paper's "Average Drop %" and "% Increase in Confidence" (divided by 100).

The map multiplies the *normalised* input, as pytorch-grad-cam and torchcam do: where the map is 0 the
copy shows the normalisation mean (mid-grey for ``efficientnet_lite0``), not black. Unlike the
ranking metrics, the map's *values* matter here, not only their order.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import BATCH_SIZE, HIGHER, LOWER, MapBatch, Metric, class_probabilities, register_metric


def masked_probabilities(batch: MapBatch, batch_size: int) -> np.ndarray:
    """``(N,)`` class probability ``O`` on each photo multiplied by its map clipped to [0, 1] (normalised space).

    Parameters
    ----------
    batch : MapBatch
    batch_size : int
        Copies per forward pass.

    Returns
    -------
    (N,) float64 ndarray
    """
    device = batch.model.device

    def copies():
        for i in range(len(batch)):
            x = batch.x_on_device(int(batch.photo_of[i]))
            weight = torch.from_numpy(np.clip(batch.maps[i], 0.0, 1.0)).to(device)
            yield x * weight, int(batch.classes[i])

    return batch.cached(
        ("masked", batch_size), lambda: class_probabilities(batch.model, copies(), len(batch), batch_size)
    )


class _Confidence(Metric):
    """The two Grad-CAM++ metrics share one forward pass per map."""

    parameters = (BATCH_SIZE,)

    def cost(self) -> float:
        """One forward pass per map."""
        return 1.0


@register_metric
class AverageDrop(_Confidence):
    """Average Drop (Chattopadhay et al., 2018): lower is better.

    For a photo ``x`` at the model's input (preprocessed, ``S x S``) and its map ``m`` (resized
    bilinearly to ``S x S`` and clipped to [0, 1]), with ``Y`` the softmax probability of the class on
    ``x`` and ``O`` on ``x * m`` (element-wise, in the normalised space), the value is
    ``max(0, Y - O) / Y``, in [0, 1]: 0 when what the map shows keeps all the evidence. The mean over
    photos is the paper's Average Drop % / 100.

    Parameters
    ----------
    batch_size : int, default 64
    """

    name = "average_drop"
    title = "Average Drop"
    summary = "relative loss of class probability when the model sees only the photo times the map"
    direction = LOWER

    def compute(self, batch: MapBatch):
        y = batch.originals()
        o = masked_probabilities(batch, self.params["batch_size"])
        return np.maximum(0.0, y - o) / y, None, None


@register_metric
class IncreaseInConfidence(_Confidence):
    """Increase in Confidence (Chattopadhay et al., 2018): higher is better.

    With ``Y`` and ``O`` as in :class:`AverageDrop`, the value is 1 if ``O > Y`` (strictly) and 0
    otherwise; the mean over photos is the paper's % Increase in Confidence / 100.

    Parameters
    ----------
    batch_size : int, default 64
    """

    name = "increase_confidence"
    title = "Increase in Confidence"
    summary = "whether the photo times the map convinces the model more than the photo itself (1) or not (0)"
    direction = HIGHER

    def compute(self, batch: MapBatch):
        y = batch.originals()
        o = masked_probabilities(batch, self.params["batch_size"])
        return (o > y).astype(np.float64), None, None
