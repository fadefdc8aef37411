"""Dataset evaluation: every method on every photo, with faithfulness, timings and a summary.

The one name for it throughout: ``python -m explainers evaluate``, the dashboard's Evaluate page, and
this package.

- :mod:`.photos`: which photos a run reads, their keys (paths relative to the run's folder), true classes;
- :mod:`.run`: the evaluation of a batch on the engine (:func:`~.run.evaluate_loaded`), the per-photo API
  (:func:`evaluate_photo`), their rows (:class:`MethodResult`) and the metric's one seam (:func:`~.run.measure_maps`);
- :mod:`.loop`: the local engine, :func:`iter_evaluate` and :func:`evaluate_stream`;
- :mod:`.ray`: the Ray engine (optional install);
- :mod:`.engines`: :func:`evaluate_dataset`, either engine behind one call;
- :mod:`.summary`: per-method means with bootstrap intervals, the paired comparisons between methods;
- :mod:`.verdicts`: those comparisons and the sanity check in words;
- :mod:`.outputs`: ``results.csv``, ``summary.json``, ``results.parquet``.
"""

from .engines import ENGINES, evaluate_dataset
from .loop import evaluate_photos, evaluate_stream, iter_evaluate
from .outputs import ResultsWriter, results_csv, summary_document, summary_json, summary_table, write_summary
from .photos import collect_photos, photo_keys, read_labels_csv, true_class
from .run import (
    COLUMNS,
    DEFAULT_METRICS,
    RANDOM,
    MethodResult,
    PhotoFailure,
    PhotoOutcome,
    evaluate_photo,
    make_explainers,
    make_metrics,
    metric_column,
    result_columns,
    shared_class,
)
from .summary import INTERVAL, SUMMARY_FIELDS, comparisons, mean_interval, per_photo_scores, summarize
from .verdicts import sanity_text, sanity_verdict, verdict, verdict_rows, verdict_text

__all__ = [
    "COLUMNS",
    "DEFAULT_METRICS",
    "ENGINES",
    "INTERVAL",
    "RANDOM",
    "SUMMARY_FIELDS",
    "MethodResult",
    "PhotoFailure",
    "PhotoOutcome",
    "ResultsWriter",
    "collect_photos",
    "comparisons",
    "evaluate_dataset",
    "evaluate_photo",
    "evaluate_photos",
    "evaluate_stream",
    "iter_evaluate",
    "make_explainers",
    "make_metrics",
    "metric_column",
    "per_photo_scores",
    "result_columns",
    "sanity_text",
    "sanity_verdict",
    "mean_interval",
    "photo_keys",
    "read_labels_csv",
    "results_csv",
    "shared_class",
    "summarize",
    "summary_document",
    "summary_json",
    "summary_table",
    "true_class",
    "verdict",
    "verdict_rows",
    "verdict_text",
    "write_summary",
]
