"""Download files of a result, as bytes: pure functions (no Streamlit), unit-tested.

The map pictures are the very pictures the page shows (:class:`ui.figures.Panel`,
coloured by :mod:`ui.scales` in the chosen colour scale and opacity), so a
download matches the screen; the arrays (``.npy``) are the methods' own
full-resolution maps.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from explainers import Explanation
from explainers.files import csv_text


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


def shown_picture(panel) -> np.ndarray:
    """A panel's picture as the page shows it: with its marks (region numbers) written on it.

    Parameters
    ----------
    panel : ui.figures.Panel

    Returns
    -------
    (h, w, 3) uint8 ndarray
        ``panel.picture`` itself when the panel has no marks, else a copy with each mark's text centred on its
        position (white with a dark outline, as on the page).
    """
    if not panel.marks:
        return panel.picture
    from PIL import ImageDraw, ImageFont

    ph, pw = panel.picture.shape[:2]
    height, width = panel.full_shape
    canvas = Image.fromarray(np.ascontiguousarray(panel.picture))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(10, round(max(ph, pw) / 60)))
    for x, y, text in panel.marks:  # full-resolution pixel centres -> picture pixels
        draw.text(((x + 0.5) * pw / width, (y + 0.5) * ph / height), text, fill="white", font=font, anchor="mm",
                  stroke_width=2, stroke_fill="black")
    return np.asarray(canvas)


def _colour_bar(colorscale: str, low: float, high: float, width: int, title: str) -> Image.Image:
    from PIL import ImageDraw

    from ..figures.scales import colorscale_lut

    lut = colorscale_lut(colorscale)
    bar = lut[np.linspace(0, len(lut) - 1, width).astype(np.intp)][None].repeat(12, axis=0)
    canvas = Image.new("RGB", (width, 34), "white")
    canvas.paste(Image.fromarray(bar), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text((0, 16), f"{low:+.3g}" if low < 0 else f"{low:.3g}", fill="black")
    draw.text((width // 2 - 3 * len(title), 16), title, fill="black")
    text = f"{high:.3g}"
    draw.text((width - 6 * len(text) - 2, 16), text, fill="black")
    return canvas


def comparison_png(panels, title: str = "", caption: str = "") -> bytes:
    """The comparison as shown: every panel's picture side by side, with its title and colour bar.

    Parameters
    ----------
    panels : sequence of ui.figures.Panel
        What the page draws (same photo, same picture height).
    title, caption : str
        Lines above and below (the class, what the colours mean).

    Returns
    -------
    bytes
        A PNG file.
    """
    from PIL import ImageDraw

    panels = list(panels)
    if not panels:
        raise ValueError("`panels` is empty")
    gap, head, foot = 12, 40, 44
    height = max(p.picture.shape[0] for p in panels)
    widths = [p.picture.shape[1] for p in panels]
    lines = _wrap(caption, max(40, (sum(widths) + gap * len(panels)) // 6))
    canvas = Image.new("RGB", (sum(widths) + gap * (len(panels) + 1), head + height + foot + 14 * len(lines) + 10),
                       "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((gap, 6), title, fill="black")
    x = gap
    for panel, width in zip(panels, widths):
        draw.text((x, 24), panel.title, fill="black")
        canvas.paste(Image.fromarray(np.ascontiguousarray(shown_picture(panel))), (x, head))
        canvas.paste(_colour_bar(panel.colorscale, panel.low, panel.high, width, panel.colorbar),
                     (x, head + height + 6))
        x += width + gap
    for i, line in enumerate(lines):
        draw.text((gap, head + height + foot + 14 * i), line, fill="#333333")
    return png_bytes(np.asarray(canvas))


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) if text else []


def superpixel_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """One row per superpixel: ``id``, ``score``, ``area_px``, ``area_pct``, ``kept``, best score first.

    Raises
    ------
    ValueError
        If ``explanation`` has no superpixels (not SeCAM).
    """
    if explanation.segment_scores is None:
        raise ValueError(f"superpixel scores need an explanation with superpixels; {explanation.method} has none")
    height, width = explanation.image_size
    kept = explanation.kept_segments
    order = np.argsort(-explanation.segment_scores, kind="stable")
    return [{"id": int(explanation.segment_ids[i]), "score": float(explanation.segment_scores[i]),
             "area_px": int(explanation.segment_areas[i]),
             "area_pct": 100.0 * float(explanation.segment_areas[i]) / (height * width),
             "kept": bool(kept[i])} for i in order]


def superpixels_csv(explanation: Explanation) -> bytes:
    """CSV (UTF-8, header ``id,score,area_px,area_pct,kept``) of :func:`superpixel_rows`.

    Scores are rounded to 6 significant digits and areas to 4 decimals, and written as numbers
    (a negative score stays a number) by :func:`explainers.files.csv_text`.
    """
    rows = ({**row, "score": float(f"{row['score']:.6g}"), "area_pct": round(row["area_pct"], 4)}
            for row in superpixel_rows(explanation))
    return csv_text(rows, ("id", "score", "area_px", "area_pct", "kept")).encode("utf-8")


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
