"""The Evaluate page's sections: the photos and methods to run, the run, its results.

The helpers (the photo sources, the methods, the metrics, the tables, the gallery) validate what was
typed and shape the library's results (:func:`explainers.evaluate.iter_evaluate`,
:func:`~explainers.evaluate.summary_document`, :func:`~explainers.evaluate.verdict_rows`); the methods and
the metrics come from their registries (built-ins and plug-ins): none is named here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from explainers import EXPLAINERS, Explainer, ExplainersError, LoadedModel
from explainers.errors import ParameterError
from explainers.evaluate import (DEFAULT_METRICS, MethodResult, PhotoOutcome, comparisons, iter_evaluate,
                                 make_explainers, make_metrics, metric_column, read_labels_csv, result_columns,
                                 results_csv, summary_document, summary_json, verdict_rows)
from explainers.evaluate.summary import measured_metrics
from explainers.evaluate.verdicts import metric_title, sanity_verdict
from explainers.metrics import METRICS, Metric, randomisation_check
from explainers.models.labels import imagenet_class_from_name, imagenet_labels
from explainers_team.roots import MAX_PATH_CHARS, Listing, is_under_roots, resolve_under_roots, server_photos

from ..text import MISSING, md
from ..compute.photos import UPLOAD_TYPES, upload_types_text
from ..app.session import DEFAULTS
from ..figures.evaluation import (agreement_figure, auc_summary_figure, faithfulness_curves_figure, summary_rows,
                                  time_summary_figure)
from ..figures.scales import paint
from ..widgets.params import method_parameters

FOLDER, UPLOAD = "Folder on the server", "Upload photos"
#: The environment variable naming a folder of photos to suggest (the team's sample, e.g. an ImageNet subset).
SAMPLE_ENV = "EXPLAINERS_SAMPLE_DIR"
#: Most photos one run may take from a folder (a run holds the shared model for its whole length).
LIMIT_MAX = 200
DEFAULT_LIMIT = 5
#: Deletion/insertion steps: (min, max, default); the CLI's default is 20.
STEPS_RANGE = (2, 50, 10)
#: Photos the sanity check explains after each randomisation step (the first ones evaluated).
SANITY_PHOTOS = 3
#: Opacity of the maps over the photos in the gallery.
GALLERY_OPACITY = 0.5


def default_folder() -> str:
    """The folder to suggest: ``$EXPLAINERS_SAMPLE_DIR`` when it names a folder under the allowed roots, else nothing."""
    folder = os.environ.get(SAMPLE_ENV, "").strip()
    return folder if folder and Path(folder).expanduser().is_dir() and is_under_roots(folder) else ""


def method_options(model: LoadedModel) -> list[str]:
    """The methods the page offers for ``model``: every registered one that supports it, in registry order."""
    return [n for n, cls in EXPLAINERS.items() if cls.supports(model)]


def default_methods(model: LoadedModel) -> list[str]:
    """The methods picked at first: the first two the model allows (the registry's order is the default's)."""
    return method_options(model)[:2]


def method_title(name: str) -> str:
    """How the picker shows a method: its name, and its title when that differs (``gradcam (Grad-CAM)``)."""
    title = EXPLAINERS[name].title if name in EXPLAINERS else name
    return name if title.lower() == name else f"{name} ({title})"


def metric_options() -> list[str]:
    """The metrics the page offers: every registered one (built-ins, then plug-ins), in registry order."""
    return list(METRICS)


def metric_label(name: str) -> str:
    """How the picker shows a metric: its title and which way is better (``Deletion AUC (lower is better)``)."""
    cls = METRICS.get(name)
    return name if cls is None else f"{metric_title(name)} ({cls.direction} is better)"


def page_metrics(names: Sequence[str], steps: int) -> list[Metric]:
    """The chosen metrics, deletion and insertion with the page's curve steps, held to the server's maximums.

    Raises
    ------
    ParameterError
        No metric chosen, or an unknown one.
    """
    if not names:
        raise ParameterError("choose one or more metrics")
    curves = {"steps": int(steps)}
    return make_metrics(list(names), {m: curves for m in names if m in DEFAULT_METRICS}, server=True)


def upload_labels(names: Sequence[str], model: LoadedModel) -> dict[str, int] | None:
    """True classes from ImageNet-style file names (``n01440764_...``), when every name carries one.

    Returns
    -------
    dict or None
        File name -> class index; None when the model does not use the ImageNet-1k classes or a name
        carries no WordNet id (then each photo's top-1 prediction is explained).
    """
    if not names or tuple(model.labels) != imagenet_labels():
        return None
    found = {name: imagenet_class_from_name(name) for name in names}
    if any(c is None for c in found.values()):
        return None
    return {name: int(c) for name, c in found.items() if c is not None}


def initial_params(name: str) -> dict[str, Any]:
    """The values the page's inputs start from: the method's defaults, then its ``quick_params``."""
    cls = EXPLAINERS[name]
    return {**cls.defaults, **cls.quick_params}


def folder_photos(folder: str, limit: int) -> Listing:
    """The first ``limit`` photos (by name) of a folder or glob on the server, each checked under the roots.

    Raises
    ------
    ParameterError
        Empty path, a limit out of range, a path that does not exist, or no image file in it.
    explainers_team.roots.PathNotAllowedError
        The path is outside ``EXPLAINERS_DATA_ROOTS``.
    """
    text = (folder or "").strip()
    if not text:
        raise ParameterError("type the path of a folder on the server, e.g. "
                             f"{default_folder() or '/data/photos'}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
        raise ParameterError(f"the number of photos must be in [1, {LIMIT_MAX}], got {limit!r}")
    return server_photos(text, limit)


def labels_file(folder: str) -> Path | None:
    """``labels.csv`` (columns ``file,class_index``) in the folder, or in a glob's folder, if there is one."""
    text = (folder or "").strip()
    if not text or not is_under_roots(text):
        return None
    path = resolve_under_roots(text)
    candidate = (path if path.is_dir() else path.parent) / "labels.csv"
    return candidate if candidate.is_file() and is_under_roots(candidate) else None


def gallery_row(outcome: PhotoOutcome, side: int = 200, colorscale: str = DEFAULTS["colorscale"]) -> dict[str, Any]:
    """One photo of the gallery: the photo and each method's map over it, at most ``side`` px, with captions.

    Parameters
    ----------
    outcome : PhotoOutcome
        From :func:`explainers.evaluate.iter_evaluate`, evaluated (not failed).
    side : int
        Long side of each tile in pixels (small: a run keeps one row per photo in the session).
    colorscale : str
        The session's colour scale (:data:`ui.figures.scales.COLORSCALES`), as on Explain and Compare.

    Returns
    -------
    dict
        ``{"file", "tiles": [(caption, (h, w, 3) uint8 ndarray)]}``; the first tile is the photo, then one
        per method in the run's order, each map min-max scaled over the photo, captioned with its metrics.
    """
    image = outcome.image
    scale = min(1.0, side / max(image.shape[:2]))
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    first = outcome.results[0]
    truth = f", true class {first.true_class}" if first.true_class is not None else ""
    tiles = [(f"{outcome.file}: {first.label}{truth}", small)]
    rows = {r.method: r for r in outcome.results}
    for name, explanation in outcome.explanations.items():
        saliency = cv2.resize(explanation.saliency.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        low, high = float(saliency.min()), float(saliency.max())
        scores = ", ".join(f"{metric_title(m)} {'-' if v is None else format(v, '.2f')}"
                           for m, v in rows[name].scores.items())
        tiles.append((f"{method_title(name)}: {scores}" if scores else method_title(name),
                      paint(small, saliency, colorscale, GALLERY_OPACITY, low, high if high > low else low + 1)))
    return {"file": outcome.file, "tiles": tiles}


def run_evaluation(model: LoadedModel, photos: Sequence, explainers: Mapping[str, Explainer],
                   labels: Mapping[str, int] | None, steps: int, labels_path: str | None = None,
                   on_progress: Callable[[int, int, str], None] | None = None,
                   metrics: Sequence[Metric] | None = None, sanity: bool = False,
                   colorscale: str = DEFAULTS["colorscale"]) -> dict[str, Any]:
    """Run :func:`explainers.evaluate.iter_evaluate` with the chosen metrics and keep what the page shows.

    Parameters
    ----------
    metrics : sequence of Metric, optional
        Default: deletion and insertion with ``steps``.
    sanity : bool
        Also run the randomisation check of each method on the first :data:`SANITY_PHOTOS` photos evaluated.
    colorscale : str
        The gallery's colour scale.

    Returns
    -------
    dict
        ``results`` (MethodResult rows), ``failures``, ``summary``, ``gallery`` (:func:`gallery_row` per
        evaluated photo), ``verdicts`` (:func:`explainers.evaluate.verdict_rows`), ``agreements`` (pair ->
        agreement dict), ``sanity`` (method -> RandomisationCheck, or None) and ``document`` (``summary.json``).
    """
    metrics = list(metrics) if metrics is not None else page_metrics(DEFAULT_METRICS, steps)
    results, failures, gallery, checked = [], [], [], []
    for done in iter_evaluate(model, photos, explainers, labels=labels, metrics=metrics):
        results.extend(done.results)
        if done.failure is not None:
            failures.append(done.failure)
        else:
            gallery.append(gallery_row(done, colorscale=colorscale))
            if len(checked) < SANITY_PHOTOS:
                checked.append((done.image, done.results[0].class_index))
        if on_progress is not None:
            on_progress(done.index + 1, len(photos), done.file)
    checks = None
    if sanity and checked:
        checks = randomisation_check(model, list(explainers.values()), [i for i, _ in checked],
                                     [c for _, c in checked])
    compared = comparisons(results)
    document = summary_document(results, failures, model=model.name, device=str(model.device),
                                explainers=explainers, steps=steps, labels=labels_path, metrics=metrics,
                                sanity=checks, compared=compared)
    return {"results": results, "failures": failures, "summary": document, "gallery": gallery,
            "verdicts": verdict_rows(compared),
            "agreements": {f"{c.method_a} vs {c.method_b}": c.agreement.to_dict() for c in compared},
            "sanity": checks, "document": document}


def results_frame(results: Sequence[MethodResult]) -> pd.DataFrame:
    """The results table: one row per photo and method, the columns of ``results.csv`` (one per metric)."""
    columns = result_columns(measured_metrics(results) or DEFAULT_METRICS)
    return pd.DataFrame([r.row() for r in results], columns=list(columns))


def verdict_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The verdict table: for each pair of methods and metric, who wins, by how much, how sure, in words."""
    frame = pd.DataFrame(list(rows), columns=["pair", "metric", "better", "winner", "by", "interval", "p",
                                              "photos", "verdict"])
    return frame.rename(columns={"better": "better is", "by": "winner's advantage",
                                 "interval": "95% interval", "p": "Wilcoxon p"})


def sanity_frame(checks: Mapping[str, Any]) -> pd.DataFrame:
    """One row per method: passed or not, its mean Spearman and SSIM against the trained model's maps, in words."""
    return pd.DataFrame([{"method": name, "result": "passes" if c.passed else "fails",
                          "mean Spearman": float(c.scores.mean()), "mean SSIM": float(c.ssim.mean()),
                          "photos below the threshold": f"{c.passed_photos} of {len(c.scores)}",
                          "in words": sanity_verdict(c)} for name, c in checks.items()])


def inputs(model: LoadedModel) -> dict[str, Any]:
    """The photos (a server folder or uploads), the methods and their parameters, the curve steps."""
    has_sample = bool(default_folder())
    source = st.radio("Photos", [FOLDER, UPLOAD] if has_sample else [UPLOAD, FOLDER], horizontal=True,
                      key="evaluate_source")
    chosen: dict[str, Any] = {"source": source, "uploads": [], "labels_path": None, "folder": "", "limit": 1}
    if source == FOLDER:
        left, right = st.columns([4, 1])
        chosen["folder"] = left.text_input(
            "Folder (or glob) on the server", value=default_folder(), key="evaluate_folder", max_chars=MAX_PATH_CHARS,
            help="Image files directly in this folder (not sub-folders), sorted by name; or a glob such as "
                 "/data/photos/*.jpg.")
        chosen["limit"] = right.number_input("Photos (at most)", 1, LIMIT_MAX, DEFAULT_LIMIT, key="evaluate_limit",
                                             help="The first photos by name; each takes a few seconds per method "
                                                  "on a CPU.")
        found = labels_file(chosen["folder"])
        if found is not None and st.toggle(f"Explain the true class from {found.name} and report accuracy",
                                           key="evaluate_labels",
                                           help=f"{md(found)} lists `file,class_index`; without it each photo's "
                                                "top-1 prediction is explained."):
            chosen["labels_path"] = found
    else:
        chosen["uploads"] = st.file_uploader(f"Photos: {upload_types_text()}", type=UPLOAD_TYPES,
                                             accept_multiple_files=True, key="evaluate_uploads",
                                             help="Name them as ImageNet does (n01440764_123.JPEG) and their true "
                                                  "class is explained.") or []
        names = [u.name for u in chosen["uploads"]]
        chosen["upload_labels"] = upload_labels(names, model)
        if chosen["upload_labels"] is not None:
            st.caption(f"Every file name carries its ImageNet class (WordNet id): the true class of each of the "
                       f"{len(names)} photos is explained and the accuracy reported.")
    methods_col, steps_col = st.columns([4, 1])
    chosen["methods"] = methods_col.multiselect(
        "Methods", method_options(model), default=default_methods(model), key="evaluate_methods",
        format_func=method_title,
        help="Every registered method this model's head allows (plug-ins too). A random map is always added as "
             "the baseline.")
    chosen["steps"] = steps_col.slider("Curve steps", *STEPS_RANGE, key="evaluate_steps",
                                       help="Points of the deletion and insertion curves (2 x (steps + 1) images per "
                                            "map through the model).")
    metrics_col, sanity_col = st.columns([4, 1])
    chosen["metrics"] = metrics_col.multiselect(
        "Metrics", metric_options(), default=list(DEFAULT_METRICS), key="evaluate_metrics", format_func=metric_label,
        help="Every registered metric (plug-ins too). Each pair of methods is compared on the same photos under "
             "each metric (paired test, bootstrap interval), and the metrics' agreement is shown as a matrix.")
    chosen["sanity"] = sanity_col.toggle(
        "Sanity check", key="evaluate_sanity",
        help=f"Randomise the model's weights layer by layer from the top and explain the first {SANITY_PHOTOS} "
             "photos again: a method whose maps stay the same explains the photo, not the model. Slow: one "
             "explanation per photo, method and layer group.")
    chosen["params"] = method_parameters(chosen["methods"], "evaluate_param",
                                         {m: initial_params(m) for m in chosen["methods"]})
    return chosen


def run(model: LoadedModel, chosen: dict[str, Any]) -> None:
    """Check what was chosen, then evaluate with a progress bar; the outcome is kept in the session."""
    try:
        listing = folder_photos(chosen["folder"], int(chosen["limit"])) if chosen["source"] == FOLDER else None
        photos = listing.photos if listing else [(u.name, u.getvalue()) for u in chosen["uploads"]]
        if listing and listing.refused:
            st.warning(md(f"Left out (they lead outside the allowed folders): {', '.join(listing.refused)}"))
        if not photos:
            raise ExplainersError("upload one or more photos first (or pick a folder on the server)")
        explainers = make_explainers(chosen["methods"], model, chosen["params"], server=True)
        metrics = page_metrics(chosen.get("metrics", DEFAULT_METRICS), int(chosen["steps"]))
        labels_path = chosen["labels_path"]
        labels = read_labels_csv(labels_path) if labels_path is not None else None
        if listing is None and chosen.get("upload_labels") is not None:
            labels = chosen["upload_labels"]
    except (ExplainersError, TypeError) as exc:
        st.error(md(exc))
        return
    bar = st.progress(0.0, text=f"0 of {len(photos)} photos")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total, text=f"{done} of {total} photos (last: {md(name)})")

    colorscale = st.session_state.get("colorscale") or DEFAULTS["colorscale"]
    with st.spinner("Measuring..."):
        st.session_state["evaluate_result"] = run_evaluation(
            model, photos, explainers, labels, int(chosen["steps"]),
            str(labels_path) if labels_path else ("file names" if labels else None), progress, metrics=metrics,
            sanity=bool(chosen.get("sanity")), colorscale=colorscale)


def results(outcome: dict[str, Any]) -> None:
    """The last run: failures, the summary sentence, the charts, the gallery, the tables, the files."""
    found, failures, summary = outcome["results"], outcome["failures"], outcome["summary"]
    for failure in failures:
        st.error(md(skipped_text(failure.file, failure.message)))
    document = outcome["document"]
    accuracy = summary["accuracy"]
    st.success(f"Evaluated {summary['photos']} photo(s) with {md(', '.join(document['params']))} on "
               f"{md(document['model'])} ({md(document['device'])}); {len(failures)} failed."
               + (f" Top-1 accuracy: {accuracy['top1']:.0%} of {accuracy['n']} (true class explained)."
                  if accuracy else ""))
    if not found:
        return
    verdicts(outcome)
    measured = summary.get("metrics") or []
    left, right = st.columns(2)
    if "deletion" in measured and "insertion" in measured:
        left.plotly_chart(auc_summary_figure(summary, title="Mean AUC per method (95% interval)"),
                          key="evaluate_auc", config={"displayModeBar": False})
    right.plotly_chart(time_summary_figure(summary), key="evaluate_time", config={"displayModeBar": False})
    if all(entry.get("curves") for entry in summary["methods"].values()):
        st.plotly_chart(faithfulness_curves_figure(summary["methods"], title="Mean curves over the photos"),
                        key="evaluate_curves")
    st.subheader("Each photo's maps")
    st.caption("The photo, then each method's map over it (the session's colour scale, each map scaled to its own "
               "range; the scale's last colour is the most salient), with its metrics on that photo.")
    for row in outcome.get("gallery", []):
        for col, (caption, tile) in zip(st.columns(len(row["tiles"])), row["tiles"]):
            col.image(tile, caption=md(caption), width="stretch")  # a file name and a class label
    st.subheader("Summary")
    numbers = [metric_column(m) for m in measured] + ["explain_s", "kept_fraction"]
    st.dataframe(summary_rows(summary), hide_index=True, width="stretch", key="evaluate_summary", placeholder=MISSING,
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in numbers})
    st.subheader("Results: one row per photo and method")
    st.dataframe(results_frame(found), hide_index=True, width="stretch", key="evaluate_results", placeholder=MISSING)
    files = st.columns(2)
    files[0].download_button("results.csv", results_csv(found), file_name="results.csv", mime="text/csv",
                             width="stretch", on_click="ignore")
    files[1].download_button("summary.json", summary_json(document), file_name="summary.json",
                             mime="application/json", width="stretch", on_click="ignore")
    st.caption("Intervals: 95% bootstrap percentile intervals of the mean over the photos (they stay within "
               "the values' range; with few photos they are narrow because there is little to resample). "
               "Times are wall seconds on this server, each method paying for its own forward pass. "
               + ("The explained class is each photo's true class (labels file)." if accuracy else
                  "The explained class is each photo's top-1 prediction."))


