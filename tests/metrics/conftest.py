"""Hand computations of the metrics in plain pandas, row by row where that is clearer,
offered to the tests as the ``reference`` fixture.

Written from the textbook formulas, independently of smokejumper.metrics (no shared code),
so that a test comparing the two checks the engine, not a copy of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

Z = stats.norm.ppf(0.975)
PERIOD_CODES = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}


def wilson(k: float, n: float) -> tuple[float, float, float]:
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return p, max(centre - half, 0.0), min(centre + half, 1.0)


def t_mean(values: pd.Series) -> tuple[float, float, float]:
    values = values.dropna().astype(float)
    mean = values.mean()
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def nps(scores: pd.Series) -> tuple[float, float, float]:
    scores = scores.dropna()
    n = len(scores)
    promoters = (scores >= 9).mean()
    detractors = (scores <= 6).mean()
    value = promoters - detractors
    half = Z * math.sqrt((promoters + detractors - value**2) / n)
    return 100 * value, 100 * max(value - half, -1), 100 * min(value + half, 1)


def with_period(frame: pd.DataFrame, grain: str | None) -> pd.DataFrame:
    if grain is None:
        return frame
    period = pd.to_datetime(frame["ts"]).dt.to_period(PERIOD_CODES[grain]).dt.start_time
    return frame.assign(period=period)


def restrict(frame: pd.DataFrame, filters: dict[str, Any] | None, start: Any = None,
             end: Any = None) -> pd.DataFrame:
    for column, wanted in (filters or {}).items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        frame = frame[frame[column].isin(wanted)]
    if start is not None:
        frame = frame[pd.to_datetime(frame["ts"]) >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[pd.to_datetime(frame["ts"]) < pd.Timestamp(end)]
    return frame


def by_group(frame: pd.DataFrame, keys: Sequence[str], metric: str,
             compute: Callable[[pd.DataFrame], tuple[float, int, float, float] | None]
             ) -> pd.DataFrame:
    """Apply ``compute`` (→ value, n, low, high or None for n = 0) to each group."""
    rows = []
    groups = frame.groupby(list(keys), dropna=False) if keys else [((), frame)]
    for key, group in groups:
        result = compute(group)
        if result is None:
            continue
        key = key if isinstance(key, tuple) else (key,)
        value, n, low, high = result
        rows.append({**dict(zip(keys, key, strict=True)), "metric": metric, "value": value,
                     "n": n, "low": low, "high": high})
    return pd.DataFrame(rows)


def share(column: str, event: Callable[[pd.Series], pd.Series], scale: float = 100):
    def compute(group: pd.DataFrame) -> tuple[float, int, float, float] | None:
        present = group[column].dropna()
        if len(present) == 0:
            return None
        p, low, high = wilson(float(event(present).sum()), len(present))
        return scale * p, len(present), scale * low, scale * high
    return compute


def mean_of(column: str, where: Callable[[pd.DataFrame], pd.Series] | None = None):
    def compute(group: pd.DataFrame) -> tuple[float, int, float, float] | None:
        rows = group[where(group)] if where else group
        values = rows[column].dropna()
        if len(values) == 0:
            return None
        mean, low, high = t_mean(values)
        return mean, len(values), low, high
    return compute


def nps_of(column: str = "nps"):
    def compute(group: pd.DataFrame) -> tuple[float, int, float, float] | None:
        scores = group[column].dropna()
        if len(scores) == 0:
            return None
        value, low, high = nps(scores)
        return value, len(scores), low, high
    return compute


def count_of(group: pd.DataFrame) -> tuple[float, int, float, float]:
    k = len(group)
    low = stats.chi2.ppf(0.025, 2 * k) / 2 if k else 0.0
    return float(k), k, low, stats.chi2.ppf(0.975, 2 * k + 2) / 2


def repeat_flags(interactions: pd.DataFrame, days: int = 7) -> pd.Series:
    """For each interaction: does the same customer come back within ``days`` days?"""
    ordered = interactions.sort_values(["customer_id", "ts", "interaction_id"])
    following = ordered.groupby("customer_id")["ts"].shift(-1)
    flag = (following - ordered["ts"]) <= pd.Timedelta(days=days)
    return flag.reindex(interactions.index)


def builtin(frames: dict[str, pd.DataFrame], metric: str, by: Sequence[str] = (),
            grain: str | None = None, filters: dict[str, Any] | None = None,
            start: Any = None, end: Any = None) -> pd.DataFrame:
    """A built-in metric computed by hand (all but churn_rate)."""
    responses, interactions = frames["responses"], frames["interactions"]
    interactions = interactions.assign(_repeat=repeat_flags(interactions))
    table, compute = {
        "nps": (responses, nps_of()),
        "csat": (responses, share("csat", lambda s: s >= 4)),
        "csat_mean": (responses, mean_of("csat")),
        "ces": (responses, mean_of("ces")),
        "responses": (responses, count_of),
        "fcr": (interactions, share("resolved", lambda s: s.astype(bool))),
        "repeat_rate": (interactions, share("_repeat", lambda s: s.astype(bool))),
        "aht": (interactions, mean_of("handle_time_s")),
        "aov": (interactions, mean_of("order_value", lambda g: g["order_value"] > 0)),
        "upsell_rate": (interactions, share("upsell", lambda s: s.astype(bool))),
        "contacts": (interactions, count_of),
    }[metric]
    table = with_period(restrict(table, filters, start, end), grain)
    keys = [*by, *(["period"] if grain else [])]
    return by_group(table, keys, metric, compute)


def churn(customers: pd.DataFrame, by: Sequence[str] = (), grain: str | None = None,
          start: Any = None, end: Any = None) -> pd.DataFrame:
    """Churn rate by the definition in smokejumper.metrics.churn, one customer at a time."""
    joined = pd.to_datetime(customers["joined_at"])
    churned = pd.to_datetime(customers["churned_at"])
    never = pd.Timestamp.min
    joined = joined.fillna(never)
    rows = []
    if grain is None:
        begin = pd.Timestamp(start) if start is not None else None
        finish = pd.Timestamp(end) if end is not None else None
        at_risk = pd.Series(True, index=customers.index)
        if begin is not None:
            at_risk &= (joined < begin) & (churned.isna() | (churned >= begin))
        elif finish is not None:
            at_risk &= joined < finish
        gone = churned.notna() if finish is None else churned < finish
        frame = customers.assign(_risk=at_risk, _gone=at_risk & gone)
        groups = frame.groupby(list(by), dropna=False) if by else [((), frame)]
        for key, group in groups:
            n, k = int(group["_risk"].sum()), int(group["_gone"].sum())
            if n == 0:
                continue
            key = key if isinstance(key, tuple) else (key,)
            p, low, high = wilson(k, n)
            rows.append({**dict(zip(by, key, strict=True)), "metric": "churn_rate",
                         "value": 100 * p, "n": n, "low": 100 * low, "high": 100 * high})
        return pd.DataFrame(rows)
    code = PERIOD_CODES[grain]
    churn_periods = churned.dropna().dt.to_period(code)
    first = pd.Timestamp(start).to_period(code) if start is not None else churn_periods.min()
    last = (pd.Timestamp(end) - pd.Timedelta(microseconds=1)).to_period(code) \
        if end is not None else churn_periods.max()
    frame = customers.assign(_joined=joined, _churned=churned)
    groups = frame.groupby(list(by), dropna=False) if by else [((), frame)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for period in pd.period_range(first, last, freq=code):
            begins, ends = period.start_time, (period + 1).start_time
            active = (group["_joined"] < begins) & (group["_churned"].isna()
                                                   | (group["_churned"] >= begins))
            n = int(active.sum())
            if n == 0:
                continue
            k = int((active & (group["_churned"] < ends)).sum())
            p, low, high = wilson(k, n)
            rows.append({**dict(zip(by, key, strict=True)), "period": begins,
                         "metric": "churn_rate", "value": 100 * p, "n": n,
                         "low": 100 * low, "high": 100 * high})
    return pd.DataFrame(rows)


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, keys: Sequence[str],
                rel: float = 1e-9) -> None:
    """Same groups, same n exactly, values and interval ends equal to ``rel``."""
    keys = [*keys, "metric"]
    assert len(got) == len(expected), (len(got), len(expected))
    left = _missing_as_text(got, keys).set_index(keys).sort_index()
    right = _missing_as_text(expected, keys).set_index(keys).sort_index()
    assert list(left.index) == list(right.index)
    assert (left["n"].to_numpy() == right["n"].to_numpy()).all()
    for column in ("value", "low", "high"):
        np.testing.assert_allclose(left[column].to_numpy(float), right[column].to_numpy(float),
                                   rtol=rel, atol=1e-9, equal_nan=True, err_msg=column)


def _missing_as_text(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """None and NaN group keys compare unequal to themselves; make them one label."""
    frame = frame.copy()
    for key in keys:
        if key != "period":
            frame[key] = frame[key].astype(object).where(frame[key].notna(), "<missing>")
    return frame


@pytest.fixture(scope="session")
def reference() -> SimpleNamespace:
    """The hand computations above (``reference.builtin(...)``, ``reference.wilson(...)``)."""
    return SimpleNamespace(**{name: value for name, value in globals().items()
                              if callable(value) and not name.startswith("_")}, Z=Z)
