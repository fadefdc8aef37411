"""Class names, available offline (the ImageNet-1k names and WordNet ids are package data).

``imagenet_labels.txt`` holds the 1000 names and ``imagenet_wnids.txt`` the 1000 WordNet ids
(``n01440764``...) in class-index order (the list timm ships as ``imagenet_synsets.txt``), so a photo
named as ImageNet names its files (``n01440764_10026.JPEG``) carries its true class.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..errors import RegistryError


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in index order (``imagenet_labels.txt`` in this package)."""
    text = files(__package__).joinpath("imagenet_labels.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


@lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids (``n01440764``...) in class-index order (``imagenet_wnids.txt``)."""
    text = files(__package__).joinpath("imagenet_wnids.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


#: A file name that starts with a WordNet id: ``n01440764_10026.JPEG``, ``n01440764.png``.
_WNID_NAME = re.compile(r"(n\d{8})(?=[_.\-]|$)")


def imagenet_class_from_name(name: str) -> int | None:
    """The ImageNet-1k class index a file name carries, as ImageNet names its files; None if it carries none.

    Parameters
    ----------
    name : str
        A file name or path; only its last part is read, and it must start with the WordNet id
        followed by ``_``, ``-``, ``.`` or nothing.

    Returns
    -------
    int or None
        The index in :func:`imagenet_labels` order, or None when the name starts with no WordNet id
        of the 1000 classes.

    Examples
    --------
    >>> imagenet_class_from_name("n01440764_10026.JPEG")
    0
    >>> imagenet_class_from_name("holiday.jpg") is None
    True
    """
    base = re.split(r"[\\/]", str(name))[-1]
    found = _WNID_NAME.match(base)
    if found is None:
        return None
    return _wnid_index().get(found.group(1))


@lru_cache(maxsize=1)
def _wnid_index() -> dict[str, int]:
    """WordNet id -> class index."""
    return {wnid: i for i, wnid in enumerate(imagenet_wnids())}


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
