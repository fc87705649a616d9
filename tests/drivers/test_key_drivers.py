"""key_drivers reproduces every published reference value, to the printed digits.

The reference values and the three classic R data sets live outside the repository, in
``../shared/data/keydrivers/`` relative to its root. Without them these tests are skipped with
the reason, except under CI (``CI`` set), where their absence is a failure.

Each value in ``published_reference_values.json`` is one row of the table below (a JSON path,
the data set, the method and the quantity); a separate test checks that no value in the file is
left without a row, so a value added to the file cannot go unchecked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smokejumper.drivers import key_drivers

REFERENCE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "keydrivers"
REFERENCE_FILE = REFERENCE_DIR / "published_reference_values.json"


@dataclass(frozen=True)
class Study:
    """One published analysis: a data file, an outcome and its drivers."""

    data_file: str
    outcome: str
    drivers: tuple[str, ...]


SWISS = Study("swiss.csv", "Fertility",
              ("Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"))
ATTITUDE = Study("attitude.csv", "rating",
                 ("complaints", "privileges", "learning", "raises", "critical", "advance"))
MTCARS = Study("mtcars.csv", "mpg", ("cyl", "disp", "hp", "gear"))

# JSON path pattern → (study, method, quantity). "*" matches a driver name; in "{metric}" the
# path component is relaimpo's metric name, which is also our method name ("lmg" is an alias).
# Quantities: importance (per driver), percent (100 × share), sign ("+"/"-"), r2, r2_percent,
# n, outcome_variance. A driver slot holding "R2" means the model R².
RULES: list[tuple[tuple[str, ...], Study, str, str]] = [
    (("relaimpo_swiss", "n"), SWISS, "lmg", "n"),
    (("relaimpo_swiss", "total_response_variance"), SWISS, "lmg", "outcome_variance"),
    (("relaimpo_swiss", "r2_percent"), SWISS, "lmg", "r2_percent"),
    (("relaimpo_swiss", "metrics", "*", "{metric}"), SWISS, "{metric}", "importance"),
    (("dominanceanalysis_attitude", "n"), ATTITUDE, "dominance", "n"),
    (("dominanceanalysis_attitude", "full_model_r2"), ATTITUDE, "dominance", "r2"),
    (("dominanceanalysis_attitude", "general_dominance_r2_3dp", "*"), ATTITUDE, "dominance",
     "importance"),
    (("rwa_mtcars_johnson", "n"), MTCARS, "relative_weights", "n"),
    (("rwa_mtcars_johnson", "rsquare"), MTCARS, "relative_weights", "r2"),
    (("rwa_mtcars_johnson", "raw_relweight", "*"), MTCARS, "relative_weights", "importance"),
    (("rwa_mtcars_johnson", "rescaled_relweight_percent", "*"), MTCARS, "relative_weights",
     "percent"),
    (("rwa_mtcars_johnson", "sign", "*"), MTCARS, "relative_weights", "sign"),
    (("local_verification_numpy_not_published", "swiss_lmg", "*"), SWISS, "shapley",
     "importance"),
    (("local_verification_numpy_not_published", "swiss_johnson_raw_weights", "*"), SWISS,
     "relative_weights", "importance"),
    (("local_verification_numpy_not_published", "attitude_lmg", "*"), ATTITUDE, "shapley",
     "importance"),
    (("local_verification_numpy_not_published", "mtcars_johnson_raw", "*"), MTCARS,
     "relative_weights", "importance"),
]
# Descriptive fields, not values to reproduce.
NOT_VALUES = {"source", "data_file", "model", "note", "rela"}


@dataclass(frozen=True)
class Expectation:
    """One published value and how to compute it."""

    path: tuple[str, ...]
    study: Study
    method: str
    quantity: str
    driver: str | None
    printed: Any


def reference_available() -> bool:
    """Whether the shared reference data is present; under CI its absence fails the run."""
    if REFERENCE_FILE.is_file():
        return True
    if os.environ.get("CI"):
        pytest.fail(f"reference data missing under CI: {REFERENCE_FILE}")
    return False


SKIP_REASON = f"shared reference data not found at {REFERENCE_DIR} (needed only for these tests)"


@cache
def reference() -> dict[str, Any]:
    # Decimal keeps the printed digits ("0.120" stays 3 decimals).
    result: dict[str, Any] = json.loads(REFERENCE_FILE.read_text(), parse_float=Decimal)
    return result


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every value in the JSON document with its path, skipping descriptive fields."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in NOT_VALUES:
                yield from leaves(value, (*path, key))
    else:
        yield path, node


def match(pattern: tuple[str, ...], path: tuple[str, ...]) -> dict[str, str] | None:
    """Bindings of ``*`` (driver) and ``{metric}`` when ``path`` fits ``pattern``."""
    if len(pattern) != len(path):
        return None
    bound: dict[str, str] = {}
    for want, got in zip(pattern, path, strict=True):
        if want == "*":
            bound["driver"] = got
        elif want == "{metric}":
            bound["metric"] = got
        elif want != got:
            return None
    return bound


def expectations() -> list[Expectation]:
    """The table: one row per value in the reference file that a rule covers."""
    rows = []
    for path, printed in leaves(reference()):
        for pattern, study, method, quantity in RULES:
            bound = match(pattern, path)
            if bound is None:
                continue
            rows.append(Expectation(
                path=path,
                study=study,
                method=bound.get("metric", method) if method == "{metric}" else method,
                quantity=quantity,
                driver=bound.get("driver"),
                printed=printed,
            ))
            break
    return rows


def expectation_params() -> list[Any]:
    if not REFERENCE_FILE.is_file():
        return [pytest.param(None, id="reference-data-missing")]
    return [pytest.param(e, id="/".join(e.path)) for e in expectations()]


@cache
def analysis(study: Study, method: str) -> pd.DataFrame:
    df = pd.read_csv(REFERENCE_DIR / study.data_file)
    return key_drivers(df, study.outcome, list(study.drivers), method)


def computed(e: Expectation) -> Any:
    table = analysis(e.study, e.method)
    if e.quantity == "n":
        return table.attrs["n"]
    if e.quantity == "outcome_variance":
        return table.attrs["outcome_variance"]
    if e.quantity == "r2_percent":
        return 100 * table.attrs["r2"]
    if e.quantity == "r2" or e.driver == "R2":
        return table.attrs["r2"]
    row = table.set_index("driver").loc[e.driver]
    if e.quantity == "importance":
        return row["importance"]
    if e.quantity == "percent":
        return 100 * row["share"]
    if e.quantity == "sign":
        return "+" if row["sign"] > 0 else "-"
    raise AssertionError(f"unknown quantity {e.quantity}")


def half_unit(printed: Decimal) -> float:
    """Half a unit in the last printed digit: the largest error that still prints the same."""
    exponent = printed.as_tuple().exponent
    assert isinstance(exponent, int)
    return 0.5 * 10.0**exponent


@pytest.mark.parametrize("expectation", expectation_params())
def test_reproduces_published_value(expectation: Expectation | None) -> None:
    if not reference_available() or expectation is None:
        pytest.skip(SKIP_REASON)
    value = computed(expectation)
    printed = expectation.printed
    if isinstance(printed, Decimal):
        # 1e-12 absorbs binary floating point at the exact half-unit boundary.
        assert abs(value - float(printed)) <= half_unit(printed) + 1e-12, (value, printed)
    else:
        assert value == printed


def test_every_reference_value_is_checked() -> None:
    if not reference_available():
        pytest.skip(SKIP_REASON)
    covered = {e.path for e in expectations()}
    values = [path for path, _ in leaves(reference())]
    assert [path for path in values if path not in covered] == []
    assert len(values) >= 60


def test_reference_models_are_the_ones_analysed() -> None:
    if not reference_available():
        pytest.skip(SKIP_REASON)
    ref = reference()
    for key, study in [("relaimpo_swiss", SWISS), ("dominanceanalysis_attitude", ATTITUDE)]:
        model = ref[key]["model"]
        assert model.split("~")[0].strip() == study.outcome
        named = model.split("~")[1].split("(")[0]
        assert [d.strip() for d in named.split("+")] == list(study.drivers)
    assert ref["rwa_mtcars_johnson"]["data_file"] == MTCARS.data_file
    assert "predictors=c('cyl','disp','hp','gear')" in ref["rwa_mtcars_johnson"]["source"]


def test_reference_values_agree_to_the_last_digit_report() -> None:
    """Largest error, in units of the last printed digit, stays below one half."""
    if not reference_available():
        pytest.skip(SKIP_REASON)
    worst = max(
        abs(computed(e) - float(e.printed)) / (2 * half_unit(e.printed))
        for e in expectations()
        if isinstance(e.printed, Decimal)
    )
    assert worst < 0.5
