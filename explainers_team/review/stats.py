"""Statistics of a forced-choice study: Wilson interval, exact binomial (sign) test, Fleiss' and Cohen's kappa.

The numbers come from the field's libraries: the Wilson interval from statsmodels
(``proportion_confint``), the exact binomial test from SciPy (``binomtest``), Cohen's
kappa from statsmodels (``cohens_kappa``). This module adds what a study needs around
them: checked inputs with messages that say how to fix the call, and ``nan`` with a
reason, never an exception or a warning, for an undefined quantity (no data; kappa when
every answer falls in one category).

Fleiss' kappa is computed here: statsmodels' ``fleiss_kappa`` needs the same number of
raters for every subject, and a study's trials are answered by different numbers of
reviewers. With equal numbers the two agree (``tests/test_review_stats.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest
from statsmodels.stats.inter_rater import cohens_kappa as _cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from explainers.errors import ParameterError


def _check_count(successes: Any, n: Any) -> tuple[int, int]:
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
            raise TypeError(f"`{name}` must be a non-negative int, got {type(value).__name__} {value!r}")
    successes, n = int(successes), int(n)
    if n < 0 or not 0 <= successes <= n:
        raise ParameterError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    return successes, n


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ParameterError(f"`confidence` must be a number in (0, 1) such as 0.95, got {confidence!r}")
    return float(confidence)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    with :math:`\\hat p` = ``successes / n`` and :math:`z` the two-sided normal
    quantile of ``confidence`` (1.959964 for 0.95). Unlike the normal
    approximation it stays inside [0, 1] and is sensible at 0 or n successes
    and for small ``n``. Computed by statsmodels'
    ``proportion_confint(method="wilson")``.

    Parameters
    ----------
    successes : int
        In ``[0, n]``.
    n : int
        Number of trials, >= 0.
    confidence : float
        In (0, 1).

    Returns
    -------
    (low, high) : tuple of float
        ``(nan, nan)`` when ``n == 0`` (no data, no interval).

    Raises
    ------
    ParameterError
        If ``successes`` is outside ``[0, n]`` or ``confidence`` outside (0, 1).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    successes, n = _check_count(successes, n)
    confidence = _check_confidence(confidence)
    if n == 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    # at 0 or n successes the bound is exactly 0 or 1; rounding must not push it past
    low = 0.0 if successes == 0 else max(0.0, float(low))
    high = 1.0 if successes == n else min(1.0, float(high))
    return (low, high)


def binomial_test(successes: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test of ``successes`` out of ``n`` against probability ``p``.

    The p-value is the total probability, under ``Binomial(n, p)``, of every
    outcome no more likely than the one observed (the "minimum likelihood"
    definition of R's ``binom.test``), computed by SciPy's ``binomtest``. For
    ``p = 0.5`` this is the sign test: ``min(1, 2 * P(X <= min(k, n - k)))``.

    Parameters
    ----------
    successes : int
        In ``[0, n]``.
    n : int
        >= 0.
    p : float
        Probability under the null hypothesis, in (0, 1).

    Returns
    -------
    float
        In (0, 1]; ``nan`` when ``n == 0`` (nothing to test).

    Raises
    ------
    ParameterError
        If ``successes`` is outside ``[0, n]`` or ``p`` outside (0, 1).

    Examples
    --------
    >>> binomial_test(9, 10)
    0.021484375
    """
    successes, n = _check_count(successes, n)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < 1:
        raise ParameterError(f"`p` must be a probability in (0, 1) such as 0.5, got {p!r}")
    if n == 0:
        return math.nan
    return float(binomtest(successes, n, p).pvalue)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided sign test: are ``wins`` and ``losses`` equally likely? Ties must be left out by the caller.

    Returns
    -------
    float
        :func:`binomial_test` ``(wins, wins + losses, 0.5)``; ``nan`` when both are 0.
    """
    for name, value in (("wins", wins), ("losses", losses)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError(f"`{name}` must be a non-negative int, got {value!r}")
    return binomial_test(wins, wins + losses, 0.5)


@dataclasses.dataclass(frozen=True)
class Kappa:
    """A chance-corrected agreement coefficient, or the reason it is undefined.

    Attributes
    ----------
    value : float
        :math:`(P_o - P_e) / (1 - P_e)`; ``nan`` when undefined.
    observed : float
        :math:`P_o`, the observed agreement (``nan`` without data).
    expected : float
        :math:`P_e`, the agreement expected by chance from the category shares.
    subjects : int
        Number of subjects (trials) that entered the computation.
    reason : str or None
        Why ``value`` is ``nan``; None when it is defined.
    """

    value: float
    observed: float
    expected: float
    subjects: int
    reason: str | None = None

    @property
    def defined(self) -> bool:
        """True when ``value`` is a number."""
        return self.reason is None

    @property
    def interpretation(self) -> str:
        """The Landis & Koch (1977) word for ``value`` (``"undefined"`` when it is nan)."""
        return kappa_interpretation(self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (``nan`` becomes None)."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "value": clean(self.value),
            "observed": clean(self.observed),
            "expected": clean(self.expected),
            "subjects": self.subjects,
            "reason": self.reason,
            "interpretation": self.interpretation,
        }


#: Landis & Koch (1977) benchmarks: upper bound (inclusive) -> word. Below 0: "poor".
KAPPA_SCALE = (
    (0.0, "poor"),
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
)


def kappa_interpretation(value: float) -> str:
    """The Landis & Koch (1977) word for a kappa: poor (< 0), slight (0 to 0.20), fair (to 0.40),
    moderate (to 0.60), substantial (to 0.80), almost perfect (to 1); ``"undefined"`` for nan."""
    if value is None or math.isnan(value):
        return "undefined"
    if value < 0:
        return "poor"
    for upper, word in KAPPA_SCALE[1:]:
        if value <= upper + 1e-12:
            return word
    return "almost perfect"


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> Kappa:
    """Fleiss' kappa from a subjects x categories table of counts.

    Row ``i`` holds how many raters put subject ``i`` in each category. Rows may
    have different totals (not every reviewer answered every trial): each
    subject's agreement is :math:`P_i = \\sum_j n_{ij}(n_{ij}-1) / (n_i(n_i-1))`,
    :math:`P_o` is their mean, and the category shares
    :math:`p_j = \\sum_i n_{ij} / \\sum_i n_i` give :math:`P_e = \\sum_j p_j^2`.
    With equal row totals this is exactly Fleiss (1971), and statsmodels'
    ``fleiss_kappa`` gives the same value. Rows with fewer than two ratings carry
    no agreement and are left out, of :math:`P_e` too. With unequal totals other
    generalisations exist: Gwet (2014, irrCAC's ``fleiss.kappa.raw``) averages
    each subject's shares over every rated subject for :math:`p_j`, where this
    pools the ratings of the subjects that enter :math:`P_o`.

    Parameters
    ----------
    counts : (N, K) sequence of sequences of int
        Non-negative counts; every row has the same length K >= 2.

    Returns
    -------
    Kappa
        ``value`` is nan, with ``reason``, when no subject has two ratings or
        every rating is in one category (:math:`P_e = 1`).

    Raises
    ------
    ParameterError
        If rows differ in length or hold negative or non-integer counts.

    Examples
    --------
    Fleiss (1971) / Wikipedia's worked example (10 subjects, 14 raters, 5 categories) gives 0.210.
    """
    rows = [list(r) for r in counts]
    if rows and len({len(r) for r in rows}) != 1:
        raise ParameterError("every row of `counts` must have one count per category (same length)")
    for r in rows:
        for c in r:
            if isinstance(c, bool) or not float(c).is_integer() or c < 0:
                raise ParameterError(f"`counts` must hold non-negative integer counts, got {c!r}")
    rows = [[int(c) for c in r] for r in rows if sum(r) >= 2]
    if not rows:
        return Kappa(math.nan, math.nan, math.nan, 0, "no trial has answers from two or more reviewers")
    totals = [sum(r) for r in rows]
    grand = sum(totals)
    shares = [sum(r[j] for r in rows) / grand for j in range(len(rows[0]))]
    expected = math.fsum(p * p for p in shares)
    observed = math.fsum(sum(c * (c - 1) for c in r) / (t * (t - 1)) for r, t in zip(rows, totals)) / len(rows)
    if expected >= 1 - 1e-12:
        return Kappa(
            math.nan,
            observed,
            expected,
            len(rows),
            "every answer is in the same category, so agreement cannot be told from chance",
        )
    return Kappa((observed - expected) / (1 - expected), observed, expected, len(rows))


def fleiss_table(ratings: Sequence[Sequence[Hashable]], categories: Sequence[Hashable]) -> list[list[int]]:
    """Turn per-subject rating lists into the counts table :func:`fleiss_kappa` takes.

    Parameters
    ----------
    ratings : sequence of sequences
        ``ratings[i]`` are the categories the raters gave subject ``i``.
    categories : sequence
        All categories, in column order.

    Returns
    -------
    (N, K) list of lists of int

    Raises
    ------
    ParameterError
        If a rating is not one of ``categories``.
    """
    index = {c: j for j, c in enumerate(categories)}
    table = []
    for subject in ratings:
        row = [0] * len(categories)
        for rating in subject:
            if rating not in index:
                raise ParameterError(f"rating {rating!r} is not one of the categories {list(categories)}")
            row[index[rating]] += 1
        table.append(row)
    return table


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> Kappa:
    """Cohen's kappa of two raters who rated the same subjects.

    :math:`P_o` is the share of subjects both put in the same category and
    :math:`P_e = \\sum_c p_{1c} p_{2c}` with each rater's own category shares; the
    value is statsmodels' ``cohens_kappa`` of the two raters' contingency table.

    Parameters
    ----------
    first, second : sequences of the same length
        The two raters' categories, subject by subject (any hashable labels).

    Returns
    -------
    Kappa
        ``value`` is nan, with ``reason``, without subjects or when both raters
        used one and the same category throughout (:math:`P_e = 1`).

    Raises
    ------
    ParameterError
        If the sequences differ in length.

    Examples
    --------
    >>> round(cohen_kappa(["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15,
    ...                   ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15).value, 6)
    0.4
    """
    first, second = list(first), list(second)
    if len(first) != len(second):
        raise ParameterError(f"both raters must rate the same subjects: got {len(first)} and {len(second)} ratings")
    n = len(first)
    if n == 0:
        return Kappa(math.nan, math.nan, math.nan, 0, "the two reviewers answered no trial in common")
    categories = {c: j for j, c in enumerate(dict.fromkeys([*first, *second]))}
    table = np.zeros((len(categories), len(categories)), dtype=np.int64)
    np.add.at(table, ([categories[a] for a in first], [categories[b] for b in second]), 1)
    observed = float(np.trace(table)) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / (n * n)
    if expected >= 1 - 1e-12:
        return Kappa(
            math.nan,
            observed,
            expected,
            n,
            "both reviewers gave the same single answer throughout, so agreement cannot be told from chance",
        )
    return Kappa(float(_cohens_kappa(table, return_results=False)), observed, expected, n)
