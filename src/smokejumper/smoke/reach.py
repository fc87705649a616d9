"""Who stands behind an alert: distinct customers in its segment and window, and their
revenue where the workspace knows it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from smokejumper.smoke.alerts import Alert

if TYPE_CHECKING:
    from smokejumper.metrics.cube import TimeLike
    from smokejumper.workspace import Workspace


def with_customers(workspace: Workspace, table_name: str, alerts: list[Alert],
                    until: TimeLike | None = None) -> list[Alert]:
    """Distinct customers behind each alert's window, and their revenue where known.

    One query for all the alerts of a table: the alerts of each set of dimensions are a
    small table joined to the rows on those dimensions (a hash join, one pass), the
    window checked on each match; the distinct (alert, customer) pairs are counted and
    their ``customers.revenue`` summed per alert."""
    import ibis

    from smokejumper.metrics.cube import as_timestamp

    table = workspace.table(table_name)
    if not alerts or "customer_id" not in table.columns:
        return alerts
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
        "customer_id", "ts", *sorted({k for keys in by_dimensions for k in keys}))
    for keys, records in by_dimensions.items():
        frame = pd.DataFrame(records)
        frame["_from"] = pd.to_datetime(frame["_from"])
        frame["_to"] = pd.to_datetime(frame["_to"])
        wanted = ibis.memtable(frame)
        joined = rows.join(wanted, [rows[k] == wanted[f"_{k}"] for k in keys])
        pairs.append(joined.filter(joined.ts >= joined._from, joined.ts < joined._to)
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
