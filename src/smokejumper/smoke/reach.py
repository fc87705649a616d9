"""Who stands behind an alert: distinct customers in its segment and window whose rows
show the smoke, and their revenue where the workspace knows it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from smokejumper.metrics.conditions import (
    Condition,
    Not,
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


def smoke_rows(definition: MetricDefinition) -> Condition | None:
    """The rows whose customers an alert on ``definition`` affects (``None``: every row).

    A share counts the customers on the side that grew worse: the rows meeting its
    condition when a rise is smoke (complaints, a theme's mentions), the others when a
    fall is (unresolved contacts for a resolution rate); a mean or NPS the customers who
    gave a value; any other kind the rows its condition keeps.

    >>> from smokejumper.metrics.definitions import MetricDefinition
    >>> spike = MetricDefinition("s", "share", "interactions", "s", column="contact_reason",
    ...                          condition="contact_reason == 'complaint'",
    ...                          higher_is_better=False)
    >>> str(smoke_rows(spike))
    "contact_reason is not null and contact_reason = 'complaint'"
    >>> fcr = MetricDefinition("f", "share", "interactions", "f", condition="resolved")
    >>> str(smoke_rows(fcr))
    'not resolved'
    """
    condition = definition.parsed_condition
    column = definition.column
    if definition.kind == "share" and condition is not None:
        worse = condition if not definition.higher_is_better else Not(condition)
        return conjunction(NotNull(column) if column else None, worse)
    if definition.kind in ("mean", "nps") and column:
        return conjunction(condition, NotNull(column))
    return condition


def _smoke_filter(joined: ir.Table, positions: list[int],
                  conditions: list[Condition | None]) -> ir.BooleanValue | None:
    """Per alert at ``positions``, its :func:`smoke_rows` condition (``conditions``, by
    position) over ``joined``: one ``or`` of one term per distinct condition."""
    by_condition: dict[Condition | None, list[int]] = {}
    for position in positions:
        by_condition.setdefault(conditions[position], []).append(position)
    if list(by_condition) == [None]:
        return None
    terms = [joined._alert.isin(members) if condition is None
             else joined._alert.isin(members) & bind_condition(condition, joined)
             for condition, members in by_condition.items()]
    combined = terms[0]
    for term in terms[1:]:
        combined = combined | term
    return combined


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

    from smokejumper.metrics.cube import as_timestamp

    table = workspace.table(table_name)
    if not alerts or "customer_id" not in table.columns:
        return alerts
    known_metrics = definitions or {}
    conditions = [smoke_rows(known_metrics[alert.metric]) if alert.metric in known_metrics
                  else None for alert in alerts]
    needed = {column for condition in conditions if condition is not None
              for column in condition_columns(condition)}
    far = as_timestamp(until) if until is not None else pd.Timestamp("2262-01-01")
    by_dimensions: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for i, alert in enumerate(alerts):
        keys = tuple(sorted(alert.segment))
        by_dimensions.setdefault(keys, []).append({
            "_alert": i, "_from": as_timestamp(alert.start),
            "_to": as_timestamp(alert.end) if alert.end is not None else far,
            **{f"_{k}": alert.segment[k] for k in keys}})
    pairs = []
    rows = table.filter(table.customer_id.notnull()).select(
        "customer_id", "ts", *sorted({k for keys in by_dimensions for k in keys} | needed))
    for keys, records in by_dimensions.items():
        frame = pd.DataFrame(records)
        frame["_from"] = pd.to_datetime(frame["_from"])
        frame["_to"] = pd.to_datetime(frame["_to"])
        wanted = ibis.memtable(frame)
        joined = rows.join(wanted, [rows[k] == wanted[f"_{k}"] for k in keys])
        smoke = _smoke_filter(joined, [record["_alert"] for record in records], conditions)
        pairs.append(joined.filter(joined.ts >= joined._from, joined.ts < joined._to,
                                   *([smoke] if smoke is not None else []))
                     .select("_alert", "customer_id"))
    people = ibis.union(*pairs, distinct=True) if len(pairs) > 1 else pairs[0].distinct()
    try:
        accounts = workspace.table("customers")
    except Exception:  # noqa: BLE001 - no customers table: revenue unknown
        accounts = None
    known = accounts is not None and "revenue" in accounts.columns
    if known:
        people = people.left_join(accounts.select("customer_id", "revenue"), "customer_id")
        totals = people.group_by("_alert").aggregate(customers=people.count(),
                                                     revenue=people.revenue.sum())
    else:
        totals = people.group_by("_alert").aggregate(customers=people.count())
    found = totals.execute().set_index("_alert")
    out = []
    for i, alert in enumerate(alerts):
        customers = int(found["customers"].get(i, 0))
        revenue = found["revenue"].get(i) if known else None
        out.append(replace(alert, customers_affected=customers,
                           revenue_at_risk=float(revenue) if revenue is not None
                           and pd.notna(revenue) and customers else None))
    return out
