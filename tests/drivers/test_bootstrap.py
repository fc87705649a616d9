"""Bootstrap intervals: contain the estimate, reproducible with a seed, block resampling sound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smokejumper.drivers import key_drivers
from smokejumper.drivers.covariance import (
    correlation,
    resampling_units,
    row_moments,
    unit_moments,
)

from .synthetic import driver_names, survey


@pytest.mark.parametrize("method", ["shapley", "relative_weights"])
def test_intervals_contain_the_estimate_and_repeat_with_the_seed(method: str) -> None:
    df = survey(600, 5, seed=1)
    names = driver_names(df)
    table = key_drivers(df, "outcome", names, method, bootstrap=300, seed=3)
    assert (table["low"] <= table["importance"]).all()
    assert (table["importance"] <= table["high"]).all()
    assert (table["high"] - table["low"] > 0).all()
    again = key_drivers(df, "outcome", names, method, bootstrap=300, seed=3)
    pd.testing.assert_frame_equal(table, again)
    other = key_drivers(df, "outcome", names, method, bootstrap=300, seed=4)
    assert not np.array_equal(table["low"], other["low"])
    assert table.attrs["bootstrap_failed"] == 0


def test_no_bootstrap_gives_no_interval_for_exact_methods() -> None:
    df = survey(200, 3, seed=2)
    table = key_drivers(df, "outcome", driver_names(df))
    assert table["low"].isna().all() and table["high"].isna().all()


def test_interval_narrows_with_confidence() -> None:
    df = survey(400, 4, seed=3)
    wide = key_drivers(df, "outcome", driver_names(df), bootstrap=200, confidence=0.95)
    narrow = key_drivers(df, "outcome", driver_names(df), bootstrap=200, confidence=0.5)
    assert ((narrow["high"] - narrow["low"]) < (wide["high"] - wide["low"])).all()


def test_block_resampling_gives_about_the_same_intervals_as_rows() -> None:
    df = survey(6_000, 4, seed=4)
    names = driver_names(df)
    rows = key_drivers(df, "outcome", names, bootstrap=400, max_units=10_000)
    blocks = key_drivers(df, "outcome", names, bootstrap=400, max_units=600)
    ratio = (blocks["high"] - blocks["low"]) / (rows["high"] - rows["low"])
    assert ratio.between(0.75, 1.33).all(), ratio.tolist()
    assert (blocks["low"] <= blocks["importance"]).all()
    assert (blocks["importance"] <= blocks["high"]).all()


def test_block_units_add_up_to_the_full_sample() -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_normal((1_003, 4)) + 50.0
    units = resampling_units(1_003, rng, max_units=100)
    assert units.blocks is not None
    assert sorted(units.blocks[units.blocks >= 0].tolist()) == list(range(1_003))
    pooled = unit_moments(data, units, "listwise").combine(np.ones((1, units.n_units)))
    np.testing.assert_allclose(correlation(pooled).matrix[0],
                               correlation(row_moments(data)).matrix, atol=1e-12)


def test_pairwise_unit_moments_add_up_to_the_full_sample() -> None:
    rng = np.random.default_rng(6)
    data = rng.standard_normal((500, 3))
    data[rng.random((500, 3)) < 0.1] = np.nan
    for max_units in (1_000, 60):
        units = resampling_units(500, rng, max_units=max_units)
        pooled = unit_moments(data, units, "pairwise").combine(np.ones((1, units.n_units)))
        np.testing.assert_allclose(correlation(pooled).matrix[0],
                                   correlation(row_moments(data, "pairwise")).matrix,
                                   atol=1e-12)


def test_sampled_shapley_bootstrap_uses_common_orderings() -> None:
    df = survey(800, 7, seed=7)
    table = key_drivers(df, "outcome", driver_names(df), bootstrap=100, max_exact=5,
                        samples=256)
    assert not table.attrs["exact"]
    assert (table["low"] <= table["importance"]).all()
    assert (table["importance"] <= table["high"]).all()
    assert table["mc_error"].notna().all()


def test_bootstrap_with_pairwise_missing_values() -> None:
    df = survey(800, 4, seed=8)
    rng = np.random.default_rng(8)
    for column in driver_names(df):
        df.loc[rng.random(len(df)) < 0.05, column] = np.nan
    table = key_drivers(df, "outcome", driver_names(df), bootstrap=200, missing="pairwise")
    assert (table["low"] <= table["importance"]).all()
    assert (table["importance"] <= table["high"]).all()


@pytest.mark.parametrize(("drivers", "max_exact"), [(18, 20), (12, 8)])
def test_many_driver_shapley_bootstrap_is_centred_on_the_point_estimate(
    drivers: int, max_exact: int
) -> None:
    df = survey(1_500, drivers, seed=9)
    table = key_drivers(df, "outcome", driver_names(df), bootstrap=60, max_exact=max_exact)
    assert table.attrs["exact"] == (drivers <= max_exact)
    assert (table["low"] <= table["importance"]).all()
    assert (table["importance"] <= table["high"]).all()
    assert (table["high"] - table["low"]).max() < 0.1
