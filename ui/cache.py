"""Every cached computation of the dashboard, for ANY registered explainer.

A Streamlit rerun (any widget change) runs the page script again, so nothing
heavy may happen in it unless cached:

* the model: ``st.cache_resource`` (one copy shared by every user; the library's
  ``LoadedModel.lock`` serialises the hooks);
* the forward pass: per ``(model, photo)``;
* superpixels (SLIC): per ``(photo, n_segments, compactness, slic_max_side)``, computed once
  and handed to every method that accepts ``segments=`` (see :func:`explanations`);
* explanations: per ``(model, photo, method, the method's parameters, classes)``.

A method's mask threshold is applied after the cache (``explainers.with_threshold``),
and the colour scale, the opacity and the normalisation are applied by the
figures, so moving those sliders never runs the model or SLIC again. Cached values
are shared between sessions: arrays are made read-only.

Sizes are bounded (``max_entries``, and an hour's ``ttl`` for anything that
holds full-resolution arrays), so a shared server's memory stays bounded.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

import explainers
from explainers import Explanation, ForwardPass, LoadedModel

#: Parameters every method that declares them shares with the sidebar and the page (one value per session).
SHARED_PARAMS = ("n_segments", "compactness", "threshold", "slic_max_side")
#: Applied after the cache (re-masking is cheap), so it is not part of an explanation's cache key.
AFTER_CACHE = ("threshold",)


def _declared_default(param: str, fallback: Any = None) -> Any:
    """The default of ``param`` as the first registered method that declares it says (e.g. ``slic_max_side``)."""
    for name in explainers.list_explainers():
        defaults = explainers.EXPLAINERS[name].defaults
        if param in defaults:
            return defaults[param]
    return fallback


#: The library's default long side of SLIC's working copy (0 would mean full resolution).
SLIC_MAX_SIDE = int(_declared_default("slic_max_side", 0) or 0)


@dataclasses.dataclass(frozen=True)
class Condition:
    """One side of a comparison: a model and a method with its parameters.

    Attributes
    ----------
    model_name : str
        Registry name.
    method : str
        Registered explainer name.
    params : tuple of (str, value)
        The method's parameters, sorted by name (hashable: part of cache keys).
    """

    model_name: str
    method: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def title(self) -> str:
        """``SeCAM`` (the method's title)."""
        cls = explainers.EXPLAINERS.get(self.method)
        return cls.title if cls is not None else self.method

    @property
    def uses_superpixels(self) -> bool:
        cls = explainers.EXPLAINERS.get(self.method)
        return bool(cls is not None and cls.uses_superpixels)

    def label(self, with_model: bool = True) -> str:
        """``SeCAM`` or ``SeCAM on efficientnet_lite0``."""
        return f"{self.title} on {self.model_name}" if with_model else self.title


def make_condition(model_name: str, method: str, shared: Mapping[str, Any],
                   extra: Mapping[str, Any] | None = None) -> Condition:
    """The condition for ``method``: its declared defaults, the session's ``shared`` values, then ``extra``.

    Raises
    ------
    explainers.ParameterError
        If ``method`` is not registered (the message lists the known methods) or a value is out of range.
    """
    if method not in explainers.EXPLAINERS:
        raise explainers.ParameterError(f"unknown method '{method}'; pick one of {', '.join(explainers.list_explainers())}")
    cls = explainers.EXPLAINERS[method]
    params = dict(cls.defaults)
    params.update({k: v for k, v in shared.items() if k in params})
    params.update({k: v for k, v in (extra or {}).items() if k in params})
    explainers.get_explainer(method, **params)  # validates every value (raises with the allowed range)
    return Condition(model_name, method, tuple(sorted(params.items())))


# -- registry and models ------------------------------------------------------------------
@st.cache_resource(ttl=60, show_spinner=False)
def registry() -> explainers.models.ModelRegistry:
    """``models.yaml``, re-read at most once a minute."""
    return explainers.load_registry()


@st.cache_data(ttl=60, show_spinner=False)
def availability() -> dict[str, tuple[bool, str]]:
    """``name -> (weights available offline, detail)`` for every registry entry (no download tried)."""
    reg = registry()
    status = {name: explainers.weights_status(spec) for name, spec in reg.specs.items()}
    status.update({name: (False, f"invalid entry: {message}") for name, message in reg.errors.items()})
    return status


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def get_model(name: str) -> LoadedModel:
    """The registry model ``name``, built once per server process and shared by every session."""
    return explainers.load_model(name, registry=registry())


def device_label(model: LoadedModel) -> str:
    """``CPU`` or ``GPU (cuda:0, <name>)``."""
    if model.device.type == "cuda":
        import torch

        return f"GPU ({model.device}, {torch.cuda.get_device_name(model.device)})"
    return model.device.type.upper()


@st.cache_data(max_entries=16, show_spinner="Loading and checking the model...")
def model_facts(name: str) -> dict:
    """What the Models page shows about a loaded model: layers, GAP check, parameters, feature map size."""
    import torch

    model = get_model(name)
    probe = torch.zeros(1, 3, model.input_size, model.input_size)
    _, features = model.forward_batch(probe)
    check = model.gap_check
    return {"feature_layer": model.feature_layer, "classifier": model.classifier,
            "gap_exact": bool(check.exact), "gap_max_error": float(check.max_error),
            "gap_tolerance": float(check.tolerance), "gap_detail": check.detail,
            "parameters": int(model.num_parameters), "feature_shape": tuple(int(d) for d in features.shape[1:]),
            "device": device_label(model), "num_classes": int(model.num_classes)}


# -- the computations ---------------------------------------------------------------------
def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if isinstance(array, np.ndarray):
        array.flags.writeable = False
    return array


@st.cache_resource(max_entries=32, ttl=3600, show_spinner="Running the model...")
def forward_pass(model_name: str, image_key: str, _model: LoadedModel, _image: np.ndarray) -> ForwardPass:
    """One forward pass per (model, photo), at the photo's full resolution."""
    return _model.forward(_image)


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Computing superpixels (SLIC)...")
def superpixels(image_key: str, params: tuple[tuple[str, Any], ...], _method: str, _image: np.ndarray):
    """Superpixels as ``_method`` computes them (its ``segment``), once per photo and SLIC setting ``params``.

    The key holds only the SLIC parameters, not the method, so every method that
    accepts ``segments=`` shares one segmentation per setting.
    """
    segmentation = explainers.get_explainer(_method, **dict(params)).segment(_image)
    _frozen(getattr(segmentation, "full", None))
    return segmentation


def _slic_key(condition: Condition) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in condition.params if k in SHARED_PARAMS and k not in AFTER_CACHE)


