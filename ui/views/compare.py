"""The sections of the Explain and Compare pages: two conditions on one photo and class, their maps, their numbers.

The pages (``dashboard.py``, ``pages/compare.py``) call these in the order they lay them out; what
is computed comes from :mod:`ui.compute.comparison` (cached), what is drawn from :mod:`ui.figures`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

import explainers
from explainers import Condition, ForwardPass
from explainers.overlays import masked_image

from ..app import session
from ..app.session import SIDES, VIEWS, Selection
from ..text import MISSING, md
from ..compute import comparison, explanations, faithfulness, models, photos
from ..compute.comparison import Side
from ..exports import downloads as download_buttons
from ..exports import files
from ..figures import maps
from ..figures.evaluation import faithfulness_curves_figure
from ..widgets import controls


def forward(selection: Selection) -> ForwardPass:
    """The cached forward pass of the sidebar's model on the sidebar's photo."""
    return explanations.forward_pass(selection.model_name, selection.image_key, selection.model, selection.image)


def display(selection: Selection):
    """The selected photo's display copy (cached)."""
    return photos.display_image(selection.image_key, selection.image)


#: Phones (Streamlit stacks columns below 640 px): the maps come right after the title, the controls after them.
_MAPS_FIRST_CSS = """<style>
.st-key-maps_first {container-type: inline-size;}
@media (max-width: 640px) { .st-key-maps_first > div:has(.st-key-toolbar) {order: 2;} }
</style>"""


@contextlib.contextmanager
def maps_first() -> Iterator[None]:
    """The toolbar and the maps, in this order on a wide screen and maps first on a phone (the page's top)."""
    st.html(_MAPS_FIRST_CSS)
    with st.container(key="maps_first"):
        yield


def toolbar(horizontal: bool = False):
    """The compact row(s) of choices above the maps (inside :func:`maps_first`); ``horizontal``: one row of
    widgets at their own widths, wrapping onto more rows when the window is narrow."""
    return st.container(key="toolbar", gap="small", horizontal=horizontal, vertical_alignment="bottom")


def method_pickers(selection: Selection, container=st) -> list[Condition]:
    """Explain's two methods (A and B) on the sidebar's model, with the session's shared settings."""
    conditions = []
    for side in SIDES:
        method = controls.bound("selectbox", f"Method {'A' if side == 'left' else 'B'}", f"{side}_method", container,
                                options=explainers.list_explainers(), width=170,
                                format_func=lambda m: explainers.EXPLAINERS[m].title)
        conditions.append(explanations.condition(selection.model_name, method, selection,
                                                 float(session.value("threshold"))))
    return conditions


def condition_pickers(selection: Selection) -> list[Condition]:
    """Compare's two conditions, each a usable model and any registered method with its own parameters."""
    usable = models.usable()
    pick_a, pick_b = st.columns(2, gap="medium")
    with pick_a:
        a = controls.condition_picker("left", selection, usable)
    with pick_b:
        b = controls.condition_picker("right", selection, usable)
    return [a, b]


def view_picker(container=st) -> str:
    """Compare's view: side by side, swipe, difference, stacked."""
    return controls.bound("radio", "View", "view", container, options=list(VIEWS), horizontal=True,
                          help="Side by side; Swipe: one map over the other, split by a slider; "
                               "Difference: B - A on a diverging scale fitted to the data; "
                               "Stacked: A above B (phones and narrow windows).")


def compute_sides(selection: Selection, conditions: Sequence[Condition], label: str, scale: str,
                  warn_other_class: bool = True) -> list[Side]:
    """Both sides for the class named ``label``; a side that cannot be computed stops the page with why."""
    sides = [comparison.compute_side(name, c, selection, label, scale) for name, c in zip("AB", conditions)]
    for side in sides:
        if side.problem:
            st.error(md(side.problem))
        elif warn_other_class and not side.same_class:
            st.warning(md(f"{side.condition.model} has no class '{label}': side {side.name} explains its top-1 "
                          f"class '{side.explanation.label}' instead."))
    if any(side.problem for side in sides):
        st.stop()
    refine_row(sides)
    return sides


