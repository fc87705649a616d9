"""Intervals from sufficient statistics: published values, raw-data formulas, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from smokejumper.metrics import intervals


@pytest.mark.parametrize(("k", "n", "low", "high", "digits"), [
    (8, 10, 0.4901625, 0.9433178, 7),  # statsmodels proportion_confint(method="wilson")
    (0, 10, 0.0, 0.2775328, 7),
    (10, 10, 0.7224672, 1.0, 7),
    (1, 1, 0.2065493, 1.0, 7),
    (81, 263, 0.2553, 0.3662, 4),  # Newcombe (1998), Statistics in Medicine: 81 of 263
])
def test_wilson_matches_published_values(k, n, low, high, digits):
    p, lows, highs = intervals.wilson_interval([k], [n])
    assert p[0] == k / n
    assert (round(lows[0], digits), round(highs[0], digits)) == (low, high)


def test_mean_interval_from_sums_equals_t_interval_from_raw_values():
    values = np.random.default_rng(3).gamma(2.0, 150.0, 57)
    mean, low, high = intervals.mean_interval([values.sum()], [(values**2).sum()],
                                              [len(values)])
    expected = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                scale=stats.sem(values))
    assert mean[0] == pytest.approx(values.mean(), rel=1e-12)
    assert (low[0], high[0]) == pytest.approx(expected, rel=1e-9)


def test_nps_variance_is_the_multinomial_one():
    scores = np.random.default_rng(5).integers(0, 11, 400)
    promoter, detractor = (scores >= 9).astype(float), (scores <= 6).astype(float)
    value, low, high = intervals.nps_interval([promoter.sum()], [detractor.sum()],
                                              [len(scores)])
    per_response = promoter - detractor  # NPS is the mean of +1 / 0 / -1, ×100
    half = 1.959963984540054 * per_response.std(ddof=0) / math.sqrt(len(scores))
    assert value[0] == pytest.approx(100 * per_response.mean(), rel=1e-12)
    assert (low[0], high[0]) == pytest.approx((100 * (per_response.mean() - half),
                                               100 * (per_response.mean() + half)), rel=1e-9)


def test_nps_interval_is_clipped_to_its_range():
    value, low, high = intervals.nps_interval([3, 0], [0, 1], [3, 1])
    assert value.tolist() == [100.0, -100.0]
    assert low.tolist() == [100.0, -100.0] and high.tolist() == [100.0, -100.0]
    value, low, high = intervals.nps_interval([2], [0], [3])
    assert high[0] == 100.0 and low[0] < value[0]


@pytest.mark.parametrize(("k", "low", "high"), [
    (0, 0.0, 3.688879),  # exact Garwood intervals
    (1, 0.025318, 5.571643),
    (10, 4.795389, 18.390356),
])
def test_poisson_interval(k, low, high):
    value, lows, highs = intervals.poisson_interval([k])
    assert value[0] == k
    assert (lows[0], highs[0]) == pytest.approx((low, high), abs=1e-6)


def test_ratio_of_sums_matches_the_linearised_variance():
    rng = np.random.default_rng(9)
    x = rng.gamma(3.0, 100.0, 80)
    y = 0.2 * x + rng.normal(0, 10, 80)
    n = len(x)
    sums = [[y.sum(), x.sum()]]
    cross = [[[y @ y, y @ x], [x @ y, x @ x]]]
    value, low, high = intervals.monomial_delta_interval([n], sums, cross, [1, -1])
    ratio = y.sum() / x.sum()
    half = 1.959963984540054 * math.sqrt(((y - ratio * x) ** 2).sum() / (n - 1)
                                         / (n * x.mean() ** 2))
    assert value[0] == pytest.approx(ratio, rel=1e-12)
    assert (low[0], high[0]) == pytest.approx((ratio - half, ratio + half), rel=1e-9)


def test_ratio_with_count_star_is_a_mean():
    y = np.array([0.0, 10.0, 0.0, 35.5, 12.0])
    value, low, high = intervals.monomial_delta_interval([5], [[y.sum()]], [[[y @ y]]], [1])
    half = 1.959963984540054 * y.std(ddof=1) / math.sqrt(5)
    assert (value[0], low[0], high[0]) == pytest.approx((y.mean(), y.mean() - half,
                                                         y.mean() + half), rel=1e-12)


def test_edge_cases_n0_and_n1():
    p, low, high = intervals.wilson_interval([0], [0])
    assert np.isnan([p[0], low[0], high[0]]).all()
    mean, low, high = intervals.mean_interval([7.0, 0.0], [49.0, 0.0], [1, 0])
    assert mean[0] == 7.0 and np.isnan([low[0], high[0], mean[1], low[1], high[1]]).all()
    value, low, high = intervals.nps_interval([0], [0], [0])
    assert np.isnan([value[0], low[0], high[0]]).all()
    value, low, high = intervals.monomial_delta_interval([1], [[4.0]], [[[16.0]]], [1])
    assert value[0] == 4.0 and np.isnan([low[0], high[0]]).all()
    value, _, _ = intervals.monomial_delta_interval([3], [[0.0, 0.0]],
                                                    [[[0.0, 0.0], [0.0, 0.0]]], [1, -1])
    assert np.isnan(value[0])  # 0 / 0


def test_zero_spread_gives_a_point_interval():
    mean, low, high = intervals.mean_interval([12.0], [48.0], [3])  # 4, 4, 4
    assert (mean[0], low[0], high[0]) == (4.0, 4.0, 4.0)
