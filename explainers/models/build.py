"""Build a registry entry into a :class:`LoadedModel`: architecture, weights (:mod:`.weights`), labels, checks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import RegistryError, WeightsUnavailableError
from .labels import read_labels
from .loaded import LoadedModel, check_gap, detect_layers
from .registry import ModelRegistry, load_registry
from .spec import ModelSpec
from .weights import read_state_dict, source_of, weights_size, weights_status  # noqa: F401  (public here too)

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else ``$EXPLAINERS_DEVICE``, else CUDA when present, else CPU."""
    device = device or os.environ.get("EXPLAINERS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(
    name: str, registry: ModelRegistry | str | os.PathLike | None = None, device: str | torch.device | None = None
) -> LoadedModel:
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
    try:
        return build_model(registry.get(name), device)
    except WeightsUnavailableError as exc:
        offline = offline_models(registry)
        if not offline or "works offline" not in str(exc):
            raise
        raise WeightsUnavailableError(f"{exc}: {', '.join(offline)}") from None


def build_model(spec: ModelSpec, device: str | torch.device | None = None) -> LoadedModel:
    """Build one registry entry: network and weights, layers found, GAP check done.

    Parameters
    ----------
    spec : ModelSpec
        A parsed entry (``dataclasses.replace(spec, weights_source="none", weights=None)`` builds the
        architecture with random weights, as the registry's test does).
    device : str or torch.device, optional

    Returns
    -------
    LoadedModel

    Raises
    ------
    RegistryError, WeightsUnavailableError
        As :func:`load_model`.
    """
    device = resolve_device(device)
    labels = read_labels(spec.labels, spec.num_classes, spec.base_dir, spec.name)
    network = build_network(spec)
    network.eval().to(device)
    try:
        feature_layer, classifier = detect_layers(
            network, spec.input_size, spec.num_classes, spec.feature_layer, spec.classifier
        )
    except (ValueError, AttributeError) as exc:
        raise RegistryError(f"model '{spec.name}': {exc}") from None
    if spec.feature_layer is None or spec.classifier is None:
        log.info("model %s: feature layer %s, classifier %s (detected)", spec.name, feature_layer, classifier)
    model = LoadedModel(
        spec=spec, network=network, labels=labels, device=device, feature_layer=feature_layer, classifier=classifier
    )
    model.gap_check = check_gap(model)
    if model.gap_check.exact != spec.cam_exact:
        log.warning(
            "model %s: the registry says CAM is %s, the GAP check says %s: %s",
            spec.name,
            "exact" if spec.cam_exact else "not exact",
            "exact" if model.gap_check.exact else "not exact",
            model.gap_check.detail,
        )
    elif not model.gap_check.exact:
        log.info("model %s: CAM not exact (as the registry says): %s", spec.name, model.gap_check.detail)
    return model


def build_network(spec: ModelSpec) -> nn.Module:
    """The network of ``spec`` with its weights loaded by its weight source (random when ``weights: none``)."""
    return source_of(spec).load(spec, _create)


def _create(spec: ModelSpec) -> nn.Module:
    if spec.architecture_source == "timm":
        import timm

        return timm.create_model(spec.architecture.split(".")[0], pretrained=False, num_classes=spec.num_classes)
    import torchvision.models as tvm

    return tvm.get_model(spec.architecture, weights=None, num_classes=spec.num_classes)


def offline_models(registry: ModelRegistry | None = None) -> list[str]:
    """Names of the registry entries whose weights load without network."""
    try:
        registry = registry or load_registry()
    except RegistryError:
        return []
    return [n for n, s in registry.specs.items() if weights_status(s)[0] and s.weights_source != "none"]


def from_network(
    network: nn.Module,
    *,
    name: str = "custom",
    input_size: int = 224,
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    std: tuple[float, float, float] = (1.0, 1.0, 1.0),
    labels: list[str] | None = None,
    feature_layer: str | None = None,
    classifier: str | None = None,
    device: str | torch.device | None = None,
) -> LoadedModel:
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
            num_classes = int(network.get_submodule(classifier).out_features)  # type: ignore[arg-type]
        elif linears:
            num_classes = linears[-1].out_features
        else:
            raise ValueError("cannot infer the number of classes; pass `labels` or `classifier`")
        labels = [f"class {i}" for i in range(num_classes)]
    spec = ModelSpec(
        name=name,
        title=name,
        architecture_source="custom",
        architecture=type(network).__name__,
        weights_source="none",
        weights=None,
        num_classes=len(labels),
        labels=None,
        input_size=input_size,
        mean=(mean[0], mean[1], mean[2]),
        std=(std[0], std[1], std[2]),
        feature_layer=feature_layer,
        classifier=classifier,
        base_dir=Path.cwd(),
    )
    feature_layer, classifier = detect_layers(network, input_size, len(labels), feature_layer, classifier)
    model = LoadedModel(
        spec=spec,
        network=network,
        labels=tuple(labels),
        device=device,
        feature_layer=feature_layer,
        classifier=classifier,
    )
    model.gap_check = check_gap(model)
    return model
