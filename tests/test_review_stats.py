"""Statistics of review studies, on hand-computed and published examples.

The module takes its numbers from statsmodels (Wilson, Cohen) and SciPy (binomial test), so each is checked
against the other library or an exact rational computation here, and Fleiss' kappa (ours, for unequal numbers
of raters) against statsmodels' on equal ones.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from explainers import ParameterError
from explainers_team.review.stats import (binomial_test, cohen_kappa, fleiss_kappa, fleiss_table, kappa_interpretation,
                                     sign_test, wilson_interval)

#: Fleiss (1971) as reproduced in Wikipedia's "Fleiss' kappa" worked example: 10 subjects, 14 raters each, 5 categories.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_wilson_8_of_10_by_hand():
    # p = 0.8, z = 1.959964, z^2/n = 0.384146: centre 0.716745, half-width 0.226578
    low, high = wilson_interval(8, 10)
    assert round(low, 4) == 0.4902 and round(high, 4) == 0.9433
    ci = binomtest(8, 10).proportion_ci(0.95, method="wilson")
    assert low == pytest.approx(ci.low, abs=1e-12) and high == pytest.approx(ci.high, abs=1e-12)


@pytest.mark.parametrize("k,n,conf", [(0, 5, 0.95), (5, 5, 0.95), (1, 1, 0.9), (37, 120, 0.99), (500, 1000, 0.5)])
def test_wilson_matches_scipy_and_stays_in_unit_interval(k, n, conf):
    low, high = wilson_interval(k, n, conf)
    ci = binomtest(k, n).proportion_ci(conf, method="wilson")
    assert low == pytest.approx(ci.low, abs=1e-12) and high == pytest.approx(ci.high, abs=1e-12)
    assert 0 <= low <= k / n <= high <= 1
    if k == 0:
        assert low == 0.0
    if k == n:
        assert high == 1.0


def test_wilson_example_quoted_in_docs():
    # docs/REVIEW.md: "With 20 decided answers and 14 for A (70 %) it runs from 48 % to 85 %."
    assert [round(100 * x) for x in wilson_interval(14, 20)] == [48, 85]


def test_wilson_no_data_and_bad_input():
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)
    with pytest.raises(ParameterError, match="successes <= n"):
        wilson_interval(11, 10)
    with pytest.raises(ParameterError, match="confidence"):
        wilson_interval(1, 2, confidence=95)


def test_binomial_9_of_10_is_exact():
    # two-sided: 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024
    assert binomial_test(9, 10) == 0.021484375
    assert binomial_test(1, 10) == 0.021484375
    assert sign_test(9, 1) == 0.021484375


def test_binomial_edges():
    assert binomial_test(5, 10) == 1.0  # the middle outcome: no evidence either way
    assert binomial_test(0, 1) == 1.0
    assert binomial_test(10, 10) == 2 / 1024
    assert math.isnan(binomial_test(0, 0)) and math.isnan(sign_test(0, 0))
    with pytest.raises(ParameterError, match="probability"):
        binomial_test(1, 2, p=1.0)
    with pytest.raises(ParameterError):
        sign_test(-1, 3)


def exact_two_sided(k: int, n: int, p: Fraction) -> Fraction:
    """The minimum-likelihood two-sided p-value in rational arithmetic: every outcome no more likely than k."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(Fraction(1), sum(q for q in pmf if q <= pmf[k]))


@pytest.mark.parametrize("k,n,p", [(3, 10, "3/10"), (0, 20, "1/10"), (7, 12, "1/4"), (40, 100, "1/2"),
                                   (13, 31, "3/5"), (1200, 2000, "1/2"), (9, 10, "1/2"), (2, 15, "1/3")])
def test_binomial_matches_exact_rational_computation(k, n, p):
    assert binomial_test(k, n, float(Fraction(p))) == pytest.approx(float(exact_two_sided(k, n, Fraction(p))),
                                                                    rel=1e-9)


def test_sign_test_exact_for_every_small_study():
    # SciPy's binomial CDF is within a few ulps of the exact 2 * sum C(n, i) / 2^n
    for n in range(1, 41):
        for k in range(n + 1):
            assert sign_test(k, n - k) == pytest.approx(float(exact_two_sided(k, n, Fraction(1, 2))), rel=1e-13)


