"""Importance × performance: fix first, protect, maintain, lower priority."""

from __future__ import annotations

import pandas as pd
import pytest

from smokejumper.drivers import DriverError, driver_performance, importance_performance, key_drivers
from smokejumper.drivers.quadrant import FIX_FIRST, LOWER_PRIORITY, MAINTAIN, PROTECT

from .synthetic import driver_names, survey

TABLE = pd.DataFrame({"driver": ["staff", "wait", "price", "app"], "share": [0.4, 0.3, 0.2, 0.1]})


@pytest.mark.parametrize(
    ("performance", "cuts", "expected"),
    [
        ({"staff": 80, "wait": 40, "price": 30, "app": 90}, {},
         {"wait": FIX_FIRST, "staff": PROTECT, "app": MAINTAIN, "price": LOWER_PRIORITY}),
        ({"staff": 80, "wait": 40, "price": 30, "app": 90}, {"performance_cut": 35},
         {"wait": PROTECT, "staff": PROTECT, "app": MAINTAIN, "price": LOWER_PRIORITY}),
        ({"staff": 10, "wait": 20, "price": 90, "app": 95}, {"importance_cut": 0.35},
         {"staff": FIX_FIRST, "wait": LOWER_PRIORITY, "price": MAINTAIN, "app": MAINTAIN}),
    ],
)
def test_quadrants(performance: dict[str, float], cuts: dict[str, float],
                   expected: dict[str, str]) -> None:
    placed = importance_performance(TABLE, performance, **cuts)
    assert dict(zip(placed["driver"], placed["quadrant"], strict=True)) == expected
    order = [FIX_FIRST, PROTECT, MAINTAIN, LOWER_PRIORITY]
    ranks = [order.index(q) for q in placed["quadrant"]]
    assert ranks == sorted(ranks)


def test_default_cuts_are_the_averages() -> None:
    placed = importance_performance(TABLE, {"staff": 80, "wait": 40, "price": 30, "app": 90})
    assert placed.attrs["importance_cut"] == pytest.approx(0.25)
    assert placed.attrs["performance_cut"] == pytest.approx(60.0)


def test_performance_from_ratings_on_their_scales() -> None:
    df = pd.DataFrame({"staff": [5, 4, 4, 3], "wait_min": [0.0, 5.0, 10.0, 5.0]})
    performance = driver_performance(df, ["staff", "wait_min"], bounds={"staff": (1, 5)},
                                     lower_is_better=["wait_min"])
    assert performance.to_dict() == {"staff": 75.0, "wait_min": 50.0}


def test_works_on_a_key_drivers_table() -> None:
    df = survey(300, 4, seed=1)
    table = key_drivers(df, "outcome", driver_names(df))
    placed = importance_performance(table, driver_performance(df, driver_names(df)))
    assert set(placed["driver"]) == set(driver_names(df))
    assert placed["quadrant"].isin([FIX_FIRST, PROTECT, MAINTAIN, LOWER_PRIORITY]).all()


def test_errors() -> None:
    with pytest.raises(DriverError, match="no performance given for: app"):
        importance_performance(TABLE, {"staff": 1, "wait": 2, "price": 3})
    with pytest.raises(DriverError, match="'share' column"):
        importance_performance(TABLE[["driver"]], {})
    with pytest.raises(DriverError, match="unknown column"):
        driver_performance(pd.DataFrame({"a": [1, 2]}), ["b"])
    with pytest.raises(DriverError, match="no spread"):
        driver_performance(pd.DataFrame({"a": [1, 1]}), ["a"])
