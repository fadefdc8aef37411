"""The explainer interface: a registry of methods and the base class that owns the shared machinery.

A method is a subclass of :class:`Explainer` with a ``name``, its default
parameters, and the one step it changes. The base class runs the single forward
pass, picks the target classes, computes the class map as a weighted sum of the
feature channels, and builds the :class:`Explanation`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from .errors import CamNotExactError, ParameterError
from .explanation import Explanation
from .images import validate_image
from .maps import minmax, upsample
from .models.loaded import ForwardPass, LoadedModel
from .parameters import Param

EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: make ``cls`` available to :func:`get_explainer` under ``cls.name``."""
    if cls.name in EXPLAINERS:
        raise ValueError(f"an explainer named '{cls.name}' is already registered")
    EXPLAINERS[cls.name] = cls
    return cls


def get_explainer(name: str, **params: Any) -> Explainer:
    """An explainer by registered name, with its parameters validated.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists the known names) or a parameter is invalid.
    """
    if name not in EXPLAINERS:
        raise ParameterError(f"unknown explainer '{name}'; known explainers: {', '.join(sorted(EXPLAINERS))}")
    return EXPLAINERS[name](**params)


def list_explainers() -> list[str]:
    """Registered explainer names."""
    return sorted(EXPLAINERS)


