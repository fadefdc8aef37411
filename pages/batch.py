"""Batch: every chosen method on many photos (uploads or a folder on the server), with faithfulness and timings."""

import streamlit as st

from explainers import ExplainersError
from explainers.evaluate import make_explainers, read_labels_csv, results_csv
from ui import batch, page, state
from ui.method_params import method_parameters
from ui.evaluation_figures import auc_summary_figure, faithfulness_curves_figure, summary_rows, time_summary_figure

FOLDER, UPLOAD = "Folder on the server", "Upload photos"

page.setup("Batch")
st.title("Batch evaluation")
st.caption("Explains every photo with each method, then measures how faithful each map is to the model: "
           "deletion (remove the most salient pixels first; the probability should fall fast, low area) and "
           "insertion (put them back into a blurred copy; it should rise fast, high area), next to a random map. "
           "The same computation as `python -m explainers evaluate`. It runs on the sidebar's model; the sidebar's "
           "photo is not used here.")

selection = st.session_state.get("selection")
if selection is None or selection.model is None:
    st.error("Pick a usable model in the sidebar first (the batch runs on the sidebar's model).")
    st.stop()
model = selection.model

with state.guard("the Batch page"):
    has_sample = bool(batch.default_folder())
    source = st.radio("Photos", [FOLDER, UPLOAD] if has_sample else [UPLOAD, FOLDER], horizontal=True,
                      key="batch_source")
    uploads, labels_path = [], None
    if source == FOLDER:
        left, right = st.columns([4, 1])
        folder = left.text_input("Folder (or glob) on the server", value=batch.default_folder(), key="batch_folder",
                                 help="Image files directly in this folder (not sub-folders), sorted by name; "
                                      "or a glob such as /data/photos/*.jpg.")
        limit = right.number_input("Photos (at most)", 1, batch.LIMIT_MAX, batch.DEFAULT_LIMIT, key="batch_limit",
                                   help="The first photos by name; each takes a few seconds per method on a CPU.")
        found = batch.labels_file(folder)
        if found is not None and st.toggle(f"Explain the true class from {found.name} and report accuracy",
                                           key="batch_labels",
                                           help=f"{found} lists `file,class_index`; without it each photo's "
                                                "top-1 prediction is explained."):
            labels_path = found
    else:
        uploads = st.file_uploader("Photos: JPEG, PNG, WebP, BMP or TIFF", type=state.UPLOAD_TYPES,
                                   accept_multiple_files=True, key="batch_uploads")
    methods_col, steps_col = st.columns([4, 1])
    options = batch.method_options(model)
    methods = methods_col.multiselect("Methods", options, default=batch.default_methods(model), key="batch_methods",
                                      format_func=batch.method_title,
                                      help="Every registered method this model's head allows (plug-ins too). "
                                           "A random map is always added as the baseline.")
    steps = steps_col.slider("Curve steps", *batch.STEPS, key="batch_steps",
                             help="Points of the deletion and insertion curves (2 x (steps + 1) images per map "
                                  "through the model).")
    params = method_parameters(methods, "batch_param", {m: batch.initial_params(m) for m in methods})

    if st.button("Run the evaluation", type="primary", key="batch_run", disabled=not methods):
        try:
            photos = (batch.folder_photos(folder, int(limit)) if source == FOLDER
                      else [(u.name, u.getvalue()) for u in uploads or []])
            if not photos:
                raise ExplainersError("upload one or more photos first (or pick a folder on the server)")
            chosen = make_explainers(methods, model, params)
            labels = read_labels_csv(labels_path) if labels_path is not None else None
        except (ExplainersError, TypeError) as exc:
            st.error(batch.plain(exc))
        else:
            bar = st.progress(0.0, text=f"0 of {len(photos)} photos")

            def progress(done: int, total: int, name: str) -> None:
                bar.progress(done / total, text=f"{done} of {total} photos (last: {name})")

            st.session_state["batch_result"] = batch.run_evaluation(
                model, photos, chosen, labels, int(steps), str(labels_path) if labels_path else None, progress)

    outcome = st.session_state.get("batch_result")
    if outcome is not None:
        results, failures, summary = outcome["results"], outcome["failures"], outcome["summary"]
        for failure in failures:
            st.error(batch.plain(f"{failure.file} was skipped: {failure.message}"))
        document = outcome["document"]
        names = ", ".join(document["params"])
        accuracy = summary["accuracy"]
        st.success(f"Evaluated {summary['photos']} photo(s) with {names} on {document['model']} "
                   f"({document['device']}); {len(failures)} failed."
                   + (f" Top-1 accuracy: {accuracy['top1']:.0%} of {accuracy['n']} (true class explained)."
                      if accuracy else ""))
        if results:
            left, right = st.columns(2)
            left.plotly_chart(auc_summary_figure(summary, title="Mean AUC per method (95% interval)"),
                              key="batch_auc", config={"displayModeBar": False})
            right.plotly_chart(time_summary_figure(summary), key="batch_time", config={"displayModeBar": False})
            st.plotly_chart(faithfulness_curves_figure(summary["methods"], title="Mean curves over the photos"),
                            key="batch_curves")
            st.subheader("Each photo's maps")
            st.caption("The photo, then each method's map over it (red: most salient), with its deletion and "
                       "insertion AUC on that photo.")
            for row in outcome.get("gallery", []):
                tiles = st.columns(len(row["tiles"]))
                for col, (caption, tile) in zip(tiles, row["tiles"]):
                    col.image(tile, caption=caption, width="stretch")
            st.subheader("Summary")
            st.dataframe(summary_rows(summary), hide_index=True, width="stretch", key="batch_summary",
                         column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                        ("deletion_auc", "insertion_auc", "explain_s", "kept_fraction")})
            st.subheader("Results: one row per photo and method")
            st.dataframe(batch.results_frame(results), hide_index=True, width="stretch", key="batch_results")
            files = st.columns(2)
            files[0].download_button("results.csv", results_csv(results), file_name="results.csv", mime="text/csv",
                                     width="stretch", on_click="ignore")
            files[1].download_button("summary.json", batch.summary_json(document), file_name="summary.json",
                                     mime="application/json", width="stretch", on_click="ignore")
            st.caption("Intervals: 95% bootstrap percentile intervals of the mean over the photos (they stay within "
                       "the values' range; with few photos they are narrow because there is little to resample). "
                       "Times are wall seconds on this server, each method paying for its own forward pass. "
                       + ("The explained class is each photo's true class (labels file)." if accuracy else
                          "The explained class is each photo's top-1 prediction."))
