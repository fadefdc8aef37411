"""Paired statistics between two methods: hand-computed cases, SciPy's own numbers, directions, agreement."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

import explainers
from explainers.metrics import compare_methods, metric_agreement, paired_comparison


def test_a_constant_shift_by_hand():
    b = np.linspace(0.1, 0.5, 10)
    a = b + 0.05
    c = paired_comparison(a, b, metric="insertion", direction="higher", method_a="secam", method_b="cam")
    assert c.n == 10 and c.mean_difference == pytest.approx(0.05)
    assert (c.ci_low, c.ci_high) == pytest.approx((0.05, 0.05))  # no spread to resample
    assert c.p_value == pytest.approx(2 / 2**10)  # exact: all 10 differences positive, two-sided
    assert c.rank_biserial == 1.0 and np.isnan(c.cohens_dz)
    assert (c.a_better_on, c.b_better_on, c.ties) == (10, 0, 0) and c.winner == "secam"
    lower = paired_comparison(a, b, direction="lower", method_a="secam", method_b="cam")
    assert lower.winner == "cam" and (lower.a_better_on, lower.b_better_on) == (0, 10)


def test_effect_sizes_by_hand():
    a = np.array([2.0, 1.0, 6.0, 4.0, 5.0])
    b = np.array([1.0, 3.0, 3.0, 4.0, 1.0])
    c = paired_comparison(a, b)
    # differences 1, -2, 3, 0, 4: the zero is dropped, |d| ranks 1, 2, 3, 4; R+ = 1 + 3 + 4, R- = 2
    assert c.rank_biserial == pytest.approx((8 - 2) / 10)
    d = a - b
    assert c.cohens_dz == pytest.approx(d.mean() / d.std(ddof=1))
    assert c.ties == 1 and c.a_better_on == 3 and c.b_better_on == 1
    assert c.winner is None  # four pairs cannot reach p < 0.05


def test_the_numbers_are_scipys():
    rng = np.random.default_rng(7)
    b = rng.random(40)
    a = b + rng.normal(0.03, 0.05, 40)
    c = paired_comparison(a, b, resamples=2000, seed=11, confidence=0.9)
    expected = scipy.stats.bootstrap((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), paired=True,
                                     vectorized=True, n_resamples=2000, confidence_level=0.9, method="BCa",
                                     rng=np.random.default_rng(11))
    assert (c.ci_low, c.ci_high) == pytest.approx(tuple(expected.confidence_interval))
    test = scipy.stats.wilcoxon(a - b)
    assert (c.wilcoxon_statistic, c.p_value) == pytest.approx((test.statistic, test.pvalue))
    assert c.ci_low < c.mean_difference < c.ci_high
    assert c.winner == "a" and c.p_value < 0.05


def test_missing_values_are_left_out_and_bad_input_is_refused():
    c = paired_comparison([1.0, np.nan, 3.0], [0.5, 1.0, np.nan])
    assert c.n == 1 and c.mean_difference == 0.5 and np.isnan(c.ci_low)
    empty = paired_comparison([np.nan], [1.0])
    assert empty.n == 0 and empty.winner is None
    json.dumps(empty.to_dict(), allow_nan=False)
    with pytest.raises(explainers.ParameterError, match="one value per photo"):
        paired_comparison([1.0, 2.0], [1.0])
    with pytest.raises(explainers.ParameterError, match="`direction` must be 'higher' or 'lower'"):
        paired_comparison([1.0], [1.0], direction="up")
    with pytest.raises(explainers.ParameterError, match=r"`alpha` must be in \(0.0, 0.5\]"):
        paired_comparison([1.0], [1.0], alpha=0.0)


def test_agreement_orients_each_metric_by_its_direction():
    rng = np.random.default_rng(3)
    d = rng.normal(size=30)
    noise = rng.normal(size=30)
    agreement = metric_agreement(
        {"insertion": d, "deletion": -2 * d, "mixed": d + 0.3 * noise, "other": noise},
        {"insertion": "higher", "deletion": "lower", "mixed": "higher", "other": "higher"},
    )
    tau = dict(zip(agreement.metrics, agreement.tau))
    # deletion falling where insertion rises is the same verdict: +1 once oriented
    assert tau["insertion"][1] == pytest.approx(1.0)
    assert tau["insertion"][2] == pytest.approx(scipy.stats.kendalltau(d, d + 0.3 * noise).statistic)
    assert np.allclose(np.diag(agreement.tau), 1.0) and np.allclose(agreement.tau, agreement.tau.T)
    assert (agreement.n == 30).all()
    json.dumps(agreement.to_dict(), allow_nan=False)
    with pytest.raises(explainers.ParameterError, match="metric 'x' needs a direction"):
        metric_agreement({"x": d}, {})


def test_compare_methods_uses_the_registered_directions():
    rng = np.random.default_rng(5)
    cam = {"deletion": rng.random(25), "insertion": rng.random(25), "mine": rng.random(25)}
    secam = {"deletion": cam["deletion"] + 0.05, "insertion": cam["insertion"] + 0.05, "mine": cam["mine"]}
    result = compare_methods({"cam": cam, "secam": secam}, "secam", "cam", directions={"mine": "higher"})
    by_metric = {c.metric: c for c in result.comparisons}
    assert list(by_metric) == ["deletion", "insertion", "mine"]
    assert by_metric["deletion"].winner == "cam" and by_metric["insertion"].winner == "secam"
    assert by_metric["mine"].winner is None and by_metric["mine"].p_value == 1.0
    assert result.agreement.metrics == ("deletion", "insertion", "mine")
    assert np.isnan(result.agreement.tau[0, 1])  # constant differences: no ranking to agree on
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert record["comparisons"][0]["direction"] == "lower"
    with pytest.raises(explainers.ParameterError, match="metric 'mine' is not registered"):
        compare_methods({"cam": cam, "secam": secam}, "secam", "cam")
    with pytest.raises(explainers.ParameterError, match="no scores for method 'lime'"):
        compare_methods({"cam": cam}, "lime", "cam")
