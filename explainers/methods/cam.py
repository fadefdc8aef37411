"""CAM: Class Activation Mapping (Zhou et al., 2016)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .base import Explainer, make_explanation, register_explainer
from ..explanation import Explanation
from ..errors import ParameterError
from ..images import validate_image
from ..maps import upsample_many
from ..models.loaded import ForwardPass, LoadedModel


def cam_maps(weights: torch.Tensor, features: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """CAM class maps of a batch, raw and min-max normalised, in one ``einsum``.

    Parameters
    ----------
    weights : (K, C) tensor
        Classifier weights.
    features : (N, C, h, w) tensor
        Feature maps of the batch.
    classes : (N, T) int64 tensor
        Classes to map for each image.

    Returns
    -------
    raw : (N, T, h, w) float32 tensor
        :math:`\\sum_k w_k^c f_k(x, y)`.
    normalised : (N, T, h, w) float32 tensor
        ``(M - min) / (max - min)`` per map; zeros where a map is constant.
    """
    w = weights.float()[classes.to(weights.device)]  # (N, T, C)
    raw = torch.einsum("ntc,nchw->nthw", w, features.float())
    lo = raw.amin(dim=(2, 3), keepdim=True)
    span = raw.amax(dim=(2, 3), keepdim=True) - lo
    normalised = torch.where(span > 0, (raw - lo) / torch.where(span > 0, span, 1), torch.zeros_like(raw))
    return raw, normalised


@register_explainer
class CAM(Explainer):
    """Class Activation Mapping.

    :math:`M_c(x, y) = \\sum_k w_k^c f_k(x, y)` at feature resolution, with
    :math:`w^c` the classifier's row for class ``c`` and :math:`f_k` the feature
    layer's channels; normalised to [0, 1] as ``(M - min) / (max - min)`` and
    upsampled bilinearly (half-pixel centres) to the image's own size. Exact for
    GAP + linear heads: the class score is the spatial mean of :math:`M_c` plus
    the bias.

    Batches are vectorised (``supports_batch``): the maps of every image and class
    are one ``einsum`` (:func:`cam_maps`).

    Examples
    --------
    >>> cam = get_explainer("cam")
    >>> [e] = cam.explain(model, image)          # doctest: +SKIP
    >>> e.saliency.shape == image.shape[:2]      # doctest: +SKIP
    True
    """

    name = "cam"
    title = "CAM"
    supports_batch = True

    def output_stem(self, image_stem: str, rank: int) -> str:
        """The tutorial's name: ``CAM_{stem}_{rank}``."""
        return f"CAM_{image_stem}_{rank}"

    def explain_forwards(
        self,
        model: LoadedModel,
        images: Sequence[np.ndarray],
        forwards: Sequence[ForwardPass],
        classes: Sequence[Sequence[int]],
        precomputed: Sequence[Mapping[str, Any]],
        features: torch.Tensor,
    ) -> list[list[Explanation]]:
        """A whole batch: vectorised maps; one upsampling call per image (or per batch on a GPU)."""
        t0 = time.perf_counter()
        lists = [list(c) for c in classes]
        depth = max(len(c) for c in lists)
        padded = torch.tensor([c + c[:1] * (depth - len(c)) for c in lists], dtype=torch.int64)
        weight, _ = model.classifier_weights()
        raw, normalised = cam_maps(weight, features, padded)
        sizes = {tuple(image.shape[:2]) for image in images}
        saliency: np.ndarray | list[np.ndarray]
        if normalised.device.type != "cpu" and len(sizes) == 1:
            size = sizes.pop()
            saliency = F.interpolate(normalised, size=size, mode="bilinear", align_corners=False).cpu().numpy()
        else:
            saliency = [upsample_many(normalised[i], image.shape[:2]) for i, image in enumerate(images)]
        raw_maps = raw.cpu().numpy()
        per_image = (time.perf_counter() - t0) / len(images)
        return [
            [
                make_explanation(
                    self,
                    model,
                    fp,
                    c,
                    raw_maps[i, j].copy(),
                    {**fp.timings, self.name: per_image},
                    saliency=np.ascontiguousarray(saliency[i][j]),
                )
                for j, c in enumerate(lists[i])
            ]
            for i, fp in enumerate(forwards)
        ]

    def explain(
        self,
        model: LoadedModel,
        image: np.ndarray,
        targets: Sequence[int] | int | None = None,
        topk: int = 1,
        *,
        forward: ForwardPass | None = None,
        **precomputed: Any,
    ) -> list[Explanation]:
        """As :meth:`Explainer.explain`; the maps of all target classes come from one einsum and one upsampling call.

        On a GPU that is one kernel and one copy back for all K classes instead of K of each.
        A subclass that changes ``channel_weights`` or ``build`` gets the base class's per-class path.
        """
        if type(self).channel_weights is not Explainer.channel_weights or type(self).build is not Explainer.build:
            return super().explain(model, image, targets, topk, forward=forward, **precomputed)
        image = validate_image(image)
        self.check_supports(model)
        if forward is not None and tuple(forward.image_size) != tuple(image.shape[:2]):
            raise ParameterError("`forward` was computed on an image of another size; pass the same image")
        forward = self.forward_pass(model, image, forward)
        self.prepare(model, image, forward, {}, **precomputed)  # refuses unexpected arguments
        classes = forward.select(targets, topk)
        [explanations] = self.explain_forwards(model, [image], [forward], [classes], [{}], forward.features[None])
        return explanations
