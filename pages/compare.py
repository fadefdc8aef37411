"""Compare: CAM and SeCAM side by side for the same photo, model and classes, with timings and differences."""

import pandas as pd
import streamlit as st

from ui import figures, page, state, widgets, workspace
from ui.analysis import map_agreement
from ui.evaluation_figures import faithfulness_curves_figure

page.setup("Compare")
st.title("CAM vs SeCAM")
selection = state.require()
with state.guard("the Compare page"):
    forward = state.forward(selection)
    controls, picker = st.columns([3, 2], gap="large")
    with controls:
        colorscale, opacity = widgets.map_style()
        difference = widgets.toggle("Show the difference (SeCAM - CAM)", "difference")
    with picker:
        target = widgets.target_class(selection, forward)
        threshold = float(state.value("threshold"))
    classes = forward.top(selection.topk)
    if target not in classes:  # the chosen class is shown first even when it is not in the top-K
        classes = [target, *classes]
    cams, secams = state.explain(selection, classes, threshold)
    image = state.display(selection)

    st.caption(f"One row per class ({'the chosen class and ' if classes[0] == target and target not in forward.top(selection.topk) else ''}"
               f"top-{selection.topk}; change top-K in the sidebar). Zoom or pan one panel and the others follow; "
               "CAM and SeCAM share one colour scale in [0, 1].")
    st.plotly_chart(figures.compare_figure(image, list(zip(cams, secams)), colorscale=colorscale, opacity=opacity,
                                           difference=difference), key="compare_grid")

    st.subheader("Timings")
    cam, secam = cams[0], secams[0]
    steps = {"forward": cam.timings.get("forward", 0.0), "cam": cam.timings.get("cam", 0.0),
             "slic": secam.timings.get("slic", 0.0), "scoring": secam.timings.get("scoring", 0.0)}
    cols = st.columns(4)
    for col, (step, seconds) in zip(cols, steps.items()):
        col.metric(step.upper() if step in ("cam", "slic") else step.capitalize(), f"{seconds * 1000:.1f} ms")
    st.plotly_chart(figures.timings_figure(steps), key="timings", config={"displayModeBar": False})
    st.caption(f"Measured when each result was first computed, on {state.device_label(selection.model)}, for "
               f"a {selection.image.shape[1]}x{selection.image.shape[0]} px photo. The forward pass and SLIC run "
               "once per photo (then cached) and are shared by every class; CAM and scoring are per class.")

    st.subheader("Per class")
    rows = []
    for cam, secam in zip(cams, secams):
        rows.append({"rank": cam.rank + 1, "class": cam.label, "probability": cam.probability,
                     "agreement (Pearson r)": map_agreement(cam.saliency, secam.saliency),
                     "kept superpixels": int(secam.kept_segments.sum()),
                     "kept area %": 100.0 * float(secam.segment_areas[secam.kept_segments].sum() / secam.mask.size)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"probability": st.column_config.NumberColumn(format="percent"),
                                "agreement (Pearson r)": st.column_config.NumberColumn(format="%.3f"),
                                "kept area %": st.column_config.NumberColumn(format="%.1f")})
    st.caption("Agreement: correlation of the CAM and SeCAM maps over the photo (1 = same shape). "
               f"Kept: SeCAM mask at threshold {threshold:.2f} (set it on the Explain page).")

    st.subheader("Faithfulness")
    measure = widgets.toggle("Measure faithfulness: deletion and insertion curves of CAM, SeCAM, Grad-CAM and a "
                             "random map for the chosen class", "faithfulness")
    if measure:
        index = classes.index(target)
        curves = state.faithfulness_curves(selection, cams[index], secams[index])
        st.plotly_chart(faithfulness_curves_figure(curves, title=f"Faithfulness for {selection.model.labels[target]}"),
                        key="faithfulness_curves")
        st.dataframe(pd.DataFrame([{"method": name, "deletion AUC": c.deletion_auc, "insertion AUC": c.insertion_auc,
                                    "seconds": c.timings["curves"]} for name, c in curves.items()]),
                     hide_index=True, width="stretch",
                     column_config={"deletion AUC": st.column_config.NumberColumn(format="%.3f"),
                                    "insertion AUC": st.column_config.NumberColumn(format="%.3f"),
                                    "seconds": st.column_config.NumberColumn(format="%.2f")})
        st.caption(f"Deletion: the most salient pixels of the {selection.model.input_size} px input are replaced by a "
                   "blurred copy, step by step; a faithful map makes the probability fall fast (low area). "
                   "Insertion: they are put back into the blurred copy (high area is better). "
                   f"{state.FAITHFULNESS_STEPS} steps, {2 * (state.FAITHFULNESS_STEPS + 1)} images per method; "
                   "measured once per photo, class and SLIC setting, so the sliders do not measure again. "
                   "For many photos use the Batch page."
                   + (" On this model (GAP + linear head) Grad-CAM's map is proportional to CAM's, so their curves "
                      "coincide and the Grad-CAM line hides the CAM line." if selection.model.cam_exact else ""))
    else:
        st.caption("Off: each method pushes a few dozen copies of the photo through the model (seconds on a CPU).")

    # the view goes into the URL; "Copy link" and "Save to workspace" in the sidebar
    index = classes.index(target)
    workspace.share("compare", selection, [cams[index], secams[index]],
                    {selection.model_name: workspace.top_predictions(forward, selection.model.labels, selection.topk)})
