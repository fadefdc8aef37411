"""Grad-CAM: gradient-weighted class activation mapping (Selvaraju et al., 2017)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from .base import Explainer, register_explainer
from ..models.loaded import ForwardPass, LoadedModel


@dataclasses.dataclass(frozen=True, eq=False)
class GradientForwardPass(ForwardPass):
    """A :class:`ForwardPass` that also keeps the autograd graph from the feature map to the logits.

    Attributes
    ----------
    graph_logits : (K,) float tensor on the model's device
        The logits, still attached to the graph.
    graph_features : (1, C, h, w) tensor on the model's device
        The feature layer's output the graph starts from (``features`` is its detached copy).
    """

    graph_logits: torch.Tensor
    graph_features: torch.Tensor


def gradient_forward(model: LoadedModel, image: np.ndarray) -> GradientForwardPass:
    """One forward pass of ``image`` with autograd on, keeping the graph for later gradients.

    The model's lock is held and the feature hook attached only during the pass
    (``LoadedModel.capture_features`` removes it in ``finally``); the graph it
    leaves needs neither.

    Parameters
    ----------
    model : LoadedModel
    image : (H, W, 3) uint8 ndarray

    Returns
    -------
    GradientForwardPass
    """
    t0 = time.perf_counter()
    # outside inference mode even when the caller is in it (clone: its tensors cannot join a graph)
    with torch.inference_mode(False), torch.enable_grad():
        x = model.preprocess(image)[None].to(model.device).clone()
        # the input requires grad so a graph exists even when the network's parameters are frozen
        x.requires_grad_(True)
        t1 = time.perf_counter()
        with model.capture_features() as store:
            logits = model.network(x)
            features = store["features"]
        flat = logits[0].float()
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    t2 = time.perf_counter()
    detached = flat.detach().cpu()
    return GradientForwardPass(
        logits=detached,
        probabilities=torch.softmax(detached, dim=0),
        features=features[0].detach().float(),
        image_size=(int(image.shape[0]), int(image.shape[1])),
        timings={"preprocess": t1 - t0, "forward": t2 - t1},
        graph_logits=flat,
        graph_features=features,
    )


@register_explainer
class GradCAM(Explainer):
    """Grad-CAM.

    The weight of channel :math:`k` for class :math:`c` is the spatial mean of
    the gradient of the class's logit with respect to the feature map,
    :math:`\\alpha_k^c = \\frac{1}{hw} \\sum_{x, y} \\partial y^c / \\partial f_k(x, y)`;
    the map is :math:`\\mathrm{ReLU}(\\sum_k \\alpha_k^c f_k)` at feature
    resolution, then normalised and upsampled exactly as CAM (min-max, bilinear
    to the image's own size). ``class_map`` holds the map after the ReLU.

    Unlike CAM it needs no particular head, so it also serves models marked
    "CAM not exact". For a GAP + linear head, :math:`y^c = \\frac{1}{hw}
    \\sum_{x,y} \\sum_k w_k^c f_k(x, y) + b^c`, so :math:`\\alpha_k^c = w_k^c / (hw)`:
    the weights are CAM's divided by the number of feature cells.

    The forward pass keeps its autograd graph (the base pass runs in inference
    mode and has none), so a ``forward`` passed to ``explain`` is ignored unless
    it came from :func:`gradient_forward`. One backward pass per target class,
    through the graph of that one forward pass.

    Examples
    --------
    >>> gradcam = get_explainer("gradcam")
    >>> [e] = gradcam.explain(model, image)      # doctest: +SKIP
    """

    name = "gradcam"
    title = "Grad-CAM"
    requires_exact_cam = False

    def forward_pass(self, model: LoadedModel, image: np.ndarray, forward: ForwardPass | None) -> ForwardPass:
        """A forward pass that keeps the graph (a cached inference-mode pass has none to differentiate)."""
        if isinstance(forward, GradientForwardPass):
            return forward
        return gradient_forward(model, image)

    def channel_weights(self, model: LoadedModel, forward: ForwardPass, class_index: int) -> torch.Tensor:
        """``(C,)`` spatial mean of :math:`\\partial y^c / \\partial f_k`."""
        if not isinstance(forward, GradientForwardPass):
            raise TypeError("Grad-CAM's weights need the pass of gradient_forward (it keeps the autograd graph)")
        with torch.inference_mode(False), torch.enable_grad():
            (grads,) = torch.autograd.grad(forward.graph_logits[class_index], forward.graph_features, retain_graph=True)
        return grads[0].float().mean(dim=(1, 2))

    def class_map(self, model: LoadedModel, forward: ForwardPass, class_index: int) -> torch.Tensor:
        """``(h, w)`` map :math:`\\mathrm{ReLU}(\\sum_k \\alpha_k^c f_k)`."""
        return torch.relu(super().class_map(model, forward, class_index))
