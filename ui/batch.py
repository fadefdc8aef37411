"""What the Batch page needs besides layout: the photo sources, the settings, the tables and files.

No Streamlit here: the page draws the widgets and the progress bar, these
functions validate what was typed and shape the library's results
(:func:`explainers.evaluate.evaluate_photos` and :func:`~explainers.evaluate.summarize`)
for tables and downloads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from explainers import Explainer, LoadedModel
from explainers.errors import ParameterError
from explainers.evaluate import COLUMNS, MethodResult, PhotoFailure, collect_photos
from explainers.roots import is_under_roots, resolve_under_roots

#: The methods the page offers, in the order the charts show them (registry names).
METHODS = ("cam", "secam", "gradcam", "lime")
DEFAULT_METHODS = ["cam", "secam"]
#: The shared ImageNet sample next to the repository, suggested as the folder when it exists.
SAMPLE_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "imagenet-sample"
#: Most photos one run may take from a folder (a run holds the shared model for its whole length).
LIMIT_MAX = 200
DEFAULT_LIMIT = 5
#: LIME's perturbed copies per photo: small by default, it is the slow method (1000 in the library).
LIME_SAMPLES = (10, 1000, 100)
#: Deletion/insertion steps: (min, max, default); the CLI's default is 20.
STEPS = (2, 50, 10)


def default_folder() -> str:
    """The folder to suggest: the shared ImageNet sample if it exists, else nothing."""
    return str(SAMPLE_FOLDER) if SAMPLE_FOLDER.is_dir() and is_under_roots(SAMPLE_FOLDER) else ""


def folder_photos(folder: str, limit: int) -> list[Path]:
    """The first ``limit`` photos (by name) of a folder or glob on the server.

    Parameters
    ----------
    folder : str
        A folder path (``~`` expanded) or a glob such as ``/data/photos/*.jpg``.
    limit : int
        At most this many photos, in [1, ``LIMIT_MAX``].

    Returns
    -------
    list of Path

    Raises
    ------
    ParameterError
        Empty path, a limit out of range, a path that is neither a folder, a file
        nor a glob that matches, or no image file in it.
    explainers.roots.PathNotAllowedError
        The path (or a photo in it, through a link) is outside ``EXPLAINERS_DATA_ROOTS``.
    """
    text = (folder or "").strip()
    if not text:
        raise ParameterError("type the path of a folder on the server, e.g. "
                             f"{default_folder() or '/data/photos'}")
    if not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
        raise ParameterError(f"the number of photos must be in [1, {LIMIT_MAX}], got {limit!r}")
    path = resolve_under_roots(text)  # least privilege: only under EXPLAINERS_DATA_ROOTS (explainers.roots)
    if not any(c in text for c in "*?[") and not path.exists():
        raise ParameterError(f"'{text}' does not exist on the server; type the path of a folder of photos "
                             "(absolute, or relative to an allowed folder)")
    return [resolve_under_roots(p) for p in collect_photos(str(path))[:limit]]  # a file may link out


def labels_file(folder: str) -> Path | None:
    """``labels.csv`` (columns ``file,class_index``) in the folder, or in a glob's folder, if there is one."""
    text = (folder or "").strip()
    if not text or not is_under_roots(text):
        return None
    path = resolve_under_roots(text)
    candidate = (path if path.is_dir() else path.parent) / "labels.csv"
    return candidate if candidate.is_file() and is_under_roots(candidate) else None


def results_frame(results: Sequence[MethodResult]) -> pd.DataFrame:
    """The results table: one row per photo and method, columns ``COLUMNS`` (as ``results.csv``)."""
    return pd.DataFrame([r.row() for r in results], columns=list(COLUMNS))


def summary_document(summary: Mapping[str, Any], model: LoadedModel, explainers: Mapping[str, Explainer],
                     failures: Sequence[PhotoFailure], steps: int, labels: str | None = None) -> dict[str, Any]:
    """``summary.json`` as the CLI writes it (summary, model, device, failures, parameters, steps).

    ``failed`` is the count, as from the CLI; ``failures`` adds each file and its message.
    """
    return {**summary, "model": model.name, "device": str(model.device), "failed": len(failures),
            "failures": [{"file": f.file, "message": f.message} for f in failures], "interrupted": False,
            "params": {name: dict(e.params) for name, e in explainers.items()}, "steps": steps, "labels": labels}


def summary_json(document: Mapping[str, Any]) -> str:
    """The summary document as indented JSON text."""
    return json.dumps(document, indent=2)
