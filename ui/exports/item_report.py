"""One saved workspace item as the dashboard's self-contained HTML report (pure: no Streamlit).

The report is :func:`ui.report.html_report` (the same file Compare's "Report" download
makes), filled from what the item stored: its settings, predictions and per-superpixel
scores, plus a section with the title, author, date, tags, note, the saved thumbnails and
the permalink. Nothing is recomputed and nothing is fetched when the file is opened
(pictures are embedded as ``data:`` URIs; no figure, so no Plotly script either).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from explainers_team.store import ItemRecord

from ..text import html
from . import report


def _uri(data: bytes) -> str:
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def superpixel_rows(scores: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A saved map's superpixels as the report's rows (best first), or None for a map without them."""
    found = scores.get("superpixels") if isinstance(scores, dict) else None
    if not isinstance(found, dict) or not found.get("scores"):
        return None
    areas = found.get("areas") or [0] * len(found["scores"])
    kept = found.get("kept") or [None] * len(found["scores"])
    total = sum(areas) or 1
    order = sorted(range(len(found["scores"])), key=lambda i: -found["scores"][i])
    return [{"id": found["ids"][i], "score": float(found["scores"][i]), "area_px": int(areas[i]),
             "area_pct": 100.0 * areas[i] / total, "kept": kept[i]} for i in order]


def item_html(item: ItemRecord, link: str | None = None, photo: np.ndarray | None = None) -> bytes:
    """The item as a standalone HTML file (UTF-8).

    Parameters
    ----------
    item : ItemRecord
        With its thumbnails (``Store.get_item`` or ``list_items``).
    link : str, optional
        The permalink that reopens the view in the dashboard.
    photo : (H, W, 3) uint8 ndarray, optional
        The photo (a display copy is enough); without it, the first thumbnail stands in.

    Returns
    -------
    bytes
    """
    if photo is None:
        photo = (np.asarray(Image.open(io.BytesIO(item.thumbnails[0])).convert("RGB")) if item.thumbnails
                 else np.full((8, 8, 3), 255, np.uint8))
    scores = [s for s in (item.scores if isinstance(item.scores, list) else []) if isinstance(s, dict)]
    top = item.predictions.get("top", {}) if isinstance(item.predictions, dict) else {}
    predictions = [{"model": model, "rank": rank + 1, "class": p.get("class_index"), "label": p.get("label"),
                    "probability": p.get("probability")}
                   for model, rows in top.items() for rank, p in enumerate(rows)]
    sides = [{"name": f"{s.get('side', i + 1)}: {s.get('method')} on {s.get('model')}, class {s.get('label')} "
                      f"({float(s.get('probability') or 0):.1%})",
              "timings": {}, "superpixels": superpixel_rows(s)} for i, s in enumerate(scores)]
    settings = {"workspace item": item.id, "models": ", ".join(item.models), "methods": ", ".join(item.methods),
                "class": f"{item.class_label} ({item.class_index})", "photo": item.view.get("photo", ""),
                **{f"link: {k}": v for k, v in item.view.items() if k not in ("photo",)}}
    document = report.html_report(title=item.title, photo=photo, figures=(), settings=settings,
                                  predictions=predictions, sides=sides).decode("utf-8")
    pictures = "".join(
        f"<figure style='display:inline-block;margin:0 1rem 1rem 0'><img alt='{html(caption)}' src='{_uri(data)}' "
        f"style='max-width:28rem;border:1px solid #ccc'><figcaption>{html(caption)}</figcaption></figure>"
        for data, caption in zip(item.thumbnails, [f"{s.get('side', '')}: {s.get('method', '')}" for s in scores]
                                 + [""] * len(item.thumbnails)))
    tags = ", ".join(html(t) for t in item.tags) or "none"
    note = html(item.note).replace("\n", "<br>") if item.note else "<em>No note.</em>"
    reopen = f"<p><a href='{html(link)}'>Reopen this view in the dashboard</a></p>" if link else ""
    section = (f"<p class='meta'>Saved to the workspace by {html(item.author_name)} on "
               f"{item.created_at:%Y-%m-%d %H:%M} UTC (last edited {item.updated_at:%Y-%m-%d %H:%M} UTC). "
               f"Tags: {tags}.</p><h2>Note</h2><p>{note}</p>{reopen}<h2>Maps as saved</h2>{pictures}")
    head, sep, rest = document.partition("</h1>")
    return (head + sep + section + rest).encode("utf-8")
