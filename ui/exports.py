"""Download files of a result, as bytes: pure functions (no Streamlit), unit-tested.

The pictures are the tutorial's outputs, drawn by :mod:`explainers.overlays` at
the photo's full resolution.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from explainers import Explanation


def png_bytes(image: np.ndarray) -> bytes:
    """PNG file of an ``(H, W, 3)`` uint8 RGB image."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """``.npy`` file of an array (``np.load(io.BytesIO(data))`` reads it back)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def superpixel_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """One row per superpixel: ``id``, ``score``, ``area_px``, ``area_pct``, ``kept``, best score first.

    Raises
    ------
    ValueError
        If ``explanation`` has no superpixels (not SeCAM).
    """
    if explanation.segment_scores is None:
        raise ValueError("superpixel scores need a SeCAM explanation (method 'secam')")
    height, width = explanation.image_size
    kept = explanation.kept_segments
    order = np.argsort(-explanation.segment_scores, kind="stable")
    return [{"id": int(explanation.segment_ids[i]), "score": float(explanation.segment_scores[i]),
             "area_px": int(explanation.segment_areas[i]),
             "area_pct": 100.0 * float(explanation.segment_areas[i]) / (height * width),
             "kept": bool(kept[i])} for i in order]


def superpixels_csv(explanation: Explanation) -> bytes:
    """CSV (UTF-8, header ``id,score,area_px,area_pct,kept``) of :func:`superpixel_rows`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "score", "area_px", "area_pct", "kept"], lineterminator="\n")
    writer.writeheader()
    for row in superpixel_rows(explanation):
        writer.writerow({**row, "score": f"{row['score']:.6g}", "area_pct": f"{row['area_pct']:.4f}"})
    return buffer.getvalue().encode("utf-8")


def result_json(explanations: Sequence[Explanation], *, image: Mapping[str, Any],
                predictions: Sequence[Mapping[str, Any]] = (), extra: Mapping[str, Any] | None = None) -> bytes:
    """The whole result as JSON: the photo, the top predictions, and every explanation's ``to_dict()``.

    Parameters
    ----------
    explanations : sequence of Explanation
    image : mapping
        What identifies the photo (name, size, sha1...).
    predictions : sequence of mappings
        Top classes (``class_index``, ``label``, ``probability``).
    extra : mapping, optional
        Anything else to record (dashboard settings...).

    Returns
    -------
    bytes
        UTF-8 JSON, indented.
    """
    payload = {
        "image": dict(image),
        "model": explanations[0].model if explanations else None,
        "predictions": [dict(p) for p in predictions],
        "explanations": [e.to_dict() for e in explanations],
        **({"settings": dict(extra)} if extra else {}),
    }
    return json.dumps(payload, indent=2, default=_jsonable).encode("utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
