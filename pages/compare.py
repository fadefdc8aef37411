"""Compare: two conditions (model, method) on the same photo and class, big linked maps on honest scales."""

import streamlit as st

from ui import cache, comparison, downloads, faithfulness, figures, page, session, state, widgets, workspace
from ui.evaluation_figures import faithfulness_curves_figure

page.setup("Compare", script="pages/compare.py", wide=True)
st.title("Compare two explanations")
selection = session.require()
with session.guard("the Compare page"):
    forward = state.forward(selection)
    available = cache.availability()
    usable = [name for name in cache.registry().specs if available.get(name, (False,))[0]]

    pick_a, pick_b = st.columns(2, gap="large")
    with pick_a:
        condition_a = widgets.condition_picker("left", selection, usable)
    with pick_b:
        condition_b = widgets.condition_picker("right", selection, usable)
    class_col, view_col = st.columns([3, 2], gap="large")
    target = widgets.target_class(selection, forward, class_col)
    view = widgets.bound("radio", "View", "view", view_col, options=list(widgets.VIEWS), horizontal=True,
                         help="Side by side; Swipe: one map over the other, split by a slider; "
                              "Difference: B - A on a diverging scale fitted to the data; "
                              "Stacked: A above B (phones and narrow windows).")
    style = widgets.display_controls(superpixels=condition_a.uses_superpixels or condition_b.uses_superpixels)
    label = selection.model.labels[target]

    sides = [comparison.compute_side("A", condition_a, selection, label, style["scale"]),
             comparison.compute_side("B", condition_b, selection, label, style["scale"])]
    for side in sides:
        if side.problem:
            st.error(side.problem)
        elif not side.same_class:
            st.warning(f"{side.condition.model_name} has no class '{label}': side {side.name} explains its "
                       f"top-1 class '{side.explanation.label}' instead.")
    if any(side.problem for side in sides):
        st.stop()

    split = 0.5
    if view == "Swipe":
        split = widgets.bound("slider", "Swipe: A left of the line, B right of it (% of the width)", "swipe",
                              min_value=0, max_value=100, step=1) / 100.0
    shown, difference = comparison.panels(sides, state.display(selection), view, style, split)
    fig = figures.panels_figure(shown, split=split if view == "Swipe" else None, stacked=view == "Stacked",
                                panel_width=680 if len(shown) <= 2 else 450)
    st.plotly_chart(fig, key="compare_maps", config={"scrollZoom": True, "displaylogo": False})
    caption = comparison.caption(sides, style, view, difference)
    st.caption(caption)

    cols = st.columns(4)
    for col, side in zip(cols, sides):
        e = side.explanation
        col.metric(f"{side.name}: probability", f"{e.probability:.1%}",
                   help=f"{e.label} on {side.condition.model_name}: rank #{e.rank + 1}, logit {e.logit:.2f}")
    cols[2].metric("Agreement (Pearson r)", f"{comparison.agreement(sides):.3f}",
                   help="Correlation of the two maps over the photo (1: the same shape).")
    kept = [s for s in sides if s.explanation.kept_segments is not None]
    if kept:
        e = kept[0].explanation
        cols[3].metric(f"{kept[0].name}: kept area", f"{e.segment_areas[e.kept_segments].sum() / e.mask.size:.0%}",
                       help=f"Share of the photo in superpixels kept at threshold {style['threshold']:.2f}.")

    st.subheader("Faithfulness")
    results = faithfulness.view([s.condition for s in sides], [s.explanation for s in sides], selection.image_key,
                                selection.image, {s.condition.model_name: s.forward.timings.get("forward", 0.05)
                                                  for s in sides})
    measured = {name: curves for name, curves in results.items() if curves is not None}
    if measured:
        curves_col, table_col = st.columns([3, 2])
        curves_col.plotly_chart(faithfulness_curves_figure(measured, title=f"Faithfulness for {label}"),
                                key="faithfulness_curves")
        table_col.dataframe(faithfulness.table(results), hide_index=True, width="stretch",
                            column_config={"deletion AUC": st.column_config.NumberColumn(format="%.3f"),
                                           "insertion AUC": st.column_config.NumberColumn(format="%.3f"),
                                           "kept %": st.column_config.NumberColumn(format="%.1f"),
                                           "seconds": st.column_config.NumberColumn(format="%.2f")})
        table_col.caption("Deletion: the most salient pixels are replaced by a blurred copy step by step; a faithful "
                          "map makes the probability fall fast (low area). Insertion: they are put back (high area "
                          f"is better). {faithfulness.STEPS} steps per curve. For many photos use the Batch page.")

    st.subheader("Downloads")
    downloads.compare_downloads(selection, sides, shown, fig, caption, style, view, results)

    st.subheader("Top-K classes")
    if widgets.toggle(f"Show a row per top-{selection.topk} class (A | B)", "topk_rows"):
        for row in comparison.topk_rows(sides, selection, style):
            st.plotly_chart(figures.panels_figure(row, panel_width=520), key=f"topk_{row[0].title}")
    else:
        st.caption("Hidden: switch on to draw both maps for each of the top-K classes (change K in the sidebar).")

    with st.expander("Timings", expanded=False):
        st.plotly_chart(figures.timings_figure({f"{s.name} {step}": v for s in sides
                                                for step, v in comparison.timings(s).items()}), key="timings")
        st.caption(f"Seconds of each step when the result was first computed, on "
                   f"{cache.device_label(selection.model)}, for a {selection.image.shape[1]}x"
                   f"{selection.image.shape[0]} px photo; cached since, and shared by every class.")

    # the view goes into the URL; "Copy link" and "Save to workspace" at the top of the page
    workspace.share("compare", selection, sides, style)
