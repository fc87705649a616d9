"""Shapley (LMG) is right: against brute force, additive, and sampled within its own error."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from smokejumper.drivers import key_drivers
from smokejumper.drivers.api import ADDITIVE_METHODS, METHODS
from smokejumper.drivers.shapley import sample_orderings, subset_r2

from .synthetic import driver_names, survey


def brute_force_lmg(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Average gain over all orderings, each R² from a least-squares fit on the rows."""
    n, p = x.shape

    def r2(subset: tuple[int, ...]) -> float:
        design = np.column_stack([np.ones(n), x[:, list(subset)]])
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()

    cache = {s: r2(s) for k in range(p + 1) for s in itertools.combinations(range(p), k)}
    gains = np.zeros(p)
    for order in itertools.permutations(range(p)):
        for i, j in enumerate(order):
            gains[j] += cache[tuple(sorted(order[: i + 1]))] - cache[tuple(sorted(order[:i]))]
    return gains / math.factorial(p)


def test_exact_shapley_matches_brute_force_refits() -> None:
    df = survey(300, 5, seed=1)
    names = driver_names(df)
    table = key_drivers(df, "outcome", names)
    expected = brute_force_lmg(df[names].to_numpy(), df["outcome"].to_numpy())
    np.testing.assert_allclose(table["importance"], expected, rtol=1e-10, atol=1e-12)


def test_subset_r2_matches_normal_equations_for_every_subset() -> None:
    rng = np.random.default_rng(3)
    corr = np.corrcoef(rng.standard_normal((50, 8)) @ rng.standard_normal((8, 8)), rowvar=False)
    rxx, rxy = corr[:7, :7], corr[:7, 7]
    r2 = subset_r2(rxx[None], rxy[None])[0]
    for mask in range(1, 2**7):
        s = [j for j in range(7) if mask >> j & 1]
        direct = rxy[s] @ np.linalg.solve(rxx[np.ix_(s, s)], rxy[s])
        assert r2[mask] == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_shares_sum_to_one_and_additive_methods_sum_to_r2(method: str) -> None:
    df = survey(500, 6, seed=2)
    table = key_drivers(df, "outcome", driver_names(df), method)
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert list(table.columns[:5]) == ["driver", "importance", "share", "low", "high"]
    if method in ADDITIVE_METHODS:
        assert table["importance"].sum() == pytest.approx(table.attrs["r2"], abs=1e-12)


def test_r2_is_the_least_squares_r2() -> None:
    df = survey(400, 4, seed=4)
    names = driver_names(df)
    design = np.column_stack([np.ones(len(df)), df[names].to_numpy()])
    y = df["outcome"].to_numpy()
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    expected = 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert key_drivers(df, "outcome", names).attrs["r2"] == pytest.approx(expected, abs=1e-12)


def test_sampled_shapley_is_within_its_reported_error_of_exact_on_22_drivers() -> None:
    df = survey(2_000, 22, seed=5)
    names = driver_names(df)
    exact = key_drivers(df, "outcome", names, max_exact=22)
    sampled = key_drivers(df, "outcome", names, seed=11)  # 22 > max_exact=20: sampled
    assert exact.attrs["exact"] and not sampled.attrs["exact"]
    assert exact["mc_error"].isna().all()
    error = sampled["mc_error"].to_numpy()
    assert np.all(error > 0) and np.all(error < 0.01)
    gap = np.abs(sampled["importance"].to_numpy() - exact["importance"].to_numpy())
    # 22 comparisons: 4 standard errors leaves a 0.1% chance of a false failure.
    assert np.all(gap <= 4 * error), gap / error
    assert sampled["importance"].sum() == pytest.approx(exact.attrs["r2"], abs=1e-12)
    # The Monte Carlo interval is reported when there is no bootstrap.
    inside = (sampled["low"] <= exact["importance"]) & (exact["importance"] <= sampled["high"])
    assert inside.mean() >= 0.8


def test_sampled_shapley_is_reproducible_with_a_seed() -> None:
    df = survey(500, 8, seed=6)
    names = driver_names(df)
    first = key_drivers(df, "outcome", names, max_exact=4, seed=1)
    again = key_drivers(df, "outcome", names, max_exact=4, seed=1)
    other = key_drivers(df, "outcome", names, max_exact=4, seed=2)
    np.testing.assert_array_equal(first["importance"], again["importance"])
    assert not np.array_equal(first["importance"], other["importance"])


def test_orderings_come_in_reversed_pairs() -> None:
    orderings = sample_orderings(6, 9, np.random.default_rng(0))
    assert orderings.shape == (10, 6)
    np.testing.assert_array_equal(orderings[1::2], orderings[0::2, ::-1])
    assert all(sorted(row) == list(range(6)) for row in orderings.tolist())


def test_planted_weights_are_ranked_in_order() -> None:
    df = survey(20_000, 6, seed=7, noise=0.5)
    for method in ("shapley", "relative_weights"):
        table = key_drivers(df, "outcome", driver_names(df), method)
        assert table["rank"].tolist() == [1, 2, 3, 4, 5, 6]
