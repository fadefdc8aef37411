"""One validated entry of the model registry (:class:`ModelSpec`): what every other part of ``models`` reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One validated ``models.yaml`` entry.

    Attributes
    ----------
    name : str
        Registry key, used everywhere (code, CLI, UI, tests).
    title : str
        Human-readable title.
    architecture_source, architecture : str
        ``"timm"`` or ``"torchvision"`` and the model name there.
    weights_source : str
        One of ``package``, ``torchvision``, ``timm``, ``file``, ``none``.
    weights : str or None
        The part after ``source:`` (package name, weights enum name, timm tag, path).
    num_classes, input_size : int
    labels : str or None
        ``"imagenet"``, a path to a label file, or None (``class 0``...).
    mean, std : tuple of 3 floats
        Normalisation applied after scaling pixels to [0, 1].
    feature_layer, classifier : str or None
        Module names; detected at load time when None.
    base_dir : Path
        Folder of the registry file; relative paths resolve against it.
    description : str
    cam_exact : bool
        What the registry expects of the GAP check: False for heads that are not GAP + linear
        (ConvNeXt's LayerNorm after the pooling), which CAM-based methods refuse and Grad-CAM serves.
    """

    name: str
    title: str
    architecture_source: str
    architecture: str
    weights_source: str
    weights: str | None
    num_classes: int
    labels: str | None
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_layer: str | None
    classifier: str | None
    base_dir: Path
    description: str = ""
    cam_exact: bool = True

    @property
    def source(self) -> str:
        """``architecture`` and ``weights`` as written in the registry."""
        weights = self.weights_source if self.weights is None else f"{self.weights_source}:{self.weights}"
        return f"{self.architecture_source}:{self.architecture} / weights {weights}"
