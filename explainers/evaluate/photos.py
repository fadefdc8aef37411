"""Which photos an evaluation reads, the key each result is filed under, and their true classes.

A photo's **key** is its path relative to the deepest folder that holds all the photos of the run
(``/``-separated): the file name when they are in one folder, ``cats/001.jpg`` and ``dogs/001.jpg``
when a glob spans folders, so two photos with the same name never collapse into one row.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from ..errors import ParameterError
from ..images import IMAGE_SUFFIXES, image_files


def collect_photos(source: str | os.PathLike) -> list[Path]:
    """Photos named by a folder, a glob pattern or one file, sorted by key (:func:`photo_keys`).

    Parameters
    ----------
    source : str or Path
        A folder (its image files, not recursive), a glob such as ``"photos/*/*.jpg"``,
        or a file.

    Returns
    -------
    list of Path

    Raises
    ------
    ParameterError
        If nothing matches.
    """
    path = Path(source)
    if path.is_dir():
        photos = image_files(path)
    elif path.is_file():
        photos = [path]
    else:
        photos = [Path(p) for p in glob.glob(str(source)) if Path(p).is_file()]
    if not photos:
        raise ParameterError(
            f"no image files in '{source}'; give a folder, a glob such as 'dir/*.jpg', or files "
            f"ending in {', '.join(IMAGE_SUFFIXES)}"
        )
    keys = photo_keys(photos)
    return [p for _, p in sorted(zip(keys, photos), key=lambda kp: kp[0])]


def photo_keys(photos: Sequence[str | os.PathLike]) -> list[str]:
    """Each photo's key: its path relative to the deepest folder holding them all, ``/``-separated.

    Examples
    --------
    >>> photo_keys(["/data/a/x.jpg", "/data/b/x.jpg"])
    ['a/x.jpg', 'b/x.jpg']
    >>> photo_keys(["/data/a/x.jpg"])
    ['x.jpg']
    """
    paths = [Path(os.path.abspath(p)) for p in photos]
    if not paths:
        return []
    base = Path(os.path.commonpath([str(p.parent) for p in paths]))
    return [PurePosixPath(*p.relative_to(base).parts).as_posix() for p in paths]


def read_labels_csv(path: str | os.PathLike) -> dict[str, int]:
    """Read a labels file: a CSV with a header holding ``file`` and ``class_index`` columns.

    ``file`` is a photo's key (:func:`photo_keys`) or its file name; see :func:`true_class`.

    Returns
    -------
    dict
        ``file`` as written (``/``-separated) -> class index.

    Raises
    ------
    ParameterError
        If the file is missing, lacks the columns, or a class index is not an integer.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"labels file {path} not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"file", "class_index"} <= set(reader.fieldnames):
            raise ParameterError(
                f"labels file {path} needs a header with 'file' and 'class_index' columns, got {reader.fieldnames}"
            )
        labels = {}
        for line, record in enumerate(reader, start=2):
            try:
                labels[str(record["file"]).strip().replace("\\", "/")] = int(record["class_index"])
            except (TypeError, ValueError):
                raise ParameterError(
                    f"labels file {path}, line {line}: class_index must be an integer, got {record['class_index']!r}"
                ) from None
    return labels


def true_class(labels: Mapping[str, int], key: str) -> int:
    """The class the labels file gives the photo ``key``.

    An entry matches when it is the key itself, or when one of the two is a trailing part of the other
    (``a.jpg`` matches the key ``cats/a.jpg``; ``photos/cats/a.jpg`` matches it too), as long as only
    one entry matches.

    Raises
    ------
    ParameterError
        If no entry matches, or several do (then give the keys in the labels file).
    """
    if key in labels:
        return int(labels[key])
    parts = PurePosixPath(key).parts
    found = [k for k in labels if _trails(PurePosixPath(k).parts, parts) or _trails(parts, PurePosixPath(k).parts)]
    if len(found) == 1:
        return int(labels[found[0]])
    if not found:
        raise ParameterError(f"{key}: not in the labels file")
    raise ParameterError(
        f"{key}: the labels file names it ambiguously ({', '.join(sorted(found)[:3])}); "
        "write each photo's path relative to the folder in the 'file' column"
    )


def _trails(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return 0 < len(short) <= len(long) and long[len(long) - len(short) :] == short
