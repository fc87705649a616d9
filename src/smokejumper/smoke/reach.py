"""Who stands behind an alert: distinct customers in its segment and window whose rows
show the smoke, and their revenue where the workspace knows it."""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from functools import reduce
from typing import TYPE_CHECKING, Any

import pandas as pd

from smokejumper.metrics.conditions import (
    Condition,
    NotNull,
    bind_condition,
    condition_columns,
    conjunction,
)
from smokejumper.smoke.alerts import Alert

if TYPE_CHECKING:
    from collections.abc import Mapping

    import ibis.expr.types as ir

    from smokejumper.metrics.cube import TimeLike
    from smokejumper.metrics.definitions import MetricDefinition
    from smokejumper.workspace import Workspace

#: the columns of the alerts joined to the rows (names no table of the product uses)
ALERT, START, END, SEGMENT = "__sj_alert", "__sj_from", "__sj_to", "__sj_segment_"


@dataclass(frozen=True)
class SmokeRows:
    """The rows that show an alert's smoke: those meeting ``where`` (every row when
    ``None``), except those where ``unless`` is true (a row where it is unknown stays, as
    the metric counts it among the ones not meeting its condition)."""

    where: Condition | None = None
    unless: Condition | None = None

    def __str__(self) -> str:
        parts = [str(self.where)] if self.where is not None else ["every row"]
        return " ".join([*parts, *([f"unless {self.unless}"] if self.unless else [])])

    @property
    def columns(self) -> set[str]:
        """The columns the two conditions read."""
        return {column for condition in (self.where, self.unless) if condition is not None
                for column in condition_columns(condition)}

    def bind(self, table: ir.Table) -> ir.BooleanValue | None:
        """The Ibis filter over ``table`` (``None``: every row)."""
        terms = []
        if self.where is not None:
            terms.append(bind_condition(self.where, table))
        if self.unless is not None:
            terms.append(~bind_condition(self.unless, table).fill_null(False))
        return reduce(operator.and_, terms) if terms else None


def smoke_rows(definition: MetricDefinition) -> SmokeRows:
    """The rows whose customers an alert on ``definition`` affects.

    A share counts the customers on the side that grew worse: the rows meeting its
    condition when a rise is smoke (complaints, a theme's mentions), the others when a
    fall is (contacts not resolved, a missing value included, for a resolution rate); a
    mean or NPS the customers who gave a value; a repeat rate the contacts followed by
    another within its window; any other kind the rows its condition keeps.

    >>> from smokejumper.metrics.definitions import MetricDefinition
    >>> spike = MetricDefinition("s", "share", "interactions", "s", column="contact_reason",
    ...                          condition="contact_reason == 'complaint'",
    ...                          higher_is_better=False)
    >>> str(smoke_rows(spike))
    "contact_reason is not null and contact_reason = 'complaint'"
    >>> fcr = MetricDefinition("f", "share", "interactions", "f", condition="resolved")
    >>> str(smoke_rows(fcr))
    'every row unless resolved'
    """
    condition = definition.parsed_condition
    column = definition.column
    present = NotNull(column) if column else None
    if definition.kind == "share" and condition is not None:
        if definition.higher_is_better:
            return SmokeRows(present, condition)
        return SmokeRows(conjunction(present, condition))
    if definition.kind in ("mean", "nps") and column:
        return SmokeRows(conjunction(condition, present))
    if definition.kind == "repeat":
        from smokejumper.metrics.cube import repeat_flag

        return SmokeRows(conjunction(condition, repeat_flag(definition)))
    return SmokeRows(condition)


def _smoke_filter(joined: ir.Table, positions: list[int],
                  rows: list[SmokeRows]) -> ir.BooleanValue | None:
    """Per alert at ``positions``, its smoke rows (``rows``, by position) over ``joined``:
    one ``or`` of one term per distinct kind of smoke row."""
    by_rows: dict[SmokeRows, list[int]] = {}
    for position in positions:
        by_rows.setdefault(rows[position], []).append(position)
    if list(by_rows) == [SmokeRows()]:
        return None
    terms = []
    for smoke, members in by_rows.items():
        term = joined[ALERT].isin(members)
        condition = smoke.bind(joined)
        terms.append(term & condition if condition is not None else term)
    return reduce(operator.or_, terms)