def skipped_text(file: str, message: str) -> str:
    """The line for a photo that was skipped, naming it once (the library's message often starts with it)."""
    prefix = f"{file}: "
    return f"{file} was skipped: {message[len(prefix):] if message.startswith(prefix) else message}"


def verdicts(outcome: dict[str, Any]) -> None:
    """The verdict table in words, the agreement between the metrics, the sanity check (when run)."""
    rows = outcome.get("verdicts") or []
    agreements = outcome.get("agreements") or {}
    checks = outcome.get("sanity")
    if rows:
        st.subheader("Which method wins on which metric")
        st.caption("Each pair of methods on the same photos: the winner under each metric when the Wilcoxon "
                   "signed-rank test is below 0.05 and the mean difference agrees, with its advantage and the 95% "
                   "paired bootstrap interval; otherwise no difference.")
        st.dataframe(verdict_frame(rows), hide_index=True, width="stretch", key="evaluate_verdicts",
                     placeholder=MISSING, column_config={"winner's advantage": st.column_config.NumberColumn(format="%.3g"),
                                    "Wilcoxon p": st.column_config.NumberColumn(format="%.2g")})
    shown = {pair: a for pair, a in agreements.items() if len(a["metrics"]) > 1}
    if shown:
        st.subheader("Do the metrics agree?")
        pair = st.selectbox("Pair of methods", list(shown), key="evaluate_agreement_pair")
        st.plotly_chart(agreement_figure(shown[pair]), key="evaluate_agreement", config={"displayModeBar": False})
        st.caption("Kendall's tau between two metrics' per-photo differences (oriented so that positive means the "
                   "first method is better): 1, the metrics rank the photos the same way; 0 or below, they measure "
                   "different things.")
    if checks:
        st.subheader("Sanity check: do the maps depend on the model?")
        st.dataframe(sanity_frame(checks), hide_index=True, width="stretch", key="evaluate_sanity_table",
                     placeholder=MISSING)
        st.caption(md("Rule: a method " + next(iter(checks.values())).rule))
