"""Explain image classifiers with CAM and SeCAM.

Public API
----------
load_model(name)                          -> LoadedModel
get_explainer(name, **params)             -> Explainer ("cam", "secam", ...)
explainer.explain(model, image, targets=None, topk=1) -> list[Explanation]
load_image(path_or_bytes)                 -> (H, W, 3) uint8 RGB array
list_explainers(), plugin_errors()        -> the methods (built-ins, then plug-ins), plug-ins that failed
get_metric(name, **params).measure(model, images, maps, classes) -> Scores (explainers.metrics)
list_metrics(), metric_plugin_errors()    -> the metrics (built-ins, then plug-ins), plug-ins that failed

The library never imports Streamlit; the dashboard is a client of it. Methods and metrics from other
packages are loaded here, once, from the entry-point groups ``explainers.methods`` and
``explainers.metrics`` (see :mod:`explainers.plugins`).
"""

from .methods import EXPLAINERS, Condition, Explainer, get_explainer, list_explainers, register_explainer
from .parameters import Param
from .metrics import Metric, get_metric, list_metrics, register_metric
from .plugins import load_metric_plugins, load_plugins, metric_plugin_errors, plugin_errors
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
    "Metric",
    "ModelSpec",
    "Param",
    "ParameterError",
    "RegistryError",
    "WeightsUnavailableError",
    "from_network",
    "get_explainer",
    "get_metric",
    "list_explainers",
    "list_metrics",
    "load_image",
    "load_model",
    "load_metric_plugins",
    "load_plugins",
    "load_registry",
    "metric_plugin_errors",
    "plugin_errors",
    "progress",
    "region_scores",
    "register_explainer",
    "register_metric",
    "slic_reference",
    "slic_segments",
    "validate_image",
    "weights_status",
    "with_threshold",
]

load_plugins()
load_metric_plugins()
