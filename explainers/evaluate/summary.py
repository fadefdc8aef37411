"""Per-method means over the photos of a run, with bootstrap intervals, mean curves and accuracy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .run import MethodResult

#: How ``ci95`` is computed, as ``summary.json`` states it.
INTERVAL = "95% bootstrap percentile interval of the mean (2000 resamples, seed 0)"
#: Per-method quantities that :func:`summarize` averages.
SUMMARY_FIELDS = ("deletion_auc", "insertion_auc", "kept_fraction", "explain_s", "metrics_s", "probability")


#: Bootstrap resamples of :func:`mean_interval` (seeded: the same values give the same interval).
BOOTSTRAP_RESAMPLES = 2000


def mean_interval(values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> dict[str, Any]:
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


def summarize(results: Sequence[MethodResult]) -> dict[str, Any]:
    """Per-method means with 95% bootstrap intervals (:func:`mean_interval`), mean curves, and accuracy.

    Parameters
    ----------
    results : sequence of MethodResult

    Returns
    -------
    dict
        ``{"photos", "accuracy", "methods": {name: {field: mean_interval, "curves": {...}}}}``;
        ``accuracy`` is None without labels.
    """
    methods: dict[str, Any] = {}
    for name in dict.fromkeys(r.method for r in results):
        mine = [r for r in results if r.method == name]
        entry: dict[str, Any] = {f: mean_interval([getattr(r, f) for r in mine]) for f in SUMMARY_FIELDS}
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
    return {"photos": len(photos), "accuracy": accuracy, "interval": INTERVAL, "methods": methods}