def refine_row(sides: Sequence[Side]) -> None:
    """For sides drawn with a method's quick setting (LIME): what they show, and Refine, which runs the full setting
    as a job (progress, estimate, Cancel) and then replaces the quick maps."""
    quick = [side for side in sides if side.full is not None]
    if not quick:
        return
    seconds = sum(explanations.estimate_seconds(side.full) for side in quick)
    full = ", ".join(f"{side.name}: {explanations.setting_text(side.full)}" for side in quick)
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="refine_row"):
        st.caption(md(f"{' and '.join(side.title for side in quick)}: a first look, noisier than the full setting "
                      f"({full})."))
        st.button(f"Refine (about {max(1, round(seconds))} s)", key="refine", icon=":material/tune:",
                  on_click=_refine, help="Runs the full setting with a progress bar and Cancel, and replaces the "
                                         "quick map; Cancel goes back to it.")


def _refine() -> None:
    st.session_state[explanations.REFINED] = True


def maps_figure(selection: Selection, sides: Sequence[Side], view: str, style: Mapping[str, Any],
                panel_width: int = 680, key: str = "compare_maps", reserve: str = "19rem", label: str | None = None,
                highlight: bool = False):
    """The maps as the view draws them, fitted to the window (:func:`fitted_chart` with ``reserve``); returns
    ``(panels, figure, caption)``, the caption as the downloads carry it (without :data:`ZOOM_HINT`). With
    ``label``, the caption starts with "Why 'label'?". With ``highlight``, the row picked in
    :func:`superpixel_section`'s table is outlined on its map."""
    if highlight:
        style = {**style, "highlight": highlighted(selection, sides)}
    split = 0.5
    if view == "Swipe":
        split = controls.bound("slider", "Swipe: A left of the line, B right of it (% of the width)", "swipe",
                               min_value=0, max_value=100, step=1) / 100.0
    shown, difference = comparison.panels(sides, display(selection), view, style, split)
    fig = maps.panels_figure(shown, split=split if view == "Swipe" else None, stacked=view == "Stacked",
                             panel_width=panel_width if len(shown) <= 2 else 450)
    fitted_chart(fig, key, reserve)
    caption = comparison.caption(sides, style, view, difference)
    st.caption((f"**Why '{md(label)}'?** " if label is not None else "") + caption + ZOOM_HINT)
    return shown, fig, caption


#: How to use the maps on the page; a UI hint, so it is kept out of the caption the downloads carry.
ZOOM_HINT = " Zoom or pan one map and the others follow (double-click to reset)."


def fitted_chart(fig, key: str, reserve: str = "19rem") -> None:
    """Draw a maps figure whose height follows its width, and never more than the window's height less ``reserve``.

    The figure's box keeps the figure's aspect ratio (:func:`ui.figures.maps.aspect`) through CSS and the chart
    fills it, so a phone gets small maps with no empty band below them and a wide window gets maps that fit
    on the first screen whatever the photo's orientation (the panels keep the photo's proportions inside).
    """
    ratio, fixed, side = maps.aspect(fig)
    # the page's main column is the size container (cqw: a hundredth of its width), so the box's height is
    # the panels' height for the width they get plus the titles and the colour bar
    st.html(f"<style>.st-key-{key}_box {{height: calc((100cqw - {side}px) / {ratio:.4f} + {fixed}px) !important; "
            f"max-height: calc(100vh - {reserve}); min-height: 10rem; flex: 0 0 auto !important;}} "
            # a medium window with the sidebar open wraps the share row and the toolbar onto more lines
            f"@media (min-width: 641px) and (max-width: 1279px) {{body:has([data-testid='stSidebar']"
            f"[data-collapsed='false']) .st-key-{key}_box {{max-height: calc(100vh - {reserve} - 6rem);}}}} "
            f".st-key-{key}_box [data-testid='stPlotlyChart'] {{height: 100% !important; min-height: 0 !important;}}"
            "</style>")
    height = fig.layout.height
    fig.layout.height = None  # the box decides; the figure keeps its height for the downloads
    with st.container(key=f"{key}_box"):
        st.plotly_chart(fig, key=key, width="stretch", height="stretch",
                        config={"scrollZoom": True, "displaylogo": False, "responsive": True})
    fig.layout.height = height


