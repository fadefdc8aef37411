"""Explain image classifiers with CAM and SeCAM.

Public API
----------
load_model(name)                          -> LoadedModel
get_explainer(name, **params)             -> Explainer ("cam", "secam", ...)
explainer.explain(model, image, targets=None, topk=1) -> list[Explanation]
load_image(path_or_bytes)                 -> (H, W, 3) uint8 RGB array

The library never imports Streamlit; the dashboard is a client of it.
"""

from . import cam as _cam  # noqa: F401  (registers "cam")
from . import secam as _secam  # noqa: F401  (registers "secam")
from . import gradcam as _gradcam  # noqa: F401  (registers "gradcam")
from . import lime_explainer as _lime  # noqa: F401  (registers "lime")
from .base import EXPLAINERS, Explainer, get_explainer, list_explainers, register_explainer
from .errors import (
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
from .secam import region_scores, slic_segments, with_threshold

__all__ = [
    "EXPLAINERS",
    "CamNotExactError",
    "Explainer",
    "ExplainersError",
    "Explanation",
    "ForwardPass",
    "ImageError",
    "LoadedModel",
    "ModelSpec",
    "ParameterError",
    "RegistryError",
    "WeightsUnavailableError",
    "from_network",
    "get_explainer",
    "list_explainers",
    "load_image",
    "load_model",
    "load_registry",
    "region_scores",
    "register_explainer",
    "slic_segments",
    "validate_image",
    "weights_status",
    "with_threshold",
]
