"""Parse and validate ``models.yaml``.

A malformed entry is recorded in :attr:`ModelRegistry.errors` with a message that
names the entry and the field; the other entries still load. Only architectures
of torchvision and timm can be named: never an import path.
"""

from __future__ import annotations

import dataclasses
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from ..errors import RegistryError
from .spec import ModelSpec
from .weights import SOURCES

__all__ = ["ModelRegistry", "ModelSpec", "default_registry_path", "load_registry"]

ARCHITECTURE_SOURCES = ("timm", "torchvision")
_KNOWN_FIELDS = {
    "title",
    "architecture",
    "weights",
    "num_classes",
    "labels",
    "input_size",
    "mean",
    "std",
    "feature_layer",
    "classifier",
    "description",
    "cam_exact",
}


#: Environment variable naming another registry file.
ENV_MODELS = "EXPLAINERS_MODELS"


def default_registry_path() -> Path:
    """``$EXPLAINERS_MODELS`` if set, else the registry that ships with the package (``models.yaml`` here).

    The project's top-level ``models.yaml`` (the dashboard's registry) is that same file.
    """
    env = os.environ.get(ENV_MODELS)
    if env:
        return Path(env)
    return Path(str(files(__package__).joinpath("models.yaml")))


@dataclasses.dataclass
class ModelRegistry:
    """The parsed registry: valid entries in file order, and one message per broken entry."""

    path: Path
    specs: dict[str, ModelSpec]
    errors: dict[str, str]

    def get(self, name: str) -> ModelSpec:
        """The spec called ``name``; raises :class:`RegistryError` listing the known names."""
        if name in self.specs:
            return self.specs[name]
        if name in self.errors:
            raise RegistryError(self.errors[name])
        known = ", ".join(self.specs) or "(none)"
        raise RegistryError(f"unknown model '{name}'; known models in {self.path}: {known}")

    @property
    def names(self) -> list[str]:
        return list(self.specs)


def load_registry(path: str | os.PathLike | None = None) -> ModelRegistry:
    """Read a registry file.

    Parameters
    ----------
    path : path, optional
        The YAML file; defaults to :func:`default_registry_path`.

    Returns
    -------
    ModelRegistry

    Raises
    ------
    RegistryError
        If the file is missing, is not valid YAML, or has no ``models:`` mapping.
        Errors inside one entry do not raise: they are kept in ``errors``.
    """
    path = Path(path) if path is not None else default_registry_path()
    if not path.is_file():
        raise RegistryError(f"model registry {path} not found; create it or set EXPLAINERS_MODELS to its path")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise RegistryError(f"model registry {path} is not valid YAML{line}; fix the syntax") from None
    except UnicodeDecodeError:
        raise RegistryError(f"model registry {path} is not UTF-8 text") from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), dict):
        raise RegistryError(f"model registry {path} must have a top-level 'models:' mapping of name -> entry")
    specs: dict[str, ModelSpec] = {}
    errors: dict[str, str] = {}
    for name, entry in document["models"].items():
        try:
            specs[str(name)] = parse_entry(str(name), entry, path.parent)
        except RegistryError as exc:
            errors[str(name)] = str(exc)
    return ModelRegistry(path=path, specs=specs, errors=errors)


def parse_entry(name: str, entry: Any, base_dir: Path) -> ModelSpec:
    """Validate one registry entry; raises :class:`RegistryError` naming the entry and the field."""

    def fail(field: str, message: str) -> RegistryError:
        return RegistryError(f"model '{name}': field '{field}': {message}")

    if not isinstance(entry, dict):
        raise RegistryError(f"model '{name}': entry must be a mapping of fields, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _KNOWN_FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field; known fields: {', '.join(sorted(_KNOWN_FIELDS))}")

    arch = entry.get("architecture")
    if not isinstance(arch, str) or ":" not in arch:
        raise fail("architecture", "required, as 'timm:NAME' or 'torchvision:NAME'")
    arch_source, arch_name = arch.split(":", 1)
    if arch_source not in ARCHITECTURE_SOURCES:
        raise fail(
            "architecture", f"source '{arch_source}' is not allowed; use one of {', '.join(ARCHITECTURE_SOURCES)}"
        )
    _check_architecture(arch_source, arch_name, fail)

    weights = entry.get("weights", "none")
    if not isinstance(weights, str):
        raise fail("weights", "must be a string such as " + ", ".join(f"'{s.example}'" for s in SOURCES.values()))
    w_source, _, w_value = weights.partition(":")
    if w_source not in SOURCES:
        raise fail("weights", f"source '{w_source}' unknown; use one of {', '.join(SOURCES)}")
    problem = SOURCES[w_source].parse(w_value or None, arch_source)
    if problem:
        raise fail("weights", problem)
    cam_exact = entry.get("cam_exact", True)
    if not isinstance(cam_exact, bool):
        raise fail("cam_exact", f"must be true or false, got {cam_exact!r}")

    num_classes = entry.get("num_classes", 1000)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise fail("num_classes", f"must be a positive integer, got {num_classes!r}")
    input_size = entry.get("input_size", 224)
    if not isinstance(input_size, int) or isinstance(input_size, bool) or not 16 <= input_size <= 2048:
        raise fail("input_size", f"must be an integer in [16, 2048], got {input_size!r}")
    mean = _triple(entry.get("mean", [0.485, 0.456, 0.406]), "mean", fail)
    std = _triple(entry.get("std", [0.229, 0.224, 0.225]), "std", fail)
    if min(std) <= 0:
        raise fail("std", "every value must be > 0")
    labels = entry.get("labels")
    if labels is not None and not isinstance(labels, str):
        raise fail("labels", "must be 'imagenet' or a path to a text file")
    for field in ("feature_layer", "classifier", "title", "description"):
        value = entry.get(field)
        if value is not None and not isinstance(value, str):
            raise fail(field, f"must be a string, got {type(value).__name__}")
    return ModelSpec(
        name=name,
        title=entry.get("title") or name,
        architecture_source=arch_source,
        architecture=arch_name,
        weights_source=w_source,
        weights=w_value or None,
        num_classes=num_classes,
        labels=labels,
        input_size=input_size,
        mean=mean,
        std=std,
        feature_layer=entry.get("feature_layer"),
        classifier=entry.get("classifier"),
        base_dir=base_dir,
        description=entry.get("description") or "",
        cam_exact=cam_exact,
    )


def _triple(value, field, fail) -> tuple[float, float, float]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise fail(field, f"must be a list of 3 numbers (one per RGB channel), got {value!r}")
    return float(value[0]), float(value[1]), float(value[2])


def _check_architecture(source: str, name: str, fail) -> None:
    if source == "timm":
        import timm

        if not timm.is_model(name.split(".")[0]):
            raise fail("architecture", f"timm has no model '{name}'; see timm.list_models()")
    else:
        import torchvision.models as tvm

        if name not in tvm.list_models(module=tvm):
            raise fail(
                "architecture",
                f"torchvision has no classification model '{name}'; see torchvision.models.list_models()",
            )
