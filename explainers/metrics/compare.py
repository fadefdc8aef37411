"""Two methods on the same photos: which one a metric prefers, by how much, how sure, and whether metrics agree.

Every number here is *paired*: method A's value on a photo is compared with method B's on the same
photo, so the photos' own difficulty cancels out. For each metric, :func:`paired_comparison` gives

- the mean difference A - B with a bootstrap confidence interval (:func:`scipy.stats.bootstrap`,
  ``paired=True``, BCa, seeded);
- the Wilcoxon signed-rank test of the differences (:func:`scipy.stats.wilcoxon`, two-sided, zero
  differences dropped);
- two effect sizes: the matched-pairs rank-biserial correlation ``r = (R+ - R-) / (R+ + R-)``, where
  ``R+`` and ``R-`` are the sums of the ranks of ``|A - B|`` over the photos where A is larger and
  smaller (zeros dropped; ``r`` is in [-1, 1], the share of the rank mass on A's side minus B's), and
  Cohen's ``d_z = mean(A - B) / sd(A - B)``;
- the winner: the method the metric's direction prefers, when the Wilcoxon p-value is below ``alpha``
  and the mean difference and ``r`` point the same way; otherwise no winner.

:func:`metric_agreement` asks whether the metrics tell the same story photo by photo: each metric's
per-photo difference is oriented so that a positive value means "A is better" (negated for metrics
where lower is better), and Kendall's tau (:func:`scipy.stats.kendalltau`, tau-b) between those
oriented differences is computed for every pair of metrics. Tau near 1: the photos where A beats B
by most under one metric are the ones where it does under the other; near 0 or below: the metrics
measure different things (or one of them is noise).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from ..errors import ParameterError
from ..parameters import SEED_MAX, Param
from .base import HIGHER, LOWER, METRICS

#: The statistics' parameters, declared once.
COMPARE_PARAMETERS = (
    Param("confidence", float, 0.95, low=0.5, high=0.999, help="level of the bootstrap interval"),
    Param("alpha", float, 0.05, low=0.0, high=0.5, low_open=True, help="a winner needs a Wilcoxon p below this"),
    Param("resamples", int, 9999, low=100, high=1_000_000, server_high=20_000, help="bootstrap resamples"),
    Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the bootstrap"),
)


def _varies(values: np.ndarray) -> bool:
    """Whether ``values`` spread by more than floating-point noise (``a + 0.05 - a`` is not exactly 0.05)."""
    return values.size > 1 and float(np.ptp(values)) > 1e-12 * max(1.0, float(np.abs(values).max()))


def _clean(value: float) -> float | None:
    """A float for JSON: None for NaN."""
    value = float(value)
    return None if np.isnan(value) else value


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """Methods A and B under one metric, on the same photos.

    Attributes
    ----------
    metric : str
    direction : {"higher", "lower"}
    method_a, method_b : str
    n : int
        Photos with a value for both methods.
    mean_a, mean_b : float
    mean_difference : float
        Mean of A - B.
    ci_low, ci_high : float
        Bootstrap interval of ``mean_difference`` at ``confidence`` (NaN below two photos).
    confidence : float
    wilcoxon_statistic, p_value : float
        Two-sided Wilcoxon signed-rank test of A - B (p is 1 when every difference is zero, NaN without photos).
    rank_biserial : float
        Matched-pairs rank-biserial correlation, in [-1, 1]; positive when A tends to be larger.
    cohens_dz : float
        ``mean(A - B) / sd(A - B)`` (NaN when the differences do not vary beyond floating-point noise).
    a_better_on, b_better_on, ties : int
        Photos where the metric prefers A, prefers B, or cannot tell them apart.
    alpha : float
    winner : str or None
        ``method_a`` or ``method_b`` when the test is significant at ``alpha`` and the mean difference
        and the rank-biserial correlation agree on the side; None otherwise.
    """

    metric: str
    direction: str
    method_a: str
    method_b: str
    n: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    wilcoxon_statistic: float
    p_value: float
    rank_biserial: float
    cohens_dz: float
    a_better_on: int
    b_better_on: int
    ties: int
    alpha: float
    winner: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (NaN as None)."""
        out = dataclasses.asdict(self)
        return {k: _clean(v) if isinstance(v, float) else v for k, v in out.items()}


