"""CAM & SeCAM explorer: ``streamlit run dashboard.py`` (or ``bash scripts/dashboard.sh``, which loads the
default model as the server starts).

This entry script is the Explain page (``/``): predictions, the two methods'
maps for one class (Compare's A and B methods, on the sidebar's model), the
masked photo, per-superpixel scores, downloads. The other pages are the scripts
in ``pages/``; each one, like this one, starts with ``page.setup``, so any of
them can be the first page opened.
"""

import pandas as pd
import streamlit as st

import explainers
from explainers.overlays import masked_image
from ui import cache, comparison, downloads, exports, figures, page, session, state, widgets, workspace

page.setup("Explain", script="dashboard.py")
st.title("Explain a prediction")
selection = session.require()
with session.guard("the Explain page"):
    forward = state.forward(selection)
    labels = selection.model.labels

    left, right = st.columns([3, 2], gap="large")
    with right:
        target = widgets.target_class(selection, forward)
        st.plotly_chart(figures.predictions_figure(forward, labels, selection.topk, highlight=target),
                        key="predictions", config={"displayModeBar": False})
    with left:
        methods = st.columns(2)
        conditions = []
        for col, side in zip(methods, widgets.SIDES):
            method = widgets.bound("selectbox", f"Method {'A' if side == 'left' else 'B'}", f"{side}_method", col,
                                   options=explainers.list_explainers(),
                                   format_func=lambda m: explainers.EXPLAINERS[m].title)
            conditions.append(cache.make_condition(selection.model_name, method, widgets.shared_params(selection)))
        style = widgets.display_controls(superpixels=any(c.uses_superpixels for c in conditions))
    label = labels[target]
    sides = [comparison.compute_side(name, c, selection, label, style["scale"]) for name, c in zip("AB", conditions)]
    for side in sides:
        if side.problem:
            st.error(side.problem)
    if any(side.problem for side in sides):
        st.stop()
    first = sides[0].explanation
    with right:
        a, b, c = st.columns(3)
        a.metric("Probability", f"{first.probability:.1%}", help=f"rank #{first.rank + 1}, logit {first.logit:.2f}")
        with_segments = [s for s in sides if s.explanation.segment_scores is not None]
        if with_segments:
            seg = with_segments[0].explanation
            b.metric("Superpixels", f"{seg.segment_ids.size}")
            c.metric("Kept", f"{int(seg.kept_segments.sum())}",
                     help=f"Superpixels kept by the {with_segments[0].condition.title} mask: "
                          f"{seg.segment_areas[seg.kept_segments].sum() / seg.mask.size:.0%} of the photo "
                          f"at threshold {style['threshold']:.2f}")

    st.subheader(f"Why '{label}'?")
    shown, _ = comparison.panels(sides, state.display(selection), "Side by side", style)
    st.plotly_chart(figures.panels_figure(shown, panel_width=560), key="maps",
                    config={"scrollZoom": True, "displaylogo": False})
    st.caption(comparison.caption(sides, style, "Side by side", None)
               + " Hover: the pixel's value; for superpixel methods the superpixel's id, score, area and whether "
                 "it is kept. Compare other methods or models on the Compare page.")

    if with_segments:
        seg_side = with_segments[0]
        seg = seg_side.explanation
        image = state.display(selection)
        st.subheader(f"Masked photo and superpixel scores ({seg_side.condition.title})")
        masked_col, bars_col = st.columns(2)
        masked_col.image(masked_image(image, widgets.display_mask(seg.mask, image.shape[:2])),
                         caption=f"Superpixels scoring above {style['threshold']:.2f} x the best score",
                         width="stretch")
        bars_col.plotly_chart(figures.superpixel_bar_figure(seg, n=15), key="superpixel_bars")
        table = pd.DataFrame(exports.superpixel_rows(seg)).drop(columns="area_px")
        st.dataframe(
            table, hide_index=True, width="stretch", height=300, key="superpixel_table",
            column_config={
                "id": st.column_config.NumberColumn("Superpixel", format="%d"),
                "score": st.column_config.ProgressColumn("Score", format="%.3f", min_value=0.0,
                                                         max_value=max(1e-9, float(table["score"].max()))),
                "area_pct": st.column_config.NumberColumn("Area (% of photo)", format="%.2f"),
                "kept": st.column_config.CheckboxColumn("Kept"),
            },
        )
        st.caption("Click a column header to sort.")

    st.subheader("Downloads")
    downloads.explain_downloads(selection, sides, shown, style)

    # the view goes into the URL; "Copy link" and "Save to workspace" at the top of the page
    workspace.share("explain", selection, sides, style)
