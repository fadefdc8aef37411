"""Explain image classifiers with CAM and SeCAM.

Public API
----------
load_model(name)                          -> LoadedModel
get_explainer(name, **params)             -> Explainer ("cam", "secam", ...)
explainer.explain(model, image, targets=None, topk=1) -> list[Explanation]
load_image(path_or_bytes)                 -> (H, W, 3) uint8 RGB array
list_explainers(), plugin_errors()        -> the methods (built-ins, then plug-ins), plug-ins that failed

The library never imports Streamlit; the dashboard is a client of it. Methods from other packages are
loaded here, once, from the entry-point group ``explainers.methods`` (see :mod:`explainers.plugins`).
"""

from .methods import EXPLAINERS, Condition, Explainer, get_explainer, list_explainers, register_explainer
from .parameters import Param
from .plugins import load_plugins, plugin_errors
from . import progress
from .errors import (
    Cancelled,
    CamNotExactError,
    ExplainersError,
    ImageError,
    ParameterError,
    RegistryError,
    WeightsUnavailableError,
)
from .explanation import Explanation
from .images import load_image, validate_image
from .models import ForwardPass, LoadedModel, ModelSpec, from_network, load_model, load_registry, weights_status
from .methods.secam import region_scores, slic_reference, slic_segments, with_threshold

__all__ = [
    "EXPLAINERS",
    "Cancelled",
    "CamNotExactError",
    "Condition",
    "Explainer",
    "ExplainersError",
    "Explanation",
    "ForwardPass",
    "ImageError",
    "LoadedModel",
    "ModelSpec",
    "Param",
    "ParameterError",
    "RegistryError",
    "WeightsUnavailableError",
    "from_network",
    "get_explainer",
    "list_explainers",
    "load_image",
    "load_model",
    "load_registry",
    "plugin_errors",
    "progress",
    "region_scores",
    "register_explainer",
    "slic_reference",
    "slic_segments",
    "validate_image",
    "weights_status",
    "with_threshold",
]

load_plugins()
