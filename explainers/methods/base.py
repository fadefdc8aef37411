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

from ..errors import CamNotExactError, ParameterError
from ..explanation import Explanation
from ..images import validate_image
from ..maps import minmax, upsample
from ..models.loaded import ForwardPass, LoadedModel
from ..models.spec import ModelSpec
from ..parameters import Param
from ..registries import Declared, builtin, check_new, create

EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: make ``cls`` available to :func:`get_explainer` under ``cls.name``.

    Its declarations are checked here, so a broken method (built-in or plug-in) fails when it is
    registered, with its name, rather than when a user first picks it.

    Raises
    ------
    ValueError
        If ``cls`` is not an :class:`Explainer` subclass, has no ``name``, reuses a registered name,
        or declares parameters whose names repeat or whose defaults are outside their own range.
    """
    check_new(EXPLAINERS, cls, Explainer, "explainers.Explainer", "mycam", "explainer")
    EXPLAINERS[cls.name] = cls
    return cls


def get_explainer(name: str, **params: Any) -> Explainer:
    """An explainer by registered name, with its parameters validated.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists the known names) or a parameter is invalid.
    """
    return create(EXPLAINERS, name, "explainer", **params)


def list_explainers() -> list[str]:
    """Registered explainer names, built-ins first (in the order they were registered), then plug-ins."""
    return list(EXPLAINERS)


def builtin_explainers() -> list[str]:
    """The methods that ship with ``explainers`` (no plug-ins), in registration order: what runs by default."""
    return builtin(EXPLAINERS)


def make_explanation(
    explainer: Explainer,
    model: LoadedModel,
    forward: ForwardPass,
    class_index: int,
    class_map: np.ndarray,
    timings: Mapping[str, float],
    **fields: Any,
) -> Explanation:
    """The one place an :class:`Explanation` is built: the class facts come from ``forward``.

    Parameters
    ----------
    explainer : Explainer
        Gives ``method`` and ``params``.
    model : LoadedModel
    forward : ForwardPass
        The pass the class was explained from (probability, logit, rank).
    class_index : int
    class_map : (h, w) float ndarray
        The method's map before normalisation.
    timings : mapping of str -> float
    **fields
        ``saliency`` and, for superpixel methods, ``segments``, ``segment_ids``, ``segment_scores``,
        ``segment_areas``, ``mask``.
    """
    return Explanation(
        method=explainer.name,
        model=model.name,
        class_index=int(class_index),
        label=model.labels[class_index],
        probability=float(forward.probabilities[class_index]),
        logit=float(forward.logits[class_index]),
        rank=forward.rank_of(class_index),
        class_map=np.asarray(class_map, dtype=np.float32),
        params=dict(explainer.params),
        timings=dict(timings),
        **fields,
    )


class Explainer(Declared):
    """Base class of all explainers.

    Subclasses set ``name``, ``title`` and ``parameters`` (each checked by its
    :class:`~explainers.parameters.Param`), and override the step they change:
    ``channel_weights`` (how channels are weighed), ``prepare`` (work shared by
    every target, e.g. segmentation) or ``build`` (how the class map becomes the
    saliency). Abilities are declared, never inferred from the class:
    ``requires_exact_cam``, ``uses_superpixels``, ``supports_batch`` (a
    vectorised :meth:`explain_forwards`), ``precompute`` (per-image work a
    batch runs in worker threads).
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
    #: :meth:`explain_forwards` explains a whole batch at once (vectorised), not image by image.
    supports_batch: ClassVar[bool] = False
    #: parameter values that trade quality for speed where many photos are explained while a person
    #: waits (the dashboard's Batch page starts from them); the library's defaults stay ``defaults``.
    quick_params: ClassVar[Mapping[str, Any]] = {}
    #: the distribution the method came from: ``"explainers"`` for built-ins, the plug-in's package otherwise.
    source: ClassVar[str] = "explainers"

    def cost(self) -> int:
        """Images through the network to explain one photo (its own forward pass included).

        The unit of :mod:`explainers.progress` and of time estimates; a method that pushes perturbed
        copies through the model (LIME) counts them.
        """
        return 1

    # -- the public entry point -------------------------------------------------
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
        self.check_supports(model)
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
            results.append(
                make_explanation(self, model, forward, class_index, class_map.detach().cpu().numpy(), timings, **fields)
            )
        return results

    def explain_forwards(
        self,
        model: LoadedModel,
        images: Sequence[np.ndarray],
        forwards: Sequence[ForwardPass],
        classes: Sequence[Sequence[int]],
        precomputed: Sequence[Mapping[str, Any]],
        features: torch.Tensor,
    ) -> list[list[Explanation]]:
        """Explain a batch whose forward pass is done (:mod:`explainers.batched` calls it).

        The default explains image by image from each image's share of the batched pass;
        a method with ``supports_batch`` overrides it with a vectorised version.

        Parameters
        ----------
        model : LoadedModel
        images : sequence of (H, W, 3) uint8 ndarray
        forwards : sequence of ForwardPass
            One per image, slices of the batched pass.
        classes : sequence of sequence of int
            The classes to explain for each image.
        precomputed : sequence of dict
            What :meth:`precompute` returned for each image.
        features : (N, C, h, w) tensor
            The batch's feature maps (``forwards[i].features`` is ``features[i]``).

        Returns
        -------
        list of list of Explanation
        """
        return [
            self.explain(model, image, list(c), forward=fp, **extra)
            for image, fp, c, extra in zip(images, forwards, classes, precomputed)
        ]

    def precompute(self, image: np.ndarray) -> dict[str, Any]:
        """Per-image work that does not need the model, as ``explain``'s keyword arguments.

        Batches run it in worker threads while the network runs (SeCAM: its superpixels). Default: none.
        """
        return {}

    def output_stem(self, image_stem: str, rank: int) -> str:
        """File stem of one output picture/map (the CLI's ``explain``): ``{name}_{stem}_{rank}``."""
        return f"{self.name}_{image_stem}_{rank}"

    # -- steps a method may override ---------------------------------------------
    @classmethod
    def supports(cls, model: LoadedModel | ModelSpec) -> bool:
        """Whether this method can explain ``model`` (a loaded model, or a registry entry before loading).

        The one rule: a method that ``requires_exact_cam`` needs a GAP + linear head (``model.cam_exact``).
        """
        return not cls.requires_exact_cam or bool(model.cam_exact)

    @classmethod
    def check_supports(cls, model: LoadedModel | ModelSpec) -> None:
        """Raise :class:`~explainers.CamNotExactError` unless :meth:`supports`; the message lists what works.

        Raises
        ------
        CamNotExactError
            Naming the model, why its head does not qualify, and the registered methods that serve it.
        """
        if cls.supports(model):
            return
        check = getattr(model, "gap_check", None)
        why = check.detail if check is not None else "its registry entry says cam_exact: false"
        serving = [c.name for c in EXPLAINERS.values() if c.supports(model)]
        raise CamNotExactError(
            f"{cls.name} needs a model whose head is global average pooling + one linear layer, and "
            f"'{model.name}' is marked 'CAM not exact' ({why}); use one of {', '.join(serving) or 'none'} "
            "(gradient-based or perturbation methods) for this model"
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

    def prepare(
        self, model: LoadedModel, image: np.ndarray, forward: ForwardPass, timings: dict[str, float], **precomputed: Any
    ) -> Any:
        """Work shared by all targets of one call (e.g. segmentation); add its timing to ``timings``."""
        if precomputed:
            raise TypeError(f"{self.name}: explain() got unexpected arguments {sorted(precomputed)}")
        return None

    def build(
        self,
        model: LoadedModel,
        image: np.ndarray,
        class_map: torch.Tensor,
        context: Any,
        timings: dict[str, float],
        t0: float,
    ) -> dict[str, Any]:
        """Turn the class map into the Explanation's map fields. Default: CAM's min-max, then upsample."""
        saliency = upsample(minmax(class_map), image.shape[:2])
        timings[self.name] = time.perf_counter() - t0
        return {"saliency": saliency}