def test_fleiss_published_worked_example():
    kappa = fleiss_kappa(FLEISS_EXAMPLE)
    # Wikipedia: P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210
    assert round(kappa.observed, 3) == 0.378
    assert round(kappa.expected, 3) == 0.213
    assert round(kappa.value, 3) == 0.210
    assert kappa.subjects == 10 and kappa.defined and kappa.interpretation == "fair"


@pytest.mark.parametrize("seed", range(6))
def test_fleiss_equals_statsmodels_with_equal_rater_counts(seed):
    rng = random.Random(seed)
    raters, categories = rng.choice([2, 3, 5, 14]), rng.choice([2, 4])
    ratings = [[rng.randrange(categories) for _ in range(raters)] for _ in range(rng.randrange(3, 30))]
    table = fleiss_table(ratings, range(categories))
    ours = fleiss_kappa(table)
    assert ours.defined
    assert ours.value == pytest.approx(statsmodels_fleiss_kappa(np.array(table)), abs=1e-12)
    assert fleiss_kappa(FLEISS_EXAMPLE).value == pytest.approx(statsmodels_fleiss_kappa(np.array(FLEISS_EXAMPLE)))


def test_fleiss_table_and_unequal_rater_counts():
    table = fleiss_table([["A", "A"], ["A", "B", "B"], ["tie"]], ["A", "B", "tie"])
    assert table == [[2, 0, 0], [1, 2, 0], [0, 0, 1]]
    kappa = fleiss_kappa(table)  # the one-rating row is left out
    # P_1 = 1, P_2 = (0 + 2) / 6 = 1/3 -> P_o = 2/3; shares A 3/5, B 2/5 -> P_e = 13/25
    assert kappa.subjects == 2
    assert kappa.observed == pytest.approx(2 / 3)
    assert kappa.expected == pytest.approx(13 / 25)
    assert kappa.value == pytest.approx((2 / 3 - 13 / 25) / (1 - 13 / 25))
    with pytest.raises(ParameterError, match="categories"):
        fleiss_table([["C"]], ["A", "B"])


def test_fleiss_undefined_cases_do_not_crash():
    none = fleiss_kappa([])
    assert math.isnan(none.value) and "two or more" in none.reason and none.to_dict()["value"] is None
    single = fleiss_kappa([[1, 0], [0, 1]])
    assert math.isnan(single.value) and single.subjects == 0
    same = fleiss_kappa([[3, 0, 0], [2, 0, 0]])
    assert math.isnan(same.value) and "same category" in same.reason
    assert same.observed == 1.0 and same.interpretation == "undefined"
    with pytest.raises(ParameterError):
        fleiss_kappa([[1, 2], [1]])


def test_cohen_hand_example():
    # 50 subjects: both yes 20, first yes/second no 5, first no/second yes 10, both no 15.
    # P_o = 35/50 = 0.7; first says yes 25/50, second 30/50 -> P_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.4
    first = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    kappa = cohen_kappa(first, second)
    assert kappa.observed == pytest.approx(0.7) and kappa.expected == pytest.approx(0.5)
    assert kappa.value == pytest.approx(0.4) and kappa.interpretation == "fair"
    assert cohen_kappa(["A", "B", "A"], ["A", "B", "A"]).value == pytest.approx(1.0)


def test_cohen_undefined_and_bad_input():
    assert "no trial" in cohen_kappa([], []).reason
    same = cohen_kappa(["A"] * 4, ["A"] * 4)
    assert math.isnan(same.value) and same.observed == 1.0 and "same single answer" in same.reason
    with pytest.raises(ParameterError, match="same subjects"):
        cohen_kappa(["A"], ["A", "B"])


def test_kappa_scale():
    assert [kappa_interpretation(v) for v in (-0.1, 0.0, 0.2, 0.21, 0.5, 0.7, 0.95, math.nan)] == [
        "poor", "slight", "slight", "fair", "moderate", "substantial", "almost perfect", "undefined"]
