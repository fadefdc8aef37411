"""The model registry: ``models.yaml`` entries, how each network is built, and the loaded model."""

from .labels import imagenet_labels
from .loaded import ForwardPass, GapCheck, LoadedModel
from .registry import ModelRegistry, ModelSpec, default_registry_path, load_registry
from .build import from_network, load_model, weights_status

__all__ = [
    "ForwardPass",
    "from_network",
    "GapCheck",
    "LoadedModel",
    "ModelRegistry",
    "ModelSpec",
    "default_registry_path",
    "imagenet_labels",
    "load_model",
    "load_registry",
    "weights_status",
]
