"""The model registry and the loaded models, cached once per server process and shared by every session."""

from __future__ import annotations

import streamlit as st

import explainers
from explainers import LoadedModel
from explainers.models import ModelRegistry

from .. import APP_DIR


@st.cache_resource(ttl=60, show_spinner=False)
def registry() -> ModelRegistry:
    """The dashboard's registry (``models.yaml`` beside ``dashboard.py``, or ``$EXPLAINERS_MODELS``), re-read at most
    once a minute."""
    import os

    from explainers.models.registry import ENV_MODELS

    return explainers.load_registry(os.environ.get(ENV_MODELS) or APP_DIR / "models.yaml")


@st.cache_data(ttl=60, show_spinner=False)
def availability() -> dict[str, tuple[bool, str]]:
    """``name -> (weights available offline, detail)`` for every registry entry (no download tried)."""
    reg = registry()
    status = {name: explainers.weights_status(spec) for name, spec in reg.specs.items()}
    status.update({name: (False, f"invalid entry: {message}") for name, message in reg.errors.items()})
    return status


def usable() -> list[str]:
    """The registry's models whose weights are here, in registry order."""
    available = availability()
    return [name for name in registry().specs if available.get(name, (False,))[0]]


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
