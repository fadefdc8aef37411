"""The model registry: ``models.yaml`` entries, how each network is built, and the loaded model."""

from .labels import imagenet_class_from_name, imagenet_labels, imagenet_wnids
from .loaded import ForwardPass, GapCheck, LoadedModel
from .registry import ModelRegistry, ModelSpec, default_registry_path, load_registry
from .build import build_model, from_network, load_model
from .weights import SOURCES as WEIGHT_SOURCES, WeightSource, weights_size, weights_status

__all__ = [
    "ForwardPass",
    "WEIGHT_SOURCES",
    "WeightSource",
    "build_model",
    "weights_size",
    "from_network",
    "GapCheck",
    "LoadedModel",
    "ModelRegistry",
    "ModelSpec",
    "default_registry_path",
    "imagenet_class_from_name",
    "imagenet_labels",
    "imagenet_wnids",
    "load_model",
    "load_registry",
    "weights_status",
]
