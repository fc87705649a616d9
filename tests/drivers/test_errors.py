"""Bad data or settings give one clear DriverError (a SmokejumperError), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from smokejumper.drivers import DriverError, key_drivers
from smokejumper.errors import SmokejumperError

from .synthetic import survey

DRIVERS = ["d00", "d01", "d02"]


def base() -> pd.DataFrame:
    return survey(100, 3, seed=1)


def with_column(name: str, values: Callable[[pd.DataFrame], Any]) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        df = base()
        df[name] = values(df)
        return df

    return make


CASES: list[tuple[str, Callable[[], pd.DataFrame], dict[str, Any], str]] = [
    ("unknown driver", base, {"drivers": ["d00", "nope"]}, r"unknown column\(s\): 'nope'"),
    ("unknown outcome", base, {"outcome": "nps"}, r"unknown column\(s\): 'nps'"),
    ("constant driver", with_column("d01", lambda df: 4.0), {}, r"constant driver\(s\).*d01"),
    ("constant outcome", with_column("outcome", lambda df: 7), {}, "never varies"),
    ("too few rows", lambda: base().head(4), {}, r"more complete rows than drivers \+ 1"),
    ("too few complete rows", with_column("d02", lambda df: [1.0, 2.0, 3.0, 4.0] + [np.nan] * 96),
     {}, "got 4 row"),
    ("text driver", with_column("d01", lambda df: ["good"] * len(df)), {},
     r"'d01' is not numeric \(dtype object\)"),
    ("category driver", with_column("d01", lambda df: pd.Categorical(["a", "b"] * 50)), {},
     "not numeric"),
    ("date driver", with_column("d01", lambda df: pd.date_range("2024-01-01", periods=100)), {},
     "not numeric"),
    ("infinite value", with_column("d02", lambda df: df["d02"].replace(df["d02"].iloc[0], np.inf)),
     {}, "infinite values in: d02"),
    ("all missing", with_column("d02", lambda df: np.nan), {"missing": "pairwise"},
     "no observed values in: d02"),
    ("collinear drivers", with_column("d02", lambda df: df["d00"] - 2 * df["d01"]), {},
     "perfectly collinear.*d00, d01, d02"),
    ("duplicate driver", base, {"drivers": ["d00", "d00"]}, "more than once: d00"),
    ("outcome as driver", base, {"drivers": ["d00", "outcome"]}, "cannot also be a driver"),
    ("no drivers", base, {"drivers": []}, "at least one driver"),
    ("unknown method", base, {"method": "magic"}, "unknown method 'magic'"),
    ("unknown model", base, {"model": "probit"}, "unknown model"),
    ("unknown missing rule", base, {"missing": "mean"}, "unknown missing-value rule"),
    ("logistic pairwise", base, {"model": "logistic", "missing": "pairwise"}, "listwise"),
    ("negative bootstrap", base, {"bootstrap": -1}, "bootstrap must be >= 0"),
    ("fractional bootstrap", base, {"bootstrap": 2.5}, "whole number"),
    ("confidence above 1", base, {"confidence": 95}, "between 0 and 1"),
    ("max_exact too big", base, {"max_exact": 40}, "max_exact must be between 1 and 26"),
    ("pmvd beyond exact", base, {"method": "pmvd", "max_exact": 2}, "pmvd needs all"),
    ("logistic on a score", base, {"model": "logistic"}, "0/1 or true/false"),
    ("not a frame", lambda: base().to_numpy(), {}, "need a pandas DataFrame"),
]


@pytest.mark.parametrize(("make", "overrides", "message"),
                         [pytest.param(m, o, msg, id=i) for i, m, o, msg in CASES])
def test_clear_error(make: Callable[[], Any], overrides: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"outcome": "outcome", "drivers": DRIVERS, **overrides}
    with pytest.raises(DriverError, match=message) as caught:
        key_drivers(make(), **arguments)
    assert isinstance(caught.value, SmokejumperError)


def test_pairwise_matrix_that_is_not_positive_definite_is_refused() -> None:
    # Three drivers seen two at a time in disjoint rows, with impossible correlations.
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 3)
    nan = np.full(18, np.nan)
    df = pd.DataFrame({
        "x": np.concatenate([a, a, nan]),
        "y": np.concatenate([a, nan, a]),
        "z": np.concatenate([nan, -a, a]),
        "outcome": np.concatenate([a, a, a]) + np.tile([0.1, -0.1, 0.2], 18),
    })
    with pytest.raises(DriverError, match="not positive definite"):
        key_drivers(df, "outcome", ["x", "y", "z"], missing="pairwise")


def test_a_single_driver_name_is_accepted_as_a_string() -> None:
    table = key_drivers(base(), "outcome", "d00")
    assert table["driver"].tolist() == ["d00"]
    assert table["share"].tolist() == [1.0]