def with_customers(workspace: Workspace, table_name: str, alerts: list[Alert],
                   until: TimeLike | None = None,
                   definitions: Mapping[str, MetricDefinition] | None = None) -> list[Alert]:
    """Distinct customers behind each alert's window, and their revenue where known.

    With ``definitions`` (metric name to definition), only the customers of the rows that
    show the alert's smoke count (:func:`smoke_rows`: a spike in complaints counts the
    customers who complained, not everyone who called); an alert on a metric not among
    them counts every customer in its segment and window.

    One query for all the alerts of a table: the alerts of each set of dimensions are a
    small table joined to the rows on those dimensions (a hash join, one pass), the
    window and the smoke rows checked on each match; the distinct (alert, customer) pairs
    are counted and their ``customers.revenue`` summed per alert."""
    import ibis

    from smokejumper.metrics.cube import as_timestamp, flag_repeats

    table = workspace.table(table_name)
    if not alerts or "customer_id" not in table.columns:
        return alerts
    metrics = [(definitions or {}).get(alert.metric) for alert in alerts]
    # repeat flags read the customer's next contact over the whole table
    table = flag_repeats(table, [d for d in metrics if d is not None])
    smoke = [smoke_rows(d) if d is not None else SmokeRows() for d in metrics]
    needed = {column for rows in smoke for column in rows.columns} - {"customer_id", "ts"}
    far = as_timestamp(until) if until is not None else pd.Timestamp("2262-01-01")
    by_dimensions: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for i, alert in enumerate(alerts):
        keys = tuple(sorted(alert.segment))
        by_dimensions.setdefault(keys, []).append({
            ALERT: i, START: as_timestamp(alert.start),
            END: as_timestamp(alert.end) if alert.end is not None else far,
            **{f"{SEGMENT}{k}": alert.segment[k] for k in keys}})
    pairs = []
    rows = table.filter(table.customer_id.notnull()).select(
        "customer_id", "ts", *sorted({k for keys in by_dimensions for k in keys} | needed))
    for keys, records in by_dimensions.items():
        frame = pd.DataFrame(records)
        frame[START] = pd.to_datetime(frame[START])
        frame[END] = pd.to_datetime(frame[END])
        wanted = ibis.memtable(frame)
        joined = rows.join(wanted, [rows[k] == wanted[f"{SEGMENT}{k}"] for k in keys])
        shows = _smoke_filter(joined, [record[ALERT] for record in records], smoke)
        pairs.append(joined.filter(joined.ts >= joined[START], joined.ts < joined[END],
                                   *([shows] if shows is not None else []))
                     .select(ALERT, "customer_id"))
    people = ibis.union(*pairs, distinct=True) if len(pairs) > 1 else pairs[0].distinct()
    try:
        accounts = workspace.table("customers")
    except Exception:  # noqa: BLE001 - no customers table: revenue unknown
        accounts = None
    known = accounts is not None and "revenue" in accounts.columns
    if known:
        people = people.left_join(accounts.select("customer_id", "revenue"), "customer_id")
        totals = people.group_by(ALERT).aggregate(customers=people.count(),
                                                  revenue=people.revenue.sum())
    else:
        totals = people.group_by(ALERT).aggregate(customers=people.count())
    found = totals.execute().set_index(ALERT)
    out = []
    for i, alert in enumerate(alerts):
        customers = int(found["customers"].get(i, 0))
        revenue = found["revenue"].get(i) if known else None
        out.append(replace(alert, customers_affected=customers,
                           revenue_at_risk=float(revenue) if revenue is not None
                           and pd.notna(revenue) and customers else None))
    return out
