"""CAM & SeCAM explorer: ``streamlit run dashboard.py``.

This entry script is the Explain page (``/``): predictions, CAM and SeCAM for
one class, the masked photo, per-superpixel scores, downloads. The other pages
are the scripts in ``pages/`` (``/compare``, ``/batch``, ``/method``,
``/models``); each one, like this one, starts with ``page.setup`` (page config,
navigation, the shared sidebar), so any of them can be the first page opened.
"""

import pandas as pd
import streamlit as st

from explainers.overlays import masked_image
from ui import exports, figures, page, state, widgets, workspace

page.setup("Explain")
st.title("Explain a prediction")
selection = state.require()
with state.guard("the Explain page"):
    forward = state.forward(selection)
    labels = selection.model.labels

    left, right = st.columns([3, 2], gap="large")
    with right:
        target = widgets.target_class(selection, forward)
        st.plotly_chart(figures.predictions_figure(forward, labels, selection.topk, highlight=target),
                        key="predictions", config={"displayModeBar": False})
    with left:
        colorscale, opacity = widgets.map_style()
        threshold = widgets.threshold()
        boundaries = widgets.toggle("Superpixel boundaries", "boundaries")
    [cam], [secam] = state.explain(selection, [target], threshold)
    image = state.display(selection)
    with right:
        a, b, c = st.columns(3)
        a.metric("Probability", f"{cam.probability:.1%}", help=f"rank #{cam.rank + 1}, logit {cam.logit:.2f}")
        b.metric("Superpixels", f"{secam.segment_ids.size}")
        c.metric("Kept", f"{int(secam.kept_segments.sum())}",
                 help=f"Superpixels kept by the SeCAM mask: "
                      f"{secam.segment_areas[secam.kept_segments].sum() / secam.mask.size:.0%} of the photo "
                      f"at threshold {threshold:.2f}")

    st.subheader(f"Why '{cam.label}'?")
    cam_col, secam_col = st.columns(2)
    cam_col.plotly_chart(figures.cam_figure(image, cam, colorscale=colorscale, opacity=opacity), key="cam_map")
    cam_col.caption("CAM: the class's weighted sum of the last feature maps, min-max normalised and "
                    "upsampled to the photo. Hover for the pixel and its value.")
    secam_col.plotly_chart(figures.secam_figure(image, secam, colorscale=colorscale, opacity=opacity,
                                                boundaries=boundaries), key="secam_map")
    secam_col.caption("SeCAM: each SLIC superpixel coloured by its mean CAM value. "
                      "Hover for the superpixel id, score and area.")

    st.subheader("Masked photo and superpixel scores")
    masked_col, bars_col = st.columns(2)
    masked_col.image(masked_image(image, widgets.display_mask(secam.mask, image.shape[:2])),
                     caption=f"SeCAM output (the tutorial's picture): superpixels scoring above "
                             f"{threshold:.2f} x the best score", width="stretch")
    bars_col.plotly_chart(figures.superpixel_bar_figure(secam, n=15), key="superpixel_bars")

    table = pd.DataFrame(exports.superpixel_rows(secam)).drop(columns="area_px")
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
    widgets.downloads(selection, forward, cam, secam)

    # the view goes into the URL; "Copy link" and "Save to workspace" in the sidebar
    workspace.share("explain", selection, [cam, secam],
                    {selection.model_name: workspace.top_predictions(forward, labels, selection.topk)})