def paired_comparison(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    metric: str = "",
    direction: str = HIGHER,
    method_a: str = "a",
    method_b: str = "b",
    confidence: float = 0.95,
    alpha: float = 0.05,
    resamples: int = 9999,
    seed: int = 0,
) -> PairedComparison:
    """Compare two methods' values of one metric on the same photos (see the module's docstring).

    Parameters
    ----------
    a, b : (P,) float array-like
        Method A's and method B's value on each photo, in the same photo order; photos where either
        is NaN are left out.
    metric : str
        The metric's name (for the record).
    direction : {"higher", "lower"}
        Whether a higher or a lower value is better.
    method_a, method_b : str
        The methods' names.
    confidence : float
        Level of the bootstrap interval, in [0.5, 0.999].
    alpha : float
        Significance level for the winner, in (0, 0.5].
    resamples : int
        Bootstrap resamples, in [100, 1000000].
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    PairedComparison

    Raises
    ------
    ParameterError
        If ``a`` and ``b`` differ in length, ``direction`` is not "higher" or "lower", or a parameter is
        out of range.
    """
    params = {p.name: p.check(v) for p, v in zip(COMPARE_PARAMETERS, (confidence, alpha, resamples, seed))}
    if direction not in (HIGHER, LOWER):
        raise ParameterError(f"`direction` must be '{HIGHER}' or '{LOWER}', got {direction!r}")
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ParameterError(f"give one value per photo for both methods; got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    d = a - b
    n = int(d.size)
    nan = float("nan")
    mean_difference = float(d.mean()) if n else nan
    low, high = _interval(a, b, params["confidence"], params["resamples"], params["seed"])
    nonzero = d[d != 0]
    if n == 0:
        statistic, p_value = nan, nan
    elif nonzero.size == 0:
        statistic, p_value = 0.0, 1.0
    else:
        test = scipy.stats.wilcoxon(nonzero, alternative="two-sided")
        statistic, p_value = float(test.statistic), float(test.pvalue)
    if nonzero.size:
        ranks = scipy.stats.rankdata(np.abs(nonzero))
        plus, minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
        rank_biserial = float((plus - minus) / (plus + minus))
    else:
        rank_biserial = 0.0 if n else nan
    cohens_dz = mean_difference / float(d.std(ddof=1)) if _varies(d) else nan
    sign = 1.0 if direction == HIGHER else -1.0
    winner = None
    if n and p_value < params["alpha"] and mean_difference != 0 and np.sign(rank_biserial) == np.sign(mean_difference):
        winner = method_a if sign * mean_difference > 0 else method_b
    return PairedComparison(
        metric=metric,
        direction=direction,
        method_a=method_a,
        method_b=method_b,
        n=n,
        mean_a=float(a.mean()) if n else nan,
        mean_b=float(b.mean()) if n else nan,
        mean_difference=mean_difference,
        ci_low=low,
        ci_high=high,
        confidence=params["confidence"],
        wilcoxon_statistic=statistic,
        p_value=p_value,
        rank_biserial=rank_biserial,
        cohens_dz=cohens_dz,
        a_better_on=int((sign * d > 0).sum()),
        b_better_on=int((sign * d < 0).sum()),
        ties=int((d == 0).sum()),
        alpha=params["alpha"],
        winner=winner,
    )


def _interval(a: np.ndarray, b: np.ndarray, confidence: float, resamples: int, seed: int) -> tuple[float, float]:
    """Paired BCa bootstrap interval of ``mean(a - b)`` (the percentile one where BCa is undefined)."""
    d = a - b
    if d.size < 2:
        return float("nan"), float("nan")
    if not _varies(d):
        return float(d.mean()), float(d.mean())

    def mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x - y, axis=axis)

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa warns (and gives NaN) on degenerate resamples
            result = scipy.stats.bootstrap(
                (a, b),
                mean_difference,
                paired=True,
                vectorized=True,
                n_resamples=resamples,
                confidence_level=confidence,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if not (np.isnan(low) or np.isnan(high)):
            return low, high
    return float("nan"), float("nan")


@dataclasses.dataclass(frozen=True)
class MetricAgreement:
    """Kendall's tau between metrics' per-photo verdicts on A versus B.

    Attributes
    ----------
    metrics : tuple of M str
    tau : (M, M) float64 ndarray
        Kendall's tau-b between the oriented per-photo differences (positive: A better) of each pair of
        metrics; 1 on the diagonal; NaN where a metric's differences do not vary.
    p_values : (M, M) float64 ndarray
        Two-sided p-values of tau (0 on the diagonal).
    n : (M, M) int64 ndarray
        Photos with both values.
    """

    metrics: tuple[str, ...]
    tau: np.ndarray
    p_values: np.ndarray
    n: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (NaN as None)."""
        return {
            "metrics": list(self.metrics),
            "tau": [[_clean(v) for v in row] for row in self.tau],
            "p_values": [[_clean(v) for v in row] for row in self.p_values],
            "n": self.n.tolist(),
        }


def metric_agreement(
    differences: Mapping[str, Sequence[float] | np.ndarray], directions: Mapping[str, str]
) -> MetricAgreement:
    """Kendall's tau between the metrics' oriented per-photo differences A - B (see the module's docstring).

    Parameters
    ----------
    differences : mapping of metric -> (P,) float array-like
        A - B on each photo (the same photo order for every metric; NaN where not measured).
    directions : mapping of metric -> {"higher", "lower"}

    Returns
    -------
    MetricAgreement

    Raises
    ------
    ParameterError
        If the metrics have different numbers of photos or a direction is missing or unknown.
    """
    names = tuple(differences)
    oriented = []
    for name in names:
        direction = directions.get(name)
        if direction not in (HIGHER, LOWER):
            raise ParameterError(f"metric '{name}' needs a direction, '{HIGHER}' or '{LOWER}'; got {direction!r}")
        values = np.asarray(differences[name], dtype=np.float64).ravel()
        oriented.append(values if direction == HIGHER else -values)
    if len({v.size for v in oriented}) > 1:
        raise ParameterError(f"the metrics have different numbers of photos: {[v.size for v in oriented]}")
    m = len(names)
    tau = np.eye(m)
    p_values = np.zeros((m, m))
    counts = np.zeros((m, m), dtype=np.int64)
    for i in range(m):
        counts[i, i] = int((~np.isnan(oriented[i])).sum())
        for j in range(i + 1, m):
            both = ~(np.isnan(oriented[i]) | np.isnan(oriented[j]))
            counts[i, j] = counts[j, i] = int(both.sum())
            x, y = oriented[i][both], oriented[j][both]
            if not (_varies(x) and _varies(y)):
                tau[i, j] = tau[j, i] = p_values[i, j] = p_values[j, i] = np.nan
                continue
            result = scipy.stats.kendalltau(x, y)
            tau[i, j] = tau[j, i] = float(result.statistic)
            p_values[i, j] = p_values[j, i] = float(result.pvalue)
    return MetricAgreement(names, tau, p_values, counts)


@dataclasses.dataclass(frozen=True)
class MethodComparison:
    """Methods A and B under every metric measured on both: the verdict table and the agreement matrix.

    Attributes
    ----------
    method_a, method_b : str
    comparisons : tuple of PairedComparison
        One per metric, in the order of the metrics.
    agreement : MetricAgreement
    """

    method_a: str
    method_b: str
    comparisons: tuple[PairedComparison, ...]
    agreement: MetricAgreement

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return {
            "method_a": self.method_a,
            "method_b": self.method_b,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "agreement": self.agreement.to_dict(),
        }


def compare_methods(
    scores: Mapping[str, Mapping[str, Sequence[float] | np.ndarray]],
    method_a: str,
    method_b: str,
    directions: Mapping[str, str] | None = None,
    **options: Any,
) -> MethodComparison:
    """Every metric measured on both methods: :func:`paired_comparison` each, and :func:`metric_agreement`.

    Parameters
    ----------
    scores : mapping of method -> mapping of metric -> (P,) float array-like
        Each method's values on the same photos, in the same order (e.g. ``Scores.values``).
    method_a, method_b : str
        Two keys of ``scores``.
    directions : mapping of metric -> {"higher", "lower"}, optional
        Default: each registered metric's :attr:`Metric.direction`.
    **options
        ``confidence``, ``alpha``, ``resamples``, ``seed`` of :func:`paired_comparison`.

    Returns
    -------
    MethodComparison
        The metrics both methods have, in the order of ``scores[method_a]``.

    Raises
    ------
    ParameterError
        If a method is missing, the methods share no metric, or a metric has no known direction.
    """
    for method in (method_a, method_b):
        if method not in scores:
            raise ParameterError(f"no scores for method '{method}'; methods: {', '.join(scores)}")
    if method_a == method_b:
        raise ParameterError("compare two different methods")
    metrics = [m for m in scores[method_a] if m in scores[method_b]]
    if not metrics:
        raise ParameterError(f"'{method_a}' and '{method_b}' have no metric in common")
    known = {name: cls.direction for name, cls in METRICS.items()}
    directions = {**known, **(directions or {})}
    comparisons = []
    differences = {}
    for metric in metrics:
        if metric not in directions:
            raise ParameterError(f"metric '{metric}' is not registered; give its direction in `directions`")
        a = np.asarray(scores[method_a][metric], dtype=np.float64)
        b = np.asarray(scores[method_b][metric], dtype=np.float64)
        comparisons.append(
            paired_comparison(
                a, b, metric=metric, direction=directions[metric], method_a=method_a, method_b=method_b, **options
            )
        )
        differences[metric] = a - b
    return MethodComparison(method_a, method_b, tuple(comparisons), metric_agreement(differences, directions))
