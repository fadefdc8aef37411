"""What the Batch page needs besides layout: the photo sources, the methods, the tables, the gallery, the files.

No Streamlit here: the page draws the widgets and the progress bar, these
functions validate what was typed and shape the library's results
(:func:`explainers.evaluate.iter_evaluate` and :func:`~explainers.evaluate.summarize`)
for tables, the gallery and downloads. The methods come from the registry
(built-ins and plug-ins); no method is named here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from explainers import EXPLAINERS, Explainer, LoadedModel, list_explainers
from explainers.errors import ParameterError
from explainers.evaluate import (COLUMNS, MethodResult, PhotoFailure, PhotoOutcome, collect_photos, iter_evaluate,
                                 summarize)
from explainers.overlays import heatmap_overlay
from explainers_team.roots import is_under_roots, resolve_under_roots

#: The environment variable naming a folder of photos to suggest (the team's sample, e.g. an ImageNet subset).
SAMPLE_ENV = "EXPLAINERS_SAMPLE_DIR"
#: Most photos one run may take from a folder (a run holds the shared model for its whole length).
LIMIT_MAX = 200
DEFAULT_LIMIT = 5
#: Deletion/insertion steps: (min, max, default); the CLI's default is 20.
STEPS = (2, 50, 10)
#: Markdown's special characters (and Streamlit's ``$`` for LaTeX, ``:`` for emoji codes).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-!|~<>$:])")


def default_folder() -> str:
    """The folder to suggest: ``$EXPLAINERS_SAMPLE_DIR`` when it names a folder under the allowed roots, else nothing."""
    folder = os.environ.get(SAMPLE_ENV, "").strip()
    return folder if folder and Path(folder).expanduser().is_dir() and is_under_roots(folder) else ""


def plain(text: str) -> str:
    """``text`` with Markdown escaped, so ``st.error`` shows a glob such as ``/data/*.jpg`` as typed."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def method_options(model: LoadedModel) -> list[str]:
    """The methods the page offers for ``model``: every registered one its head allows, in registry order."""
    return [n for n, cls in EXPLAINERS.items() if model.cam_exact or not cls.requires_exact_cam]


def default_methods(model: LoadedModel) -> list[str]:
    """The methods picked at first: the first two the model allows (the registry's order is the default's)."""
    return method_options(model)[:2]


def method_title(name: str) -> str:
    """How the picker shows a method: its name, and its title when that differs (``gradcam (Grad-CAM)``)."""
    title = EXPLAINERS[name].title if name in EXPLAINERS else name
    return name if title.lower() == name else f"{name} ({title})"


def initial_params(name: str) -> dict[str, Any]:
    """The values the page's inputs start from: the method's defaults, then its ``quick_params``."""
    cls = EXPLAINERS[name]
    return {**cls.defaults, **cls.quick_params}


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
    explainers_team.roots.PathNotAllowedError
        The path (or a photo in it, through a link) is outside ``EXPLAINERS_DATA_ROOTS``.
    """
    text = (folder or "").strip()
    if not text:
        raise ParameterError("type the path of a folder on the server, e.g. "
                             f"{default_folder() or '/data/photos'}")
    if not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
        raise ParameterError(f"the number of photos must be in [1, {LIMIT_MAX}], got {limit!r}")
    path = resolve_under_roots(text)  # least privilege: only under EXPLAINERS_DATA_ROOTS (explainers_team.roots)
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


def gallery_row(outcome: PhotoOutcome, side: int = 200) -> dict[str, Any]:
    """One photo of the gallery: the photo and each method's map over it, at most ``side`` px, with captions.

    Parameters
    ----------
    outcome : PhotoOutcome
        From :func:`explainers.evaluate.iter_evaluate`, evaluated (not failed).
    side : int
        Long side of each tile in pixels (small: a run keeps one row per photo in the session).

    Returns
    -------
    dict
        ``{"file", "tiles": [(caption, (h, w, 3) uint8 ndarray)]}``; the first tile is the photo, then one
        per method in the run's order, captioned with its deletion and insertion AUC.
    """
    image = outcome.image
    scale = min(1.0, side / max(image.shape[:2]))
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    first = outcome.results[0]
    truth = f", true class {first.true_class}" if first.true_class is not None else ""
    tiles = [(f"{outcome.file}: {first.label}{truth}", small)]
    aucs = {r.method: r for r in outcome.results}
    for name, explanation in outcome.explanations.items():
        saliency = cv2.resize(explanation.saliency, size, interpolation=cv2.INTER_AREA)
        r = aucs[name]
        tiles.append((f"{method_title(name)}: deletion {r.deletion_auc:.2f}, insertion {r.insertion_auc:.2f}",
                      heatmap_overlay(small, np.clip(saliency, 0, 1))))
    return {"file": outcome.file, "tiles": tiles}


def run_evaluation(model: LoadedModel, photos: Sequence, explainers: Mapping[str, Explainer],
                   labels: Mapping[str, int] | None, steps: int, labels_path: str | None = None,
                   on_progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Run :func:`explainers.evaluate.iter_evaluate` and keep what the page shows.

    Returns
    -------
    dict
        ``results`` (MethodResult rows), ``failures``, ``summary``, ``gallery`` (:func:`gallery_row` per
        evaluated photo) and ``document`` (``summary.json``).
    """
    results, failures, gallery = [], [], []
    for done in iter_evaluate(model, photos, explainers, labels=labels, steps=steps):
        results.extend(done.results)
        if done.failure is not None:
            failures.append(done.failure)
        else:
            gallery.append(gallery_row(done))
        if on_progress is not None:
            on_progress(done.index + 1, len(photos), done.file)
    summary = summarize(results)
    return {"results": results, "failures": failures, "summary": summary, "gallery": gallery,
            "document": summary_document(summary, model, explainers, failures, steps, labels_path)}


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
