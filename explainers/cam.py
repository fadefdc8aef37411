"""CAM: Class Activation Mapping (Zhou et al., 2016)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .base import Explainer, register_explainer
from .errors import ParameterError
from .explanation import Explanation
from .images import validate_image
from .maps import upsample_many
from .models.loaded import ForwardPass, LoadedModel


@register_explainer
class CAM(Explainer):
    """Class Activation Mapping.

    :math:`M_c(x, y) = \\sum_k w_k^c f_k(x, y)` at feature resolution, with
    :math:`w^c` the classifier's row for class ``c`` and :math:`f_k` the feature
    layer's channels; normalised to [0, 1] as ``(M - min) / (max - min)`` and
    upsampled bilinearly (half-pixel centres) to the image's own size. Exact for
    GAP + linear heads: the class score is the spatial mean of :math:`M_c` plus
    the bias.

    Examples
    --------
    >>> cam = get_explainer("cam")
    >>> [e] = cam.explain(model, image)          # doctest: +SKIP
    >>> e.saliency.shape == image.shape[:2]      # doctest: +SKIP
    True
    """

    name = "cam"
    defaults = {}

    def explain(self, model: LoadedModel, image: np.ndarray, targets: Sequence[int] | int | None = None,
                topk: int = 1, *, forward: ForwardPass | None = None, **precomputed: Any) -> list[Explanation]:
        """As :meth:`Explainer.explain`; the maps of all target classes come from one einsum and one upsampling call.

        On a GPU that is one kernel and one copy back for all K classes instead of
        K of each (top-5 was 1.24x the forward pass with one call per class).
        """
        from .batch import cam_maps

        if type(self).channel_weights is not Explainer.channel_weights or type(self).build is not Explainer.build:
            return super().explain(model, image, targets, topk, forward=forward, **precomputed)
        image = validate_image(image)
        self._check_model(model)
        if forward is not None and tuple(forward.image_size) != tuple(image.shape[:2]):
            raise ParameterError("`forward` was computed on an image of another size; pass the same image")
        self.prepare(model, image, forward, {}, **precomputed)  # refuses unexpected arguments
        forward = self.forward_pass(model, image, forward)
        classes = forward.select(targets, topk)
        t0 = time.perf_counter()
        weight, _ = model.classifier_weights()
        index = torch.tensor([classes], dtype=torch.int64)
        raw, normalised = cam_maps(weight, forward.features[None], index)
        saliency = upsample_many(normalised[0], image.shape[:2])
        raw = raw[0].cpu().numpy()
        per_class = (time.perf_counter() - t0) / len(classes)
        return [Explanation(
            method=self.name, model=model.name, class_index=c, label=model.labels[c],
            probability=float(forward.probabilities[c]), logit=float(forward.logits[c]), rank=forward.rank_of(c),
            class_map=raw[j].astype(np.float32, copy=True), params=dict(self.params),
            timings={**forward.timings, self.name: per_class}, saliency=saliency[j],
        ) for j, c in enumerate(classes)]