def numbers_row(sides: Sequence[Side], style: Mapping[str, Any]) -> None:
    """Each side's probability, the maps' agreement, and the kept area of a superpixel side."""
    cols = st.columns(4)
    for col, side in zip(cols, sides):
        e = side.explanation
        col.metric(f"{side.name}: probability", f"{e.probability:.1%}",
                   help=f"{md(e.label)} on {md(side.condition.model)}: rank #{e.rank + 1}, logit {e.logit:.2f}")
    cols[2].metric("Agreement (Pearson r)", f"{comparison.agreement(sides):.3f}",
                   help="Correlation of the two maps over the photo (1: the same shape).")
    kept = [s for s in sides if s.explanation.kept_segments is not None]
    if kept:
        cols[3].metric(f"{kept[0].name}: kept area", f"{comparison.kept_area(kept[0]):.0%}",
                       help=f"Share of the photo in superpixels kept at threshold {style['threshold']:.2f}.")


def faithfulness_section(selection: Selection, sides: Sequence[Side], label: str) -> dict:
    """The faithfulness on demand: results when they exist, the measure button, the curves and table."""
    st.subheader("Faithfulness")
    results = faithfulness.view([s.condition for s in sides], [s.explanation for s in sides], selection.image_key,
                                selection.image)
    measured = {name: curves for name, curves in results.items() if curves is not None}
    if measured:
        st.markdown(md(faithfulness.verdict(results)))
        curves_col, table_col = st.columns([3, 2])
        curves_col.plotly_chart(faithfulness_curves_figure(measured, title=f"Faithfulness for {label}"),
                                key="faithfulness_curves")
        more = faithfulness.extras(faithfulness.plan([s.condition for s in sides],
                                                     [s.explanation.class_index for s in sides],
                                                     selection.image_key, faithfulness.STEPS),
                                   faithfulness.chosen_metrics())
        table_col.dataframe(faithfulness.table(results, more), hide_index=True, placeholder=MISSING, width="stretch",
                            column_config={"deletion AUC": st.column_config.NumberColumn(format="%.3f"),
                                           "insertion AUC": st.column_config.NumberColumn(format="%.3f"),
                                           "kept %": st.column_config.NumberColumn(format="%.1f"),
                                           "seconds": st.column_config.NumberColumn(format="%.2f")})
        table_col.caption("Deletion: the most salient pixels are replaced by a blurred copy step by step; a faithful "
                          "map makes the probability fall fast (low area). Insertion: they are put back (high area "
                          f"is better). {faithfulness.STEPS} steps per curve. For many photos use the Evaluate page.")
    return results


def downloads(selection: Selection, sides: Sequence[Side], shown, fig, caption: str, style: Mapping[str, Any],
              view: str, results: Mapping[str, Any]) -> None:
    """Compare's downloads (the comparison PNG, the report, each map)."""
    st.subheader("Downloads")
    download_buttons.compare_downloads(selection, sides, shown, fig, caption, style, view, results)


def explain_downloads(selection: Selection, sides: Sequence[Side], shown, style: Mapping[str, Any]) -> None:
    """Explain's downloads (each map, the superpixel scores, the whole result)."""
    st.subheader("Downloads")
    download_buttons.explain_downloads(selection, sides, shown, style)


def predictions_chart(selection: Selection, forward_pass: ForwardPass, target: int, container=st) -> None:
    """The top-K predictions of the sidebar's model, the explained class highlighted."""
    container.plotly_chart(maps.predictions_figure(forward_pass, selection.model.labels, selection.topk,
                                                   highlight=target),
                           key="predictions", width=520, config={"displayModeBar": False})


def explain_numbers(sides: Sequence[Side], style: Mapping[str, Any]) -> None:
    """Explain's numbers beside the predictions: the class's probability, and the superpixels of a superpixel side."""
    first = sides[0].explanation
    row = st.container(horizontal=True, gap="large", width="content")
    a = b = c = row
    a.metric("Probability", f"{first.probability:.1%}", help=f"rank #{first.rank + 1}, logit {first.logit:.2f}")
    with_segments = [s for s in sides if s.explanation.segment_scores is not None]
    if with_segments:
        seg = with_segments[0].explanation
        b.metric("Superpixels", f"{seg.segment_ids.size}")
        c.metric("Kept", f"{int(seg.kept_segments.sum())}",
                 help=f"Superpixels kept by the {md(with_segments[0].condition.title)} mask: "
                      f"{comparison.kept_area(with_segments[0]):.0%} of the photo at threshold "
                      f"{style['threshold']:.2f}")


