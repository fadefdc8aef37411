"""One saved workspace item as a self-contained HTML page (pure: no Streamlit), for its "Report" download.

Everything the page shows comes from the stored item (its thumbnails, settings,
predictions and per-superpixel scores); nothing is recomputed, and nothing is
fetched when the file is opened (pictures are embedded as data URIs).
"""

from __future__ import annotations

import base64
import html
from typing import Any

from explainers.store import ItemRecord

#: How many superpixels of each SeCAM map the report lists (best first).
TOP_SUPERPIXELS = 10


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _picture(data: bytes) -> str:
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def item_html(item: ItemRecord, link: str | None = None) -> bytes:
    """The item as a standalone HTML file (UTF-8).

    Parameters
    ----------
    item : ItemRecord
        With its thumbnails (``Store.get_item``).
    link : str, optional
        The permalink that reopens the view in the dashboard.

    Returns
    -------
    bytes
    """
    scores = item.scores if isinstance(item.scores, list) else []
    pictures = []
    for i, data in enumerate(item.thumbnails):
        caption = ""
        if i < len(scores) and isinstance(scores[i], dict):
            s = scores[i]
            caption = f"{s.get('method', '')} on {s.get('model', '')}"
        pictures.append(f'<figure><img alt="{_e(caption or "map")}" src="{_picture(data)}">'
                        f"<figcaption>{_e(caption)}</figcaption></figure>")
    settings = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in item.view.items())
    top = (item.predictions or {}).get("top", {}) if isinstance(item.predictions, dict) else {}
    predictions = "".join(
        f"<h3>{_e(model)}</h3><table><tr><th>Rank</th><th>Class</th><th>Probability</th></tr>"
        + "".join(f"<tr><td>{r + 1}</td><td>{_e(p.get('label'))} ({_e(p.get('class_index'))})</td>"
                  f"<td>{float(p.get('probability', 0)):.1%}</td></tr>" for r, p in enumerate(rows))
        + "</table>" for model, rows in top.items())
    maps = []
    for s in scores:
        if not isinstance(s, dict):
            continue
        block = (f"<h3>{_e(s.get('method'))} on {_e(s.get('model'))}</h3><p>Class {_e(s.get('label'))} "
                 f"({_e(s.get('class_index'))}), probability {float(s.get('probability', 0)):.1%}</p>")
        sp = s.get("superpixels")
        if isinstance(sp, dict) and sp.get("scores"):
            order = sorted(range(len(sp["scores"])), key=lambda i: -sp["scores"][i])[:TOP_SUPERPIXELS]
            total = sum(sp.get("areas") or [1]) or 1
            kept = sp.get("kept") or [None] * len(sp["scores"])
            block += ("<table><tr><th>Superpixel</th><th>Score</th><th>Area</th><th>Kept</th></tr>"
                      + "".join(f"<tr><td>{sp['ids'][i]}</td><td>{sp['scores'][i]:.3f}</td>"
                                f"<td>{100 * sp['areas'][i] / total:.1f}%</td>"
                                f"<td>{'yes' if kept[i] else 'no' if kept[i] is not None else ''}</td></tr>"
                                for i in order) + "</table>")
            block += f"<p>{len(sp['scores'])} superpixels; the {len(order)} best are listed.</p>"
        maps.append(block)
    tags = " ".join(f'<span class="tag">{_e(t)}</span>' for t in item.tags)
    note = _e(item.note).replace("\n", "<br>") if item.note else "<em>No note.</em>"
    reopen = f'<p><a href="{_e(link)}">Reopen this view in the dashboard</a></p>' if link else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(item.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; }} figure img {{ max-width: 28rem; border-radius: 4px; }}
figcaption {{ color: #555; font-size: 0.9rem; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1rem; }}
th, td {{ border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }}
.tag {{ background: #eef; border-radius: 0.8rem; padding: 0.1rem 0.6rem; margin-right: 0.3rem; }}
.meta {{ color: #555; }}
</style></head><body>
<h1>{_e(item.title)}</h1>
<p class="meta">Saved by {_e(item.author_name)} on {item.created_at:%Y-%m-%d %H:%M} UTC
(edited {item.updated_at:%Y-%m-%d %H:%M} UTC) | models: {_e(', '.join(item.models))} |
methods: {_e(', '.join(item.methods))} | class: {_e(item.class_label)} ({item.class_index})</p>
<p>{tags}</p>
<h2>Note</h2><p>{note}</p>
{reopen}
<h2>Maps</h2>{''.join(pictures) or '<p>No thumbnails were saved.</p>'}
<h2>Predictions</h2>{predictions or '<p>None saved.</p>'}
<h2>Scores</h2>{''.join(maps) or '<p>None saved.</p>'}
<h2>Settings</h2><table>{settings}</table>
<p class="meta">Photo: {_e(item.photo_sha256 or item.view.get('photo', ''))}. Workspace item {item.id}.</p>
</body></html>
"""
    return page.encode("utf-8")
