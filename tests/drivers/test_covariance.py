"""The row pass: missing values, awkward dtypes and badly scaled columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smokejumper.drivers import key_drivers
from smokejumper.drivers.covariance import correlation, row_moments

from .synthetic import driver_names, survey


def test_listwise_deletion_equals_dropping_incomplete_rows_first() -> None:
    df = survey(500, 4, seed=1)
    df.loc[[3, 10, 200], "d01"] = np.nan
    df.loc[[10, 50], "outcome"] = np.nan
    table = key_drivers(df, "outcome", driver_names(df))
    clean = key_drivers(df.dropna(), "outcome", driver_names(df))
    np.testing.assert_allclose(table["importance"], clean["importance"], atol=1e-12)
    assert table.attrs["rows_dropped"] == 4
    assert table.attrs["n"] == 496


def test_pairwise_deletion_uses_pairwise_complete_correlations() -> None:
    df = survey(400, 3, seed=2)
    rng = np.random.default_rng(2)
    for column in df.columns:
        df.loc[rng.random(len(df)) < 0.15, column] = np.nan
    table = key_drivers(df, "outcome", driver_names(df), "first", missing="pairwise")
    expected = df.corr()["outcome"][driver_names(df)] ** 2  # pandas: pairwise complete
    np.testing.assert_allclose(table["importance"], expected.to_numpy(), atol=1e-12)
    assert table.attrs["n"] == int(df.notna().astype(int).T.dot(df.notna().astype(int)).min().min())


def test_huge_offsets_do_not_lose_digits() -> None:
    df = survey(1_000, 4, seed=3)
    shifted = df + 1e9
    np.testing.assert_allclose(
        key_drivers(shifted, "outcome", driver_names(df))["importance"],
        key_drivers(df, "outcome", driver_names(df))["importance"],
        atol=1e-9,
    )


def test_bool_and_nullable_columns_are_numbers() -> None:
    df = survey(300, 3, seed=4)
    df["flag"] = df["d00"] > 0
    df["count"] = pd.array((df["d01"] * 3).round().astype(int), dtype="Int64")
    df.loc[5, "count"] = pd.NA
    table = key_drivers(df, "outcome", ["flag", "count", "d02"])
    assert table.attrs["rows_dropped"] == 1
    assert table["share"].sum() == pytest.approx(1.0)


def test_row_moments_match_numpy() -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_normal((200, 5)) * [1, 10, 100, 0.1, 3] + [0, 5, -7, 1e4, 2]
    corr = correlation(row_moments(data))
    np.testing.assert_allclose(corr.matrix, np.corrcoef(data, rowvar=False), atol=1e-12)
    np.testing.assert_allclose(corr.variances, data.var(axis=0, ddof=1), rtol=1e-10)
    assert int(corr.n) == 200
