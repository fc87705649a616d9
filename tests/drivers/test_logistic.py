"""The logistic variant: latent-scale decomposition of McKelvey–Zavoina R² for 0/1 outcomes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from smokejumper.drivers import DriverError, key_drivers
from smokejumper.drivers.logistic import LOGISTIC_VARIANCE, fit_logistic

PLANTED = np.array([1.5, 1.0, 0.6, 0.3, 0.0])
NAMES = [f"d{i}" for i in range(PLANTED.size)]


def detractors(rows: int, seed: int, *, correlated: bool = True) -> pd.DataFrame:
    """Drivers (correlated through a shared factor, or not) and a planted logistic outcome."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, PLANTED.size))
    if correlated:
        x = x + 0.7 * rng.standard_normal((rows, 1))
        x /= x.std(axis=0)
    probability = 1 / (1 + np.exp(-(-0.5 + x @ PLANTED)))
    df = pd.DataFrame(x, columns=NAMES)
    df["detractor"] = rng.random(rows) < probability
    return df


@pytest.mark.parametrize("method", ["shapley", "relative_weights"])
def test_planted_drivers_are_ranked_right(method: str) -> None:
    table = key_drivers(detractors(20_000, seed=1), "detractor", NAMES, method,
                        model="logistic")
    assert table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert table["importance"].sum() == pytest.approx(table.attrs["r2"], abs=1e-12)
    assert table.attrs["r2_kind"] == "McKelvey-Zavoina"
    assert table["sign"].tolist()[:4] == [1, 1, 1, 1]


def test_independent_drivers_share_in_proportion_to_squared_coefficients() -> None:
    table = key_drivers(detractors(40_000, seed=2, correlated=False), "detractor", NAMES,
                        model="logistic")
    expected = PLANTED**2 / (PLANTED**2).sum()
    np.testing.assert_allclose(table["share"], expected, atol=0.02)
    explained = (PLANTED**2).sum()
    assert table.attrs["r2"] == pytest.approx(explained / (explained + LOGISTIC_VARIANCE),
                                              abs=0.02)


def test_fit_solves_the_score_equations() -> None:
    df = detractors(3_000, seed=3)
    x = df[NAMES].to_numpy()
    x = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    y = df["detractor"].to_numpy(float)
    fit = fit_logistic(x, y)
    design = np.column_stack([np.ones(len(y)), x])
    eta = design @ np.concatenate([[fit.intercept], fit.coefficients])
    score = design.T @ (y - 1 / (1 + np.exp(-eta)))
    assert np.abs(score).max() < 1e-6
    assert np.all(np.diff(fit.coefficients[:4]) < 0)


def test_bootstrap_intervals_contain_the_estimate_rows_and_blocks() -> None:
    df = detractors(4_000, seed=4)
    rows = key_drivers(df, "detractor", NAMES, bootstrap=300, model="logistic", seed=1)
    blocks = key_drivers(df, "detractor", NAMES, bootstrap=300, model="logistic", seed=1,
                         max_units=400)
    for table in (rows, blocks):
        assert (table["low"] <= table["importance"]).all()
        assert (table["importance"] <= table["high"]).all()
    ratio = (blocks["high"] - blocks["low"]) / (rows["high"] - rows["low"])
    assert ratio.between(0.7, 1.43).all(), ratio.tolist()
    again = key_drivers(df, "detractor", NAMES, bootstrap=300, model="logistic", seed=1)
    pd.testing.assert_frame_equal(rows, again)


def test_logistic_importance_is_not_the_linear_probability_one() -> None:
    df = detractors(5_000, seed=5)
    latent = key_drivers(df, "detractor", NAMES, model="logistic")
    linear = key_drivers(df, "detractor", NAMES)
    assert latent.attrs["r2"] > linear.attrs["r2"]
    assert latent.attrs["model"] == "logistic" and linear.attrs["model"] == "linear"


def test_separated_outcome_is_an_error() -> None:
    df = detractors(500, seed=6)
    df["detractor"] = df["d0"] > 0
    with pytest.raises(DriverError, match="separated"):
        key_drivers(df, "detractor", NAMES, model="logistic")


@pytest.mark.parametrize("values", [[0, 1, 2], [1, 1, 1]])
def test_outcome_must_be_zero_one_with_both_classes(values: list[int]) -> None:
    df = detractors(300, seed=7)
    df["detractor"] = np.resize(values, len(df))
    with pytest.raises(DriverError, match="0/1|never varies"):
        key_drivers(df, "detractor", NAMES, model="logistic")


def test_latent_variance_constant() -> None:
    assert LOGISTIC_VARIANCE == pytest.approx(math.pi**2 / 3)
