"""Download buttons of Explain and Compare: files built only when clicked, matching what the page shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from ..app import session
from ..app.session import Selection
from ..compute import faithfulness
from ..compute.comparison import Side, panels
from ..compute.photos import display_image
from ..figures.evaluation import faithfulness_curves_figure
from ..text import md
from . import files, report


def _stem(selection: Selection, sides: Sequence[Side]) -> str:
    name = (selection.image_name or "image").rsplit(".", 1)[0]
    return f"{name}_{sides[0].explanation.class_index}"


def settings(selection: Selection, sides: Sequence[Side], style: Mapping[str, Any], view: str) -> dict[str, Any]:
    """Every choice behind the result (the report's settings table and the JSON's)."""
    out = {"photo": selection.image_name, "photo key": selection.image_key,
           "size": f"{selection.image.shape[1]}x{selection.image.shape[0]} px", "view": view,
           "class": sides[0].explanation.label, "top-K": selection.topk}
    for side in sides:
        out[f"{side.name}: model"] = side.condition.model
        out[f"{side.name}: method"] = side.condition.title
        out[f"{side.name}: parameters"] = ", ".join(f"{k}={v}" for k, v in side.condition.params) or "none"
    out.update({"scale": style["scale"], "colour scale": style["colorscale"], "opacity": style["opacity"],
                "threshold": style["threshold"], "boundaries": style["boundaries"],
                "region numbers": bool(style.get("numbers"))})
    return out


def predictions(sides: Sequence[Side], k: int) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for side in sides:
        if side.condition.model in seen:
            continue
        seen.add(side.condition.model)
        for c in side.forward.top(k):
            rows.append({"model": side.condition.model, "rank": side.forward.rank_of(c) + 1, "class": c,
                         "label": side.model.labels[c], "probability": float(side.forward.probabilities[c])})
    return rows


def report_bytes(selection: Selection, sides: Sequence[Side], fig, caption: str, style: Mapping[str, Any],
                 view: str, results: Mapping[str, Any]) -> bytes:
    """The self-contained HTML report of the comparison on screen."""
    measured = {name: c for name, c in results.items() if c is not None}
    figures_ = [(f"{view}: {sides[0].explanation.label}", fig)]
    if measured:
        figures_.append(("Faithfulness curves", faithfulness_curves_figure(measured, title="Faithfulness")))
    return report.html_report(
        title=f"{sides[0].title} vs {sides[1].title}: {sides[0].explanation.label}",
        photo=display_image(selection.image_key, selection.image), figures=figures_,
        settings=settings(selection, sides, style, view), predictions=predictions(sides, selection.topk),
        sides=[{"name": s.title, "timings": dict(s.explanation.timings),
                "superpixels": files.superpixel_rows(s.explanation) if s.explanation.segment_scores is not None
                else None} for s in sides],
        caption=caption, faithfulness=faithfulness.table(results).to_dict("records") if measured else ())


def compare_downloads(selection: Selection, sides: Sequence[Side], shown, fig, caption: str,
                      style: Mapping[str, Any], view: str, results: Mapping[str, Any], container=st) -> None:
    """Comparison PNG (as shown), HTML report, each map's PNG and .npy, superpixel CSVs."""
    stem = _stem(selection, sides)
    title = f"{sides[0].explanation.label}: {sides[0].title} vs {sides[1].title}"
    a, b, c = container.columns(3)
    a.download_button("Comparison (PNG, as shown)", lambda: files.comparison_png(shown, title, caption),
                      file_name=f"{stem}_comparison.png", mime="image/png", width="stretch", on_click="ignore",
                      key="dl_comparison_png")
    a.download_button("Report (HTML, opens offline)",
                      lambda: report_bytes(selection, sides, fig, caption, style, view, results),
                      file_name=f"{stem}_report.html", mime="text/html", width="stretch", on_click="ignore",
                      key="dl_report")
    for col, side, panel in zip((b, c), sides, _map_panels(sides, shown, selection, style)):
        e, slug = side.explanation, f"{side.name}_{side.condition.method}_{side.condition.model}"
        col.download_button(f"{side.name}: {md(side.condition.title)} map (PNG)", lambda p=panel: files.png_bytes(files.shown_picture(p)),
                            file_name=f"{stem}_{slug}.png", mime="image/png", width="stretch", on_click="ignore",
                            key=f"dl_png_{side.name}")
        col.download_button(f"{side.name}: {md(side.condition.title)} map (.npy)", lambda e=e: files.npy_bytes(e.saliency),
                            file_name=f"{stem}_{slug}.npy", mime="application/octet-stream", width="stretch",
                            on_click="ignore", key=f"dl_npy_{side.name}")
        if e.segment_scores is not None:
            col.download_button(f"{side.name}: superpixels (CSV)", lambda e=e: files.superpixels_csv(e),
                                file_name=f"{stem}_{slug}_superpixels.csv", mime="text/csv", width="stretch",
                                on_click="ignore", key=f"dl_csv_{side.name}")
    container.caption("PNGs are the pictures on screen (colour scale, opacity, boundaries); .npy files are each "
                      "method's own full-resolution map in [0, 1].")


def _map_panels(sides: Sequence[Side], shown, selection: Selection, style: Mapping[str, Any]):
    """Each side's own panel: the shown ones in side-by-side and difference views, else drawn the same way."""
    if len(shown) >= 2:
        return shown[:2]
    return panels(sides, display_image(selection.image_key, selection.image), "Side by side", style)[0]


def explain_downloads(selection: Selection, sides: Sequence[Side], shown, style: Mapping[str, Any],
                      container=st) -> None:
    """Explain's downloads: each map as PNG (as shown) and .npy, superpixel CSV, the whole result as JSON."""
    stem = _stem(selection, sides)
    forward = sides[0].forward
    top = forward.top(selection.topk)
    preds = [{"class_index": c, "label": selection.model.labels[c], "probability": float(forward.probabilities[c])}
             for c in top]
    info = {"name": selection.image_name, "key": selection.image_key,
            "width": int(selection.image.shape[1]), "height": int(selection.image.shape[0])}
    cols = container.columns(3)
    for col, side, panel in zip(cols, sides, shown):
        e, slug = side.explanation, side.condition.method
        col.download_button(f"{md(side.condition.title)} map (PNG)", lambda p=panel: files.png_bytes(files.shown_picture(p)),
                            file_name=f"{stem}_{slug}.png", mime="image/png", width="stretch", on_click="ignore")
        col.download_button(f"{md(side.condition.title)} map (.npy)", lambda e=e: files.npy_bytes(e.saliency),
                            file_name=f"{stem}_{slug}.npy", mime="application/octet-stream", width="stretch",
                            on_click="ignore")
    with_segments = [s for s in sides if s.explanation.segment_scores is not None]
    if with_segments:
        e = with_segments[0].explanation
        cols[2].download_button("Superpixel scores (CSV)", lambda: files.superpixels_csv(e),
                                file_name=f"{stem}_superpixels.csv", mime="text/csv", width="stretch",
                                on_click="ignore")
    cols[2].download_button(
        "Whole result (JSON)",
        lambda: files.result_json([s.explanation for s in sides], image=info, predictions=preds,
                                    extra={**settings(selection, sides, style, "Explain"),
                                           "session": {k: v for k, v in session.snapshot().items()
                                                       if isinstance(v, (str, int, float, bool, type(None)))}}),
        file_name=f"{stem}_result.json", mime="application/json", width="stretch", on_click="ignore")
