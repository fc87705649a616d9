"""Churn rate: customers who churned ÷ customers at risk, from the customers table.

Definition (a customer with no ``joined_at`` counts as having joined before any period):

* **no grain**: at risk = customers active at ``start`` (joined before it, not churned
  before it; every customer when there is no start) who joined before ``end``; churned =
  those of them whose ``churned_at`` is before ``end`` (any time when there is no end).
* **with a grain**: for each period, at risk = customers active at the period start
  (joined before it, not churned before it); churned = those of them who churned during
  the period. A customer who joins and churns in the same period is in neither count.
  The periods run from the first to the last period in which a customer churned, or
  from ``start`` to ``end`` (whole periods overlapping ``[start, end)``) when given.

Dimensions and filters are columns of the customers table (e.g. ``segment``, ``region``).
The aggregation is one Ibis query (customers counted by dimensions × join period × churn
period); the at-risk counts per period are cumulative sums over that small result.

>>> import ibis
>>> from smokejumper.metrics.definitions import builtin_definitions
>>> customers = ibis.table({"customer_id": "string", "segment": "string",
...                         "joined_at": "timestamp", "churned_at": "timestamp"}, name="c")
>>> query = build_churn(customers, builtin_definitions()["churn_rate"], by=["segment"],
...                     grain="month")
>>> query.expr.columns
('segment', '_joined', '_churned', '_customers')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smokejumper.errors import MetricError
from smokejumper.metrics import intervals
from smokejumper.metrics.cube import (
    GRAINS,
    PERIOD,
    Filters,
    TimeLike,
    as_numbers,
    as_timestamp,
    check_columns,
    filter_predicates,
    scaled,
    tidy_results,
)
from smokejumper.metrics.definitions import MetricDefinition

if TYPE_CHECKING:
    import ibis.expr.types as ir

JOINED = "joined_at"
CHURNED = "churned_at"
#: pandas period starts matching the engines' truncation (weeks start on Monday)
FREQUENCIES = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS-JAN", "year": "YS"}


@dataclass(frozen=True)
class ChurnQuery:
    """The churn aggregation and how to turn its rows into rates per group (and period)."""

    table: str
    expr: ir.Table
    metric: MetricDefinition
    by: tuple[str, ...]
    grain: str | None
    start: datetime | None
    end: datetime | None

    @property
    def metrics(self) -> tuple[MetricDefinition, ...]:
        return (self.metric,)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rates, n (customers at risk) and Wilson intervals in long format."""
        return tidy_results([self.values(frame)], self.by, self.grain, [self.metric.name])

    def values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Like :meth:`finish`, unsorted and with groups of n = 0 still in."""
        if self.grain is None:
            keys = frame[list(self.by)].copy()
            at_risk = as_numbers(frame["_at_risk"])
            churned = as_numbers(frame["_churned"])
        else:
            keys, at_risk, churned = self._per_period(frame)
        value, low, high = scaled(*intervals.wilson_interval(churned, at_risk),
                                  self.metric.scale)
        keys["metric"] = self.metric.name
        keys["value"], keys["n"], keys["low"], keys["high"] = value, at_risk, low, high
        return keys

    def _per_period(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        assert self.grain is not None
        by = list(self.by)
        joined = pd.to_datetime(frame["_joined"]).astype("datetime64[ns]").to_numpy()
        churn = pd.to_datetime(frame["_churned"]).astype("datetime64[ns]").to_numpy()
        periods = self._periods(churn)
        if len(frame) == 0 or len(periods) == 0:
            return pd.DataFrame(columns=[*by, PERIOD]), np.zeros(0), np.zeros(0)
        count = as_numbers(frame["_customers"])
        group = (frame.groupby(by, dropna=False, sort=False).ngroup().to_numpy()
                 if by else np.zeros(len(frame), dtype=np.int64))
        size = len(periods)
        # at risk in periods [first, last): joined before the period, not churned before it
        first = np.where(np.isnat(joined), 0, np.searchsorted(periods, joined, side="right"))
        last = np.where(np.isnat(churn), size, np.searchsorted(periods, churn, side="right"))
        live = first < last
        steps = np.zeros((group.max() + 1, size + 1))
        np.add.at(steps, (group[live], first[live]), count[live])
        np.add.at(steps, (group[live], last[live]), -count[live])
        at_risk = np.cumsum(steps[:, :size], axis=1)
        churned = np.zeros_like(at_risk)
        index = np.searchsorted(periods, churn, side="left")
        inside = ~np.isnat(churn) & (index < size)
        inside[inside] &= periods[index[inside]] == churn[inside]
        counted = inside & (first <= index)
        np.add.at(churned, (group[counted], index[counted]), count[counted])

        keys = (frame[by].assign(_group=group).drop_duplicates("_group")
                .set_index("_group").sort_index())
        cells = keys.loc[np.repeat(np.arange(len(keys)), size)].reset_index(drop=True)
        cells[PERIOD] = np.tile(periods, len(keys))
        return cells, at_risk.ravel(), churned.ravel()

    def _periods(self, churn: np.ndarray) -> np.ndarray:
        assert self.grain is not None
        observed = churn[~np.isnat(churn)]
        first = truncate(self.start, self.grain) if self.start else (
            pd.Timestamp(observed.min()) if len(observed) else None)
        last = pd.Timestamp(observed.max()) if len(observed) else first
        if self.end is not None:
            last = truncate(self.end, self.grain)
        if first is None or last is None or last < first:
            return np.array([], dtype="datetime64[ns]")
        periods = pd.date_range(first, last, freq=FREQUENCIES[self.grain])
        if self.end is not None:
            periods = periods[periods < pd.Timestamp(self.end)]
        return periods.to_numpy().astype("datetime64[ns]")


def truncate(stamp: datetime | pd.Timestamp, grain: str) -> pd.Timestamp:
    """The start of the period ``stamp`` falls in, as the engines compute it.

    >>> truncate(pd.Timestamp("2025-01-01 10:00"), "week")   # a Wednesday
    Timestamp('2024-12-30 00:00:00')
    >>> truncate(pd.Timestamp("2025-05-20"), "quarter")
    Timestamp('2025-04-01 00:00:00')
    """
    day = pd.Timestamp(stamp).normalize()
    if grain == "day":
        return day
    if grain == "week":
        return day - pd.Timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise MetricError(f"unknown grain '{grain}'; choose one of {', '.join(GRAINS)}")


def build_churn(table: ir.Table, definition: MetricDefinition, by: Sequence[str] = (),
                grain: str | None = None, filters: Filters | None = None,
                start: TimeLike | None = None, end: TimeLike | None = None) -> ChurnQuery:
    """The one aggregation behind the churn rate (see the module docstring)."""
    name = definition.table
    check_columns(table, [JOINED, CHURNED], definition.name, name, "column")
    check_columns(table, by, definition.name, name, "dimension")
    if grain is not None and grain not in GRAINS:
        raise MetricError(f"unknown grain '{grain}'; choose one of {', '.join(GRAINS)}")
    begin = as_timestamp(start) if start is not None else None
    finish = as_timestamp(end) if end is not None else None
    predicates = filter_predicates(table, filters, definition.name, name)
    base = table.filter(*predicates) if predicates else table
    keys = [base[d] for d in by]
    joined, churned = base[JOINED], base[CHURNED]
    if grain is not None:
        unit = GRAINS[grain]
        keys += [joined.truncate(unit).name("_joined"), churned.truncate(unit).name("_churned")]
        expr = base.group_by(keys).aggregate(_customers=base.count())
    else:
        at_risk = None
        if begin is not None:
            at_risk = ((joined.isnull() | (joined < begin))
                       & (churned.isnull() | (churned >= begin)))
        elif finish is not None:
            at_risk = joined.isnull() | (joined < finish)
        gone = churned.notnull() if finish is None else churned < finish
        aggregates = {"_at_risk": base.count(where=at_risk),
                      "_churned": base.count(where=gone if at_risk is None else at_risk & gone)}
        expr = base.group_by(keys).aggregate(**aggregates) if keys \
            else base.aggregate(**aggregates)
    return ChurnQuery(name, expr, definition, tuple(by), grain, begin, finish)

