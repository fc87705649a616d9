"""Customers affected by an alert: the distinct customers in its segment and window whose
rows show its smoke, and their revenue (``smokejumper.smoke.reach``), on DuckDB."""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest

from smokejumper.metrics.definitions import MetricDefinition
from smokejumper.smoke.alerts import Alert, Estimate
from smokejumper.smoke.reach import with_customers

ROWS = pd.DataFrame({
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c5", "c6", "c7"],
    "ts": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06",
                          "2025-03-07", "2025-03-08", "2025-02-01", "2025-03-05"]),
    "region": ["North"] * 6 + ["North", "South"],
    "resolved": [True, False, None, True, False, False, False, False],
    "contact_reason": ["complaint", "billing", None, "complaint", "complaint", "billing",
                       "complaint", "complaint"],
    "csat": [5.0, None, 2.0, None, 1.0, None, 1.0, 1.0],
})
CUSTOMERS = pd.DataFrame({"customer_id": [f"c{i}" for i in range(1, 8)],
                          "revenue": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0]})
DEFINITIONS = {d.name: d for d in (
    MetricDefinition("fcr", "share", "interactions", "FCR %", condition="resolved"),
    MetricDefinition("share:contact_reason=complaint", "share", "interactions", "complaints",
                     column="contact_reason", condition="contact_reason == 'complaint'",
                     higher_is_better=False),
    MetricDefinition("csat", "mean", "interactions", "CSAT", column="csat"),
    MetricDefinition("march_contacts", "count", "interactions", "contacts",
                     condition="ts >= '2025-03-05'"),
    MetricDefinition("repeat_rate", "repeat", "interactions", "repeat %", window_days=7,
                     higher_is_better=False),
)}


class _Workspace:
    """The two tables ``with_customers`` reads, in an in-memory DuckDB."""

    def __init__(self) -> None:
        self.con = ibis.duckdb.connect()
        self.con.create_table("interactions", ROWS)
        self.con.create_table("customers", CUSTOMERS)

    def table(self, name: str):
        return self.con.table(name)


def _alert(metric: str) -> Alert:
    return Alert(metric=metric, segment={"region": "North"}, start=date(2025, 3, 1),
                 end=None, before=Estimate(1.0, 0.0, 2.0, 10), after=Estimate(0.5, 0.0, 1.0, 6),
                 n=6, customers_affected=0, revenue_at_risk=None, severity="high", z=3.0,
                 p_value=1e-3, q_value=1e-2)


@pytest.mark.parametrize(("metric", "customers"), [
    # a falling resolution rate: the contacts not resolved, an unknown outcome included
    ("fcr", {"c2", "c3", "c5"}),
    # a spike in complaints: those who complained (c6 before the window, c7 elsewhere)
    ("share:contact_reason=complaint", {"c1", "c4", "c5"}),
    ("csat", {"c1", "c3", "c5"}),  # a mean: those who gave a score
    ("march_contacts", {"c3", "c4", "c5"}),  # a condition on ts itself
    ("repeat_rate", {"c5"}),  # contacted again within 7 days
    ("not_a_known_metric", {"c1", "c2", "c3", "c4", "c5"}),  # everyone in the window
])
def test_customers_affected_are_those_whose_rows_show_the_smoke(
        metric: str, customers: set[str]) -> None:
    [alert] = with_customers(_Workspace(), "interactions", [_alert(metric)],  # type: ignore[arg-type]
                             until=date(2025, 4, 1), definitions=DEFINITIONS)
    assert alert.customers_affected == len(customers)
    revenue = CUSTOMERS.set_index("customer_id").revenue
    assert alert.revenue_at_risk == pytest.approx(sum(revenue[c] for c in customers))


def test_alerts_of_several_metrics_are_counted_in_one_pass() -> None:
    alerts = [_alert(name) for name in DEFINITIONS]
    counted = with_customers(_Workspace(), "interactions", alerts,  # type: ignore[arg-type]
                             until=date(2025, 4, 1), definitions=DEFINITIONS)
    assert [a.customers_affected for a in counted] == [3, 3, 3, 3, 1]
    assert [a.metric for a in counted] == list(DEFINITIONS)


class _Store:
    """An analytics store seen as the workspace ``with_customers`` reads."""

    def __init__(self, store) -> None:
        self.store = store

    def table(self, name: str):
        return self.store.table(name)


def test_customers_affected_on_every_engine(engine_store, canonical_data) -> None:
    """The same query on DuckDB, Spark and PostgreSQL: unknown outcomes count as not
    resolved, the window and segment hold, revenue comes from ``customers``."""
    rows = canonical_data["interactions"]
    alerts = [
        Alert(metric=metric, segment={"region": region}, start=date(2025, 1, 1), end=None,
              before=Estimate(1.0, 0.0, 2.0, 10), after=Estimate(0.5, 0.0, 1.0, 6), n=6,
              customers_affected=0, revenue_at_risk=None, severity="high", z=3.0,
              p_value=1e-3, q_value=1e-2)
        for metric, region in (("fcr", "north"), ("share:contact_reason=billing", "south"))]
    definitions = {
        "fcr": MetricDefinition("fcr", "share", "interactions", "FCR", condition="resolved"),
        "share:contact_reason=billing": MetricDefinition(
            "share:contact_reason=billing", "share", "interactions", "billing",
            column="contact_reason", condition="contact_reason == 'billing'",
            higher_is_better=False)}
    counted = with_customers(_Store(engine_store), "interactions", alerts,  # type: ignore[arg-type]
                             until=date(2025, 4, 1), definitions=definitions)
    inside = rows[(rows.ts >= "2025-01-01") & (rows.ts < "2025-04-01")
                  & rows.customer_id.notna()]
    unresolved = inside[(inside.region == "north") & inside.resolved.ne(True)]  # NULL too
    billing = inside[(inside.region == "south") & (inside.contact_reason == "billing")]
    revenue = canonical_data["customers"].set_index("customer_id").revenue
    for alert, expected in zip(counted, (unresolved, billing), strict=True):
        people = set(expected.customer_id)
        assert alert.customers_affected == len(people) > 0
        assert alert.revenue_at_risk == pytest.approx(float(revenue.reindex(list(people)).sum()))
    assert inside[inside.region == "north"].resolved.isna().any()  # the NULL case is there
