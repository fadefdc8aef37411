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
    """The registry model ``name``, built once per server process and shared by every session.

    Loading also measures its speed on this server (one batch), where the time estimates start.
    """
    model = explainers.load_model(name, registry=registry())
    _SECONDS_PER_IMAGE[name] = _measure_speed(model)
    return model


#: Seconds per image of each loaded model in a full batch on this server (where time estimates start).
_SECONDS_PER_IMAGE: dict[str, float] = {}


def _measure_speed(model: LoadedModel) -> float:
    import time

    import torch

    from explainers.models.loaded import MAX_FORWARD_IMAGES

    batch = torch.zeros(MAX_FORWARD_IMAGES[model.device.type == "cuda"], 3, model.input_size, model.input_size)
    model.forward_batch(batch[:2])  # warm up
    t0 = time.perf_counter()
    model.forward_batch(batch)
    return (time.perf_counter() - t0) / batch.shape[0]


def seconds_per_image(name: str) -> float:
    """Seconds per image of ``name`` in a full batch, measured when the model was loaded on this server."""
    if name not in _SECONDS_PER_IMAGE:
        get_model(name)
    return _SECONDS_PER_IMAGE.get(name) or _measure_speed(get_model(name))


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