def topk_section(selection: Selection, sides: Sequence[Side], style: Mapping[str, Any]) -> None:
    """A row of both maps per top-K class, behind a toggle."""
    st.subheader("Top-K classes")
    if controls.toggle(f"Show a row per top-{selection.topk} class (A | B)", "topk_rows"):
        for row in comparison.topk_rows(sides, selection, style):
            st.plotly_chart(maps.panels_figure(row, panel_width=520), key=f"topk_{row[0].title}")
    else:
        st.caption("Hidden: switch on to draw both maps for each of the top-K classes (change K in the sidebar).")


def timings_section(selection: Selection, sides: Sequence[Side]) -> None:
    """Seconds of each step of both explanations."""
    with st.expander("Timings", expanded=False):
        st.plotly_chart(maps.timings_figure({f"{s.name} {step}": v for s in sides
                                             for step, v in comparison.timings(s).items()}), key="timings")
        st.caption(f"Seconds of each step when the result was first computed, on "
                   f"{models.device_label(selection.model)}, for a {selection.image.shape[1]}x"
                   f"{selection.image.shape[0]} px photo; cached since, and shared by every class.")


#: Session key of the superpixel picked in the table: ``(table token, superpixel id)`` or None.
HIGHLIGHT_KEY = "_superpixel_highlight"


def _table_token(selection: Selection, side: Side) -> str:
    """What the superpixel table describes (photo, condition, class): a pick is shown only on the same table."""
    return f"{selection.image_key}|{side.condition!r}|{side.class_index}"


def highlighted(selection: Selection, sides: Sequence[Side]) -> int | None:
    """The superpixel id picked in the superpixel table of these sides, or None (nothing picked, or another table)."""
    side = comparison.segment_side(sides)
    picked = st.session_state.get(HIGHLIGHT_KEY)
    if side is None or not picked or picked[0] != _table_token(selection, side):
        return None
    return int(picked[1])


def superpixel_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The shown table of :func:`ui.exports.files.superpixel_rows`: "kept" as yes/no, no pixel count."""
    table = pd.DataFrame(list(rows)).drop(columns="area_px")
    table["kept"] = [maps.KEPT_TEXT[int(bool(k))] for k in table["kept"]]
    return table


def superpixel_section(selection: Selection, sides: Sequence[Side], style: Mapping[str, Any]) -> None:
    """Explain's superpixel view of the first superpixel side: the masked photo, the best superpixels, the table.

    Picking a row of the table outlines that superpixel on the maps above (:func:`highlighted`).
    """
    seg_side = comparison.segment_side(sides)
    if seg_side is None:
        return
    seg = seg_side.explanation
    image = display(selection)
    st.subheader(f"Masked photo and superpixel scores ({md(seg_side.condition.title)})")
    masked_col, bars_col = st.columns(2)
    masked_col.image(masked_image(image, controls.display_mask(seg.mask, image.shape[:2])),
                     caption=f"Superpixels scoring above {style['threshold']:.2f} x the best score",
                     width="stretch")
    bars_col.plotly_chart(maps.superpixel_bar_figure(seg, n=15), key="superpixel_bars")
    rows = files.superpixel_rows(seg)
    table = superpixel_table(rows)
    token = _table_token(selection, seg_side)

    def pick() -> None:
        state = st.session_state.get("superpixel_table")
        chosen = list(state["selection"]["rows"]) if state else []
        st.session_state[HIGHLIGHT_KEY] = (token, rows[chosen[0]]["id"]) if chosen and chosen[0] < len(rows) else None

    st.dataframe(
        table, hide_index=True, placeholder=MISSING, width="stretch", height=300, key="superpixel_table",
        on_select=pick, selection_mode="single-row",
        column_config={
            "id": st.column_config.NumberColumn("Superpixel", format="#%d"),
            "score": st.column_config.ProgressColumn("Score", format="%.3f", min_value=0.0,
                                                     max_value=max(1e-9, float(table["score"].max()))),
            "area_pct": st.column_config.NumberColumn("Area (% of photo)", format="%.2f"),
            "kept": st.column_config.TextColumn("Kept"),
        },
    )
    st.caption("Click a column header to sort; pick a row (the box at its left) to outline that superpixel on the "
               "map. The numbers are the ones *Region numbers* (in Display) writes on the map.")
