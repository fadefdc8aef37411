"""The files of a run, written in one place whatever the engine or the caller (CLI, dashboard):
``results.csv`` (one row per photo and method), ``summary.json`` and, with Ray, ``results.parquet``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..files import atomic_write, csv_text
from ..methods.base import Explainer
from ..metrics.base import Metric
from ..metrics.compare import MethodComparison
from ..metrics.sanity import RandomisationCheck
from .run import COLUMNS, DEFAULT_METRICS, MethodResult, PhotoFailure, metric_column, result_columns
from .summary import comparisons, measured_metrics, summarize
from .verdicts import metric_title


def results_csv(results: Sequence[MethodResult]) -> str:
    """``results.csv`` as text: :func:`~explainers.evaluate.result_columns` of the metrics measured, one row per result."""
    return csv_text((r.row() for r in results), result_columns(measured_metrics(results) or DEFAULT_METRICS))


class ResultsWriter:
    """``results.csv`` written as photos finish, so an interrupted run keeps what it measured.

    Rows go to a hidden ``.results.csv.partial`` beside the target; :meth:`close` (or leaving the
    ``with`` block, even on Ctrl-C) renames it to ``results.csv``, so the file a reader sees is never
    half written.
    """

    def __init__(self, path: str | os.PathLike, metrics: Sequence[str] = DEFAULT_METRICS) -> None:
        self.path = Path(path)
        self.columns = result_columns(metrics)
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        self._fh = self._partial.open("w", newline="", encoding="utf-8")
        self._fh.write(csv_text([], self.columns))

    def write(self, results: Sequence[MethodResult]) -> None:
        """Append the rows of one photo."""
        self._fh.write(csv_text((r.row() for r in results), self.columns).split("\n", 1)[1])
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
            os.replace(self._partial, self.path)

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def summary_document(
    results: Sequence[MethodResult],
    failures: Sequence[PhotoFailure],
    *,
    model: str,
    device: str,
    explainers: Mapping[str, Explainer],
    steps: int,
    labels: str | None = None,
    interrupted: bool = False,
    engine: str | None = None,
    metrics: Sequence[Metric] | None = None,
    sanity: Mapping[str, RandomisationCheck] | None = None,
    compared: Sequence[MethodComparison] | None = None,
) -> dict[str, Any]:
    """``summary.json``: :func:`~explainers.evaluate.summarize` of the results, and how the run was made.

    ``failed`` is the count of photos that failed, ``failures`` each one's key and message;
    ``metric_params`` each metric's title, direction, column and parameters; ``comparisons`` the paired
    comparison of every pair of methods under every metric, with the agreement between the metrics
    (:func:`explainers.metrics.compare_methods`; ``compared`` when the caller has them already, else
    computed here); ``sanity`` each method's randomisation check, when run.
    """
    document = summarize(results)
    document["metric_params"] = {
        m.name: {"title": metric_title(m.name), "direction": m.direction, "column": metric_column(m.name),
                 "params": dict(m.params)}
        for m in (metrics or [])
    }  # fmt: skip
    document["comparisons"] = [c.to_dict() for c in (comparisons(results) if compared is None else compared)]
    if sanity is not None:
        document["sanity"] = {name: check.to_dict() for name, check in sanity.items()}
    document.update(
        {
            "model": model,
            "device": device,
            "failed": len(failures),
            "failures": [{"file": f.file, "message": f.message} for f in failures],
            "interrupted": interrupted,
            **({"engine": engine} if engine else {}),
            "params": {name: dict(e.params) for name, e in explainers.items()},
            "steps": steps,
            "labels": labels,
        }
    )
    return document


def summary_json(document: Mapping[str, Any]) -> str:
    """The summary document as indented JSON text."""
    return json.dumps(document, indent=2)


def write_summary(folder: str | os.PathLike, document: Mapping[str, Any]) -> Path:
    """Write ``summary.json`` into ``folder`` (atomically); returns its path."""
    path = Path(folder) / "summary.json"
    atomic_write(path, summary_json(document))
    return path


def summary_table(summary: Mapping[str, Any]) -> str:
    """A plain-text table: the mean of each metric measured and the explain time, per method."""
    columns = [metric_column(m) for m in summary.get("metrics") or DEFAULT_METRICS]
    width = max([14, *(len(c) for c in columns)])
    lines = [f"{'method':10s} " + " ".join(f"{c:>{width}s}" for c in columns) + f" {'explain s':>10s}"]
    for name, entry in summary["methods"].items():

        def fmt(key: str, spec: str, entry: Mapping[str, Any] = entry) -> str:
            stat = entry.get(key)
            return "-" if stat is None or stat["mean"] is None else format(stat["mean"], spec)

        lines.append(
            f"{name:10s} "
            + " ".join(f"{fmt(c, '.3f'):>{width}s}" for c in columns)
            + f" {fmt('explain_s', '.3f'):>10s}"
        )
    if summary.get("accuracy"):
        lines.append(f"top-1 accuracy: {summary['accuracy']['top1']:.3f} on {summary['accuracy']['n']} photo(s)")
    return "\n".join(lines)


def write_parquet(results: Sequence[MethodResult], path: str | os.PathLike) -> None:
    """``results.parquet`` (needs pyarrow): the ``results.csv`` columns (one per metric) plus each row's curves."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    rows = [r.row() for r in results]
    names = result_columns(measured_metrics(results) or DEFAULT_METRICS)
    columns: dict[str, list] = {c: [row.get(c) for row in rows] for c in names}
    columns["fractions"] = [None if r.curves is None else r.curves.fractions.tolist() for r in results]
    columns["deletion"] = [None if r.curves is None else r.curves.deletion.tolist() for r in results]
    columns["insertion"] = [None if r.curves is None else r.curves.insertion.tolist() for r in results]
    types = {"true_class": pa.int64(), "correct": pa.bool_(), "kept_fraction": pa.float64()}
    types.update({c: pa.float64() for c in names if c not in COLUMNS or c.endswith("_auc")})  # the metrics
    table = pa.table({c: pa.array(v, type=types.get(c)) for c, v in columns.items()})
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