class Explainer:
    """Base class of all explainers.

    Subclasses set ``name`` and ``defaults``, validate parameters in
    ``_check_params``, and override the step they change: ``channel_weights``
    (how channels are weighed), ``prepare`` (work shared by every target, e.g.
    segmentation) or ``build`` (how the class map becomes the saliency).
    """

    name: ClassVar[str] = ""
    #: the label people read (dashboard, reports): "SeCAM"; defaults to ``name``.
    title: ClassVar[str] = ""
    #: every parameter, declared once (name, type, default, range, help); ``__init__`` accepts exactly these.
    parameters: ClassVar[tuple[Param, ...]] = ()
    #: parameters and their defaults, derived from ``parameters``.
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: refuse models whose head is not GAP + linear (CAM would not be exact).
    requires_exact_cam: ClassVar[bool] = True
    #: its explanations carry superpixels (``segments``, ``segment_scores``, ``mask``) and it accepts ``segments=``.
    uses_superpixels: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "parameters" in cls.__dict__:
            cls.defaults = {p.name: p.default for p in cls.parameters}
        if not cls.__dict__.get("title"):
            cls.title = cls.name

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            known = ", ".join(self.defaults) or "none"
            raise ParameterError(f"{self.name}: unknown parameter '{unknown[0]}'; parameters: {known}")
        merged = {**self.defaults, **params}
        self._check_params(merged)
        self.params: Mapping[str, Any] = merged

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def _check_params(self, params: dict[str, Any]) -> None:
        """Validate (and coerce) ``params`` in place; raise ParameterError/TypeError with the valid range."""
        for param in self.parameters:
            params[param.name] = param.check(params[param.name])

    # -- the public entry point -------------------------------------------------
    def explain(self, model: LoadedModel, image: np.ndarray, targets: Sequence[int] | int | None = None,
                topk: int = 1, *, forward: ForwardPass | None = None, **precomputed: Any) -> list[Explanation]:
        """Explain ``image`` for each target class, from one forward pass.

        Parameters
        ----------
        model : LoadedModel
            From :func:`explainers.load_model`.
        image : (H, W, 3) uint8 ndarray
            RGB image; it is not modified.
        targets : int or sequence of int, optional
            Classes to explain (any class of the model). Default: the top ``topk``.
        topk : int
            Number of top classes to explain when ``targets`` is None, in [1, K].
        forward : ForwardPass, optional
            A forward pass of this model on this image, to reuse (the dashboard caches it).
        **precomputed
            Method-specific shared work to reuse, e.g. SeCAM's ``segments``.

        Returns
        -------
        list of Explanation
            One per target class, in the order of ``targets`` (or rank order).

        Raises
        ------
        CamNotExactError
            If the method needs a GAP + linear head and the model has another.
        ParameterError, ImageError, TypeError
            On invalid targets, topk or image.
        """
        image = validate_image(image)
        self._check_model(model)
        if forward is not None and tuple(forward.image_size) != tuple(image.shape[:2]):
            raise ParameterError("`forward` was computed on an image of another size; pass the same image")
        forward = self.forward_pass(model, image, forward)
        classes = forward.select(targets, topk)
        shared_timings = dict(forward.timings)
        context = self.prepare(model, image, forward, shared_timings, **precomputed)
        results = []
        for class_index in classes:
            timings = dict(shared_timings)
            t0 = time.perf_counter()
            class_map = self.class_map(model, forward, class_index)
            fields = self.build(model, image, class_map, context, timings, t0)
            results.append(Explanation(
                method=self.name,
                model=model.name,
                class_index=class_index,
                label=model.labels[class_index],
                probability=float(forward.probabilities[class_index]),
                logit=float(forward.logits[class_index]),
                rank=forward.rank_of(class_index),
                class_map=class_map.detach().cpu().numpy().astype(np.float32),
                params=dict(self.params),
                timings=timings,
                **fields,
            ))
        return results

    # -- steps a method may override ---------------------------------------------
    def _check_model(self, model: LoadedModel) -> None:
        if self.requires_exact_cam and not model.cam_exact:
            raise CamNotExactError(
                f"{self.name} needs a model whose head is global average pooling + one linear layer, "
                f"and '{model.name}' is marked 'CAM not exact': {model.gap_check.detail}. "
                "Use a gradient-based method for this model"
            )

    def forward_pass(self, model: LoadedModel, image: np.ndarray, forward: ForwardPass | None) -> ForwardPass:
        """The forward pass the method works from: ``forward`` when given, else ``model.forward(image)``.

        A method that needs more than the inference-mode pass overrides this
        (Grad-CAM: a pass that keeps the autograd graph; LIME: the perturbed copies).
        """
        return model.forward(image) if forward is None else forward

    def channel_weights(self, model: LoadedModel, forward: ForwardPass, class_index: int) -> torch.Tensor:
        """``(C,)`` weight of each feature channel for ``class_index``: CAM's :math:`w_k^c`."""
        weight, _ = model.classifier_weights()
        return weight[class_index].float()

    def class_map(self, model: LoadedModel, forward: ForwardPass, class_index: int) -> torch.Tensor:
        """``(h, w)`` map :math:`\\sum_k \\mathrm{weight}_k f_k(x, y)` at feature resolution."""
        weights = self.channel_weights(model, forward, class_index).to(forward.features.device)
        return torch.einsum("c,chw->hw", weights, forward.features.float())

    def prepare(self, model: LoadedModel, image: np.ndarray, forward: ForwardPass,
                timings: dict[str, float], **precomputed: Any) -> Any:
        """Work shared by all targets of one call (e.g. segmentation); add its timing to ``timings``."""
        if precomputed:
            raise TypeError(f"{self.name}: explain() got unexpected arguments {sorted(precomputed)}")
        return None

    def build(self, model: LoadedModel, image: np.ndarray, class_map: torch.Tensor, context: Any,
              timings: dict[str, float], t0: float) -> dict[str, Any]:
        """Turn the class map into the Explanation's map fields. Default: CAM's min-max, then upsample."""
        saliency = upsample(minmax(class_map), image.shape[:2])
        timings[self.name] = time.perf_counter() - t0
        return {"saliency": saliency}


def check_int(params: dict, key: str, low: int, high: int | None = None) -> None:
    """Validate an integer parameter in ``[low, high]``; both messages state the valid range."""
    value = params[key]
    rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{key}` must be an int {rng}, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        raise ParameterError(f"`{key}` must be {rng}, got {value}")
    params[key] = int(value)


def check_float(params: dict, key: str, low: float, high: float | None = None, low_open: bool = False) -> None:
    """Validate a finite real parameter in ``[low, high]`` (``(low, ...`` when ``low_open``); messages state the range."""
    value = params[key]
    left = "(" if low_open else "["
    rng = f"in {left}{low}, {high}]" if high is not None else ("> " if low_open else ">= ") + str(low)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{key}` must be a number {rng}, got {type(value).__name__} {value!r}")
    value = float(value)
    bad = not np.isfinite(value) or (value <= low if low_open else value < low) or (high is not None and value > high)
    if bad:
        raise ParameterError(f"`{key}` must be {rng}, got {params[key]}")
    params[key] = value