def superpixels_of(condition: Condition, image_key: str, image: np.ndarray):
    """The cached superpixels a superpixel ``condition`` works on (``.full`` labels, ``.working``, ``.seconds``)."""
    return superpixels(image_key, _slic_key(condition), condition.method, image)


def _accepts_segments(explainer: explainers.Explainer) -> bool:
    return hasattr(explainer, "segment") and "segments" in inspect.signature(explainer.explain).parameters


@st.cache_resource(max_entries=24, ttl=3600, show_spinner="Explaining...")
def _explanations(condition: Condition, image_key: str, classes: tuple[int, ...], _model: LoadedModel,
                  _image: np.ndarray) -> list[Explanation]:
    explainer = explainers.get_explainer(condition.method, **dict(condition.params))
    forward = forward_pass(condition.model_name, image_key, _model, _image)
    precomputed = {}
    if _accepts_segments(explainer):  # one SLIC per photo and setting, shared by every method that takes it
        precomputed["segments"] = superpixels(image_key, _slic_key(condition), condition.method, _image)
    found = explainer.explain(_model, _image, list(classes), forward=forward, **precomputed)
    for explanation in found:
        for field in ("saliency", "class_map", "segments", "mask"):
            _frozen(getattr(explanation, field))
    return found


def explanations(condition: Condition, image_key: str, image: np.ndarray, classes: Sequence[int],
                 threshold: float | None = None) -> list[Explanation]:
    """The explanations of ``classes`` by ``condition`` (cached), each mask at ``threshold``.

    Parameters
    ----------
    condition : Condition
    image_key : str
        ``sample:<name>`` or ``upload:<sha1>``: identifies ``image`` in the caches.
    image : (H, W, 3) uint8 ndarray
    classes : sequence of int
    threshold : float, optional
        Re-mask superpixel explanations (no model, no SLIC); default: the condition's own.

    Returns
    -------
    list of Explanation
        One per class, in the order of ``classes``.

    Raises
    ------
    explainers.ExplainersError
        E.g. ``CamNotExactError`` when the method needs a GAP + linear head the model lacks.
    """
    model = get_model(condition.model_name)
    keyed = Condition(condition.model_name, condition.method,
                      tuple((k, v) for k, v in condition.params if k not in AFTER_CACHE))
    cls = explainers.EXPLAINERS[condition.method]
    for name in AFTER_CACHE:  # the cache runs with the method's default; the value is applied below
        if name in cls.defaults:
            keyed = Condition(keyed.model_name, keyed.method, tuple(sorted((*keyed.params, (name, cls.defaults[name])))))
    found = _explanations(keyed, image_key, tuple(int(c) for c in classes), model, image)
    if threshold is None:
        threshold = dict(condition.params).get("threshold")
    if threshold is not None:
        found = [explainers.with_threshold(e, threshold) if e.segment_scores is not None else e for e in found]
    return list(found)


def clear_caches() -> None:
    """Drop every cached model, image, result and measurement (tests; an operator after editing models.yaml)."""
    from . import faithfulness

    st.cache_resource.clear()
    st.cache_data.clear()
    faithfulness.clear()
