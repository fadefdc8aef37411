"""Class names, available offline (the ImageNet-1k names are package data: ``imagenet_labels.txt``)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..errors import RegistryError


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in index order (``imagenet_labels.txt`` in this package)."""
    text = files(__package__).joinpath("imagenet_labels.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def read_labels(value: str | None, num_classes: int, base_dir: Path, entry: str) -> tuple[str, ...]:
    """Resolve a registry ``labels`` field to ``num_classes`` names.

    ``"imagenet"`` gives the ImageNet-1k names, a path (relative to the registry
    file) gives one name per non-empty line, and ``None`` gives ``"class 0"``...
    """
    if value is None:
        return tuple(f"class {i}" for i in range(num_classes))
    if value == "imagenet":
        names = imagenet_labels()
    else:
        path = Path(value)
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise RegistryError(
                f"model '{entry}': field 'labels': file {path} not found; give 'imagenet' or a text file, one class name per line"
            )
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if len(names) != num_classes:
        raise RegistryError(
            f"model '{entry}': field 'labels': {len(names)} class names for num_classes={num_classes}; make them match"
        )
    return names
