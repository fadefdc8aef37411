"""The paired comparisons and the sanity check of a run, in words: which method wins on which metric.

The numbers come from :mod:`explainers.metrics.compare` (:class:`~explainers.metrics.PairedComparison`)
and :mod:`explainers.metrics.sanity` (:class:`~explainers.metrics.RandomisationCheck`); this module only
words them, once, for the command line, ``summary.json`` and the Evaluate page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..metrics.base import HIGHER, METRICS
from ..metrics.compare import MethodComparison, PairedComparison
from ..metrics.sanity import RandomisationCheck


def metric_title(name: str) -> str:
    """How a metric is named to people: its registered title (``Deletion AUC``), else its name."""
    cls = METRICS.get(name)
    return cls.title if cls is not None and cls.title else name


def _p(value: float) -> str:
    return "n/a" if value != value else f"{value:.2g}"


def advantage(comparison: PairedComparison) -> tuple[float, float, float]:
    """The winner's advantage (or A's, without a winner) and its interval, oriented so that positive is better.

    Returns
    -------
    (float, float, float)
        Mean, interval low, interval high, in the metric's units.
    """
    c = comparison
    sign = 1.0 if c.direction == HIGHER else -1.0
    if c.winner == c.method_b:
        sign = -sign
    low, high = sign * c.ci_low, sign * c.ci_high
    return sign * c.mean_difference, min(low, high), max(low, high)


def verdict(comparison: PairedComparison) -> str:
    """One sentence: who wins under this metric, by how much, how sure; or that the photos cannot tell.

    Examples
    --------
    ``"Deletion AUC (lower is better): cam beats secam by 0.029 (95% interval 0.021 to 0.037; Wilcoxon
    p = 2e-13; better on 150 of 200 photos)"`` or ``"IROF (higher is better): no difference between cam
    and secam (secam - cam ...)"``.
    """
    c = comparison
    head = f"{metric_title(c.metric)} ({c.direction} is better)"
    level = f"{c.confidence:.0%}"
    if c.n == 0:
        return f"{head}: no photo has a value for both {c.method_a} and {c.method_b}"
    if c.winner is None:
        return (
            f"{head}: no difference between {c.method_a} and {c.method_b} on {c.n} photos "
            f"({c.method_a} - {c.method_b} = {c.mean_difference:+.3g}, {level} interval {c.ci_low:+.3g} to "
            f"{c.ci_high:+.3g}; Wilcoxon p = {_p(c.p_value)})"
        )
    loser = c.method_b if c.winner == c.method_a else c.method_a
    mean, low, high = advantage(c)
    better_on = c.a_better_on if c.winner == c.method_a else c.b_better_on
    return (
        f"{head}: {c.winner} beats {loser} by {mean:.3g} ({level} interval {low:.3g} to {high:.3g}; "
        f"Wilcoxon p = {_p(c.p_value)}; better on {better_on} of {c.n} photos)"
    )


def verdict_rows(comparisons: Iterable[MethodComparison]) -> list[dict[str, Any]]:
    """One row per pair of methods and metric: the table the CLI prints and the Evaluate page shows.

    Returns
    -------
    list of dict
        Keys ``pair``, ``metric``, ``better``, ``winner`` (a method, or "no difference"), ``by``
        (the winner's advantage), ``interval`` (text), ``p``, ``photos``, ``verdict`` (the sentence).
    """
    rows = []
    for pair in comparisons:
        for c in pair.comparisons:
            mean, low, high = advantage(c)
            rows.append(
                {
                    "pair": f"{c.method_a} vs {c.method_b}",
                    "metric": metric_title(c.metric),
                    "better": c.direction,
                    "winner": c.winner or "no difference",
                    "by": mean if c.winner else None,
                    "interval": (
                        f"{c.ci_low:+.3g} to {c.ci_high:+.3g} ({c.method_a} - {c.method_b})"
                        if c.winner is None
                        else f"{low:.3g} to {high:.3g}"
                    ),
                    "p": c.p_value,
                    "photos": c.n,
                    "verdict": verdict(c),
                }
            )
    return rows


def verdict_text(comparisons: Sequence[MethodComparison]) -> str:
    """The verdicts as plain text, one block per pair of methods, then each pair's metric agreement."""
    lines = []
    for pair in comparisons:
        lines.append(f"{pair.method_a} vs {pair.method_b}:")
        lines.extend(f"  {verdict(c)}" for c in pair.comparisons)
        names = pair.agreement.metrics
        if len(names) > 1:
            agreeing = []
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    tau = pair.agreement.tau[i, j]
                    text = "n/a" if tau != tau else f"{tau:+.2f}"
                    agreeing.append(f"{names[i]}/{names[j]} {text}")
            lines.append(
                f"  agreement between metrics (Kendall's tau of the per-photo differences): {'; '.join(agreeing)}"
            )
    return "\n".join(lines)


def sanity_verdict(check: RandomisationCheck) -> str:
    """One line: the method passes or fails the randomisation check, with its numbers and the rule."""
    outcome = "PASS" if check.passed else "FAIL"
    mean = float(check.scores.mean()) if check.scores.size else float("nan")
    return (
        f"{check.method}: {outcome} (mean Spearman {mean:.2f} between the trained model's maps and the "
        f"randomised ones; {check.passed_photos} of {len(check.scores)} photos below {check.threshold:g})"
    )


def sanity_text(checks: Mapping[str, RandomisationCheck]) -> str:
    """Every method's :func:`sanity_verdict`, then the rule."""
    if not checks:
        return ""
    first = next(iter(checks.values()))
    lines = ["sanity check (cascading model-parameter randomisation):"]
    lines += [f"  {sanity_verdict(c)}" for c in checks.values()]
    rule = first.rule.rsplit(" (", 1)[0]
    lines.append(f"  rule: a method {rule}")
    return "\n".join(lines)
