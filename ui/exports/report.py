"""The comparison as one self-contained HTML file (pure: no Streamlit).

Opening it needs no network: Plotly's JavaScript is inlined once
(``include_plotlyjs=True``), the photo is embedded as a base64 ``data:`` URI,
and the figures are the page's own (the same panels, colours and hover facts).
It records the settings, the predictions, each side's per-superpixel table and
timings, and the faithfulness curves when they were measured.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..figures.maps import KEPT_TEXT, image_uri
from ..text import cell, html


def _table(rows: Sequence[Mapping[str, Any]], limit: int | None = None) -> str:
    rows = list(rows)
    if not rows:
        return "<p><em>none</em></p>"
    shown = rows if limit is None else rows[:limit]
    head = "".join(f"<th>{html(str(k))}</th>" for k in shown[0])
    body = "".join("<tr>" + "".join(f"<td>{html(_fmt(v))}</td>" for v in row.values()) + "</tr>"
                   for row in shown)
    more = f"<p><em>{len(rows) - len(shown)} more rows not shown</em></p>" if len(shown) < len(rows) else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _fmt(value: Any) -> str:
    """A cell as the page shows it: a dash where it does not apply, yes/no for a flag (a superpixel's "kept")."""
    value = cell(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, bool):
        return KEPT_TEXT[int(value)]
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def html_report(*, title: str, photo: np.ndarray, figures: Sequence[tuple[str, go.Figure]],
                settings: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]],
                sides: Sequence[Mapping[str, Any]], caption: str = "",
                faithfulness: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """A self-contained HTML report.

    Parameters
    ----------
    title : str
    photo : (H, W, 3) uint8 ndarray
        Embedded as a JPEG ``data:`` URI (a display copy is enough).
    figures : sequence of (heading, plotly Figure)
        Drawn in order; Plotly's JavaScript is inlined with the first.
    settings : mapping
        Every choice that produced the result (model, methods, class, SLIC, threshold, colours...).
    predictions : sequence of mappings
        Each model's top classes.
    sides : sequence of mappings
        Per condition: ``name``, ``timings`` (mapping step -> seconds) and ``superpixels`` (rows, or None).
    caption : str
        What the colours mean.
    faithfulness : sequence of mappings
        Rows of the faithfulness table (empty: not measured).

    Returns
    -------
    bytes
        UTF-8 HTML.
    """
    parts = [f"<h1>{html(title)}</h1>",
             f"<p class='meta'>Made {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by the CAM &amp; SeCAM explorer. "
             "This file is self-contained: it opens without a network connection.</p>",
             f"<img class='photo' alt='the photo' src='{image_uri(np.ascontiguousarray(photo))}'>",
             "<h2>Settings</h2>", _table([{"setting": k, "value": v} for k, v in settings.items()])]
    first = True
    for heading, fig in figures:
        parts.append(f"<h2>{html(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=True if first else False,
                                 config={"displaylogo": False}))
        first = False
    if caption:
        parts.append(f"<p class='caption'>{html(caption)}</p>")
    parts += ["<h2>Predictions</h2>", _table(predictions)]
    for side in sides:
        parts.append(f"<h2>{html(str(side['name']))}</h2>")
        parts.append("<h3>Timings (seconds)</h3>")
        parts.append(_table([{"step": k, "seconds": v} for k, v in side.get("timings", {}).items()]))
        if side.get("superpixels") is not None:
            parts.append("<h3>Superpixels (best first)</h3>")
            parts.append(_table(side["superpixels"]))
    parts.append("<h2>Faithfulness</h2>")
    parts.append(_table(faithfulness) if faithfulness else
                 "<p><em>Not measured for these settings (the Compare page measures it on demand).</em></p>")
    style = ("body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1500px;padding:0 1rem;color:#222}"
             "table{border-collapse:collapse;font-size:0.85rem;margin:0.5rem 0}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f3f3f3}"
             ".photo{max-width:480px;width:100%;border:1px solid #ccc}.meta,.caption{color:#555}")
    document = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html(title)}</title>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{style}</style>"
                f"</head><body>{''.join(parts)}</body></html>")
    return document.encode("utf-8")
