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
from .run import COLUMNS, MethodResult, PhotoFailure
from .summary import summarize


def results_csv(results: Sequence[MethodResult]) -> str:
    """``results.csv`` as text: the header :data:`~explainers.evaluate.COLUMNS`, one row per result."""
    return csv_text((r.row() for r in results), COLUMNS)


class ResultsWriter:
    """``results.csv`` written as photos finish, so an interrupted run keeps what it measured.

    Rows go to a hidden ``.results.csv.partial`` beside the target; :meth:`close` (or leaving the
    ``with`` block, even on Ctrl-C) renames it to ``results.csv``, so the file a reader sees is never
    half written.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        self._fh = self._partial.open("w", newline="", encoding="utf-8")
        self._fh.write(csv_text([], COLUMNS))

    def write(self, results: Sequence[MethodResult]) -> None:
        """Append the rows of one photo."""
        self._fh.write(csv_text((r.row() for r in results), COLUMNS).split("\n", 1)[1])
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
) -> dict[str, Any]:
    """``summary.json``: :func:`~explainers.evaluate.summarize` of the results, and how the run was made.

    ``failed`` is the count of photos that failed, ``failures`` each one's key and message.
    """
    document = summarize(results)
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
    """A plain-text table: mean deletion/insertion AUC and explain time per method."""
    lines = [f"{'method':10s} {'deletion AUC':>14s} {'insertion AUC':>14s} {'explain s':>10s}"]
    for name, entry in summary["methods"].items():

        def fmt(key: str, spec: str, entry: Mapping[str, Any] = entry) -> str:
            return "-" if entry[key]["mean"] is None else format(entry[key]["mean"], spec)

        lines.append(
            f"{name:10s} {fmt('deletion_auc', '.3f'):>14s} {fmt('insertion_auc', '.3f'):>14s} "
            f"{fmt('explain_s', '.3f'):>10s}"
        )
    if summary.get("accuracy"):
        lines.append(f"top-1 accuracy: {summary['accuracy']['top1']:.3f} on {summary['accuracy']['n']} photo(s)")
    return "\n".join(lines)


def write_parquet(results: Sequence[MethodResult], path: str | os.PathLike) -> None:
    """``results.parquet`` (needs pyarrow): the ``results.csv`` columns plus each row's curves."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    columns: dict[str, list] = {c: [getattr(r, c) for r in results] for c in COLUMNS}
    columns["fractions"] = [None if r.curves is None else r.curves.fractions.tolist() for r in results]
    columns["deletion"] = [None if r.curves is None else r.curves.deletion.tolist() for r in results]
    columns["insertion"] = [None if r.curves is None else r.curves.insertion.tolist() for r in results]
    types = {"true_class": pa.int64(), "correct": pa.bool_(), "kept_fraction": pa.float64()}
    table = pa.table({c: pa.array(v, type=types.get(c)) for c, v in columns.items()})
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
