"""Per-method means over the photos of a run, with bootstrap intervals, mean curves and accuracy; paired verdicts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..metrics.base import METRICS
from ..metrics.compare import MethodComparison, compare_methods
from .run import MethodResult, metric_column

#: How ``ci95`` is computed, as ``summary.json`` states it.
INTERVAL = "95% bootstrap percentile interval of the mean (2000 resamples, seed 0)"
#: Per-method quantities that :func:`summarize` averages.
SUMMARY_FIELDS = ("deletion_auc", "insertion_auc", "kept_fraction", "explain_s", "metrics_s", "probability")


#: Bootstrap resamples of :func:`mean_interval` (seeded: the same values give the same interval).
BOOTSTRAP_RESAMPLES = 2000


def mean_interval(
    values: Sequence[float | None], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Mean and 95% bootstrap percentile interval of the mean.

    The interval is the 2.5th and 97.5th percentiles of the means of ``resamples``
    resamples with replacement, so it never leaves the range of the values
    themselves: an AUC's interval stays in [0, 1] even for two photos (a
    Student-t interval does not). With few photos it is narrow because there is
    little to resample; read ``n``.

    Returns
    -------
    dict
        ``{"n", "mean", "ci95": [low, high] or None}`` (None below two values). None and NaN are left out.
    """
    x = np.asarray(
        [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], dtype=np.float64
    )
    if x.size == 0:
        return {"n": 0, "mean": None, "ci95": None}
    mean = float(x.mean())
    if x.size < 2:
        return {"n": 1, "mean": mean, "ci95": None}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"n": int(x.size), "mean": mean, "ci95": [float(low), float(high)]}


def measured_metrics(results: Sequence[MethodResult]) -> list[str]:
    """The metrics measured in ``results``, in the order the rows list them."""
    return list(dict.fromkeys(name for r in results for name in r.scores))


def per_photo_scores(results: Sequence[MethodResult]) -> dict[str, dict[str, np.ndarray]]:
    """Method -> metric -> ``(P,)`` values on the photos every method has, in one photo order (NaN: not measured).

    What :func:`explainers.metrics.compare_methods` takes.
    """
    methods = list(dict.fromkeys(r.method for r in results))
    metrics = measured_metrics(results)
    by_photo: dict[str, dict[str, MethodResult]] = {}
    for r in results:
        by_photo.setdefault(r.file, {})[r.method] = r
    photos = [f for f, rows in by_photo.items() if all(m in rows for m in methods)]
    table: dict[str, dict[str, np.ndarray]] = {}
    for method in methods:
        table[method] = {
            metric: np.asarray(
                [np.nan if (v := by_photo[f][method].scores.get(metric)) is None else v for f in photos],
                dtype=np.float64,
            )
            for metric in metrics
        }
    return table


def comparisons(results: Sequence[MethodResult], **options: Any) -> list[MethodComparison]:
    """:func:`explainers.metrics.compare_methods` for every pair of methods in ``results`` (in row order).

    Parameters
    ----------
    results : sequence of MethodResult
    **options
        ``confidence``, ``alpha``, ``resamples``, ``seed`` of :func:`explainers.metrics.paired_comparison`.

    Returns
    -------
    list of MethodComparison
        Empty with fewer than two methods or no registered metric measured.
    """
    table = per_photo_scores(results)
    methods = list(table)
    known = [m for m in measured_metrics(results) if m in METRICS]
    if not known:
        return []
    out = []
    for i, a in enumerate(methods):
        for b in methods[i + 1 :]:
            scores = {m: {k: table[m][k] for k in known} for m in (a, b)}
            out.append(compare_methods(scores, a, b, **options))
    return out


def summarize(results: Sequence[MethodResult]) -> dict[str, Any]:
    """Per-method means with 95% bootstrap intervals (:func:`mean_interval`), mean curves, and accuracy.

    Parameters
    ----------
    results : sequence of MethodResult

    Returns
    -------
    dict
        ``{"photos", "accuracy", "metrics", "methods": {name: {field: mean_interval, "curves": {...}}}}``:
        a field per :data:`SUMMARY_FIELDS` and per metric measured (its ``results.csv`` column);
        ``metrics`` lists the metrics measured; ``accuracy`` is None without labels.
    """
    methods: dict[str, Any] = {}
    metrics = measured_metrics(results)
    for name in dict.fromkeys(r.method for r in results):
        mine = [r for r in results if r.method == name]
        entry: dict[str, Any] = {f: mean_interval([getattr(r, f) for r in mine]) for f in SUMMARY_FIELDS}
        for metric in metrics:
            entry[metric_column(metric)] = mean_interval([r.scores.get(metric) for r in mine])
        measured = [r.curves for r in mine if r.curves is not None]
        entry["curves"] = (
            None
            if not measured
            else {
                "fractions": measured[0].fractions.tolist(),
                "deletion": np.mean([c.deletion for c in measured], axis=0).tolist(),
                "insertion": np.mean([c.insertion for c in measured], axis=0).tolist(),
            }
        )
        methods[name] = entry
    photos = {r.file: r for r in results}
    judged = [r.correct for r in photos.values() if r.correct is not None]
    accuracy = {"top1": float(np.mean(judged)), "n": len(judged)} if judged else None
    return {"photos": len(photos), "accuracy": accuracy, "interval": INTERVAL, "metrics": metrics, "methods": methods}
