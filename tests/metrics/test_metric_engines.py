"""One result on every engine: the metric engine on DuckDB, Spark and PostgreSQL against a
hand computation in pandas of the same seeded data (``engine_store`` in tests/conftest.py).

Equal to the hand computation on each engine (n exactly, values and interval ends to 1e-9)
means the engines agree with each other. Spark runs few jobs: one per table per test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from smokejumper.config import parse_config
from smokejumper.metrics import MetricsEngine

RESPONSE_METRICS = ["nps", "csat", "csat_mean", "ces", "responses"]
INTERACTION_METRICS = ["fcr", "repeat_rate", "aht", "aov", "upsell_rate", "contacts"]

USER_METRICS = {
    "billing_share": {
        "kind": "share",
        "table": "interactions",
        "scale": 100,
        "condition": "contact_reason in ('billing', 'cancellation')",
    },
    "unresolved_long": {
        "kind": "share",
        "table": "interactions",
        "column": "handle_time_s",
        "condition": "handle_time_s > 400 and not resolved",
    },
    "survey_ces": {"kind": "mean", "column": "ces", "condition": "source = 'survey'"},
    "review_nps": {"kind": "nps", "condition": "source == 'review'"},
    "value_per_second": {
        "kind": "ratio",
        "table": "interactions",
        "numerator": "sum(order_value)",
        "denominator": "sum(handle_time_s)",
    },
    "revenue_per_contact": {
        "kind": "ratio",
        "table": "interactions",
        "numerator": "sum(order_value)",
        "denominator": "count(*)",
    },
}


def engine_for(store, metrics: dict | None = None) -> MetricsEngine:
    return MetricsEngine(store, parse_config({"metrics": metrics or {}}))


def expected_builtins(reference, frames, metrics, by=(), grain=None, **kwargs) -> pd.DataFrame:
    return pd.concat(
        [reference.builtin(frames, m, by, grain, **kwargs) for m in metrics], ignore_index=True
    )


def test_response_metrics_by_touchpoint_and_week(engine_store, canonical_data, reference):
    got = engine_for(engine_store).compute(RESPONSE_METRICS, by=["touchpoint"], grain="week")

    assert list(got.columns) == ["touchpoint", "period", "metric", "value", "n", "low", "high"]
    assert got["period"].dtype == "datetime64[ns]" and got["n"].dtype == "int64"
    assert (got["period"].dt.dayofweek == 0).all()  # ISO weeks start on Monday everywhere
    assert pd.Timestamp("2024-12-23") in set(got["period"])  # Sunday 23:59:59 → its Monday
    assert got["touchpoint"].isna().any()  # responses without a touchpoint are a group
    expected = expected_builtins(
        reference, canonical_data, RESPONSE_METRICS, ["touchpoint"], "week"
    )
    reference.assert_same(got, expected, ["touchpoint", "period"])
    # sorted by dimension (missing last), period, then metrics in the order asked
    order = {m: i for i, m in enumerate(RESPONSE_METRICS)}
    keys = got.assign(_t=got["touchpoint"].fillna("~"), _m=got["metric"].map(order))
    assert keys.equals(keys.sort_values(["_t", "period", "_m"], kind="mergesort"))


def test_interaction_metrics_filtered_by_team_and_month(engine_store, canonical_data, reference):
    filters = {"touchpoint": ["call_centre", "web"], "channel": "phone"}
    got = engine_for(engine_store).compute(
        INTERACTION_METRICS, by=["team_id"], grain="month", filters=filters
    )

    expected = expected_builtins(
        reference, canonical_data, INTERACTION_METRICS, ["team_id"], "month", filters=filters
    )
    reference.assert_same(got, expected, ["team_id", "period"])
    # a follow-up in another touchpoint still makes a repeat: flags come before filters
    repeat = got[got["metric"] == "repeat_rate"]
    assert repeat["value"].gt(0).any()


def test_churn_rate_by_segment_per_month_and_over_a_window(engine_store, canonical_data, reference):
    engine = engine_for(engine_store)
    customers = canonical_data["customers"]

    monthly = engine.compute(["churn_rate"], by=["segment"], grain="month")
    reference.assert_same(
        monthly, reference.churn(customers, ["segment"], "month"), ["segment", "period"]
    )
    window = engine.compute(["churn_rate"], by=["region"], start="2024-10-01", end="2025-01-01")
    reference.assert_same(
        window, reference.churn(customers, ["region"], None, "2024-10-01", "2025-01-01"), ["region"]
    )


def test_every_table_in_one_request_without_a_split(engine_store, canonical_data, reference):
    metrics = ["nps", "aht", "churn_rate", "contacts", "responses"]
    got = engine_for(engine_store).compute(metrics)

    assert list(got["metric"]) == metrics
    expected = pd.concat(
        [
            expected_builtins(reference, canonical_data, ["nps", "aht", "contacts", "responses"]),
            reference.churn(canonical_data["customers"]),
        ],
        ignore_index=True,
    )
    reference.assert_same(got, expected, [])
    assert got.set_index("metric").loc["responses", "n"] == len(canonical_data["responses"])


def test_user_definitions(engine_store, canonical_data, reference):
    engine = engine_for(engine_store, USER_METRICS)
    window = {"start": "2024-12-01", "end": "2025-03-01"}
    got = engine.compute(list(USER_METRICS), by=["region"], **window)

    responses = reference.restrict(canonical_data["responses"], None, **window)
    interactions = reference.restrict(canonical_data["interactions"], None, **window)
    wilson, z = reference.wilson, reference.Z

    def billing_share(group):  # no column: every row counts in n
        k = group["contact_reason"].isin(["billing", "cancellation"]).sum()
        p, low, high = wilson(k, len(group))
        return 100 * p, len(group), 100 * low, 100 * high

    def unresolved_long(group):  # share among rows where handle_time_s is set
        present = group[group["handle_time_s"].notna()]
        k = ((present["handle_time_s"] > 400) & (present["resolved"] == False)).sum()  # noqa: E712
        p, low, high = wilson(k, len(present))
        return p, len(present), low, high

    def value_per_second(group):  # ratio of sums, linearised variance sum((y - R x)^2)/(n-1)
        y = group["order_value"].astype(float).fillna(0).to_numpy()
        x = group["handle_time_s"].astype(float).fillna(0).to_numpy()
        n, ratio = len(group), y.sum() / x.sum()
        half = z * math.sqrt(((y - ratio * x) ** 2).sum() / (n - 1) / (n * x.mean() ** 2))
        return ratio, n, ratio - half, ratio + half

    def revenue_per_contact(group):  # sum / count(*): the mean with missing as 0
        y = group["order_value"].astype(float).fillna(0).to_numpy()
        half = z * np.std(y, ddof=1) / math.sqrt(len(y))
        return y.mean(), len(y), y.mean() - half, y.mean() + half

    surveys = responses[responses["source"] == "survey"]
    reviews = responses[responses["source"] == "review"]
    expected = pd.concat(
        [
            reference.by_group(interactions, ["region"], "billing_share", billing_share),
            reference.by_group(interactions, ["region"], "unresolved_long", unresolved_long),
            reference.by_group(surveys, ["region"], "survey_ces", reference.mean_of("ces")),
            reference.by_group(reviews, ["region"], "review_nps", reference.nps_of()),
            reference.by_group(interactions, ["region"], "value_per_second", value_per_second),
            reference.by_group(
                interactions, ["region"], "revenue_per_contact", revenue_per_contact
            ),
        ],
        ignore_index=True,
    )
    reference.assert_same(got, expected, ["region"])


def test_day_quarter_and_year_grains(engine_store, canonical_data, reference):
    engine = engine_for(engine_store)
    for grain in ("day", "quarter", "year"):
        got = engine.compute(["nps", "csat"], grain=grain)
        reference.assert_same(
            got,
            expected_builtins(reference, canonical_data, ["nps", "csat"], (), grain),
            ["period"],
        )


def test_a_filter_matching_nothing_gives_an_empty_frame(engine_store):
    got = engine_for(engine_store).compute(
        ["nps", "csat"], by=["team_id"], grain="week", filters={"touchpoint": "nowhere"}
    )
    assert got.empty
    assert list(got.columns) == ["team_id", "period", "metric", "value", "n", "low", "high"]


def test_boolean_and_number_filters_from_text(engine_store, canonical_data, reference):
    got = engine_for(engine_store).compute(
        ["aht"], filters={"resolved": "false", "upsell": ["yes"]}
    )
    frame = canonical_data["interactions"]
    rows = frame[(frame["resolved"] == False) & (frame["upsell"] == True)]  # noqa: E712
    mean, low, high = reference.t_mean(rows["handle_time_s"])
    assert got["n"].tolist() == [rows["handle_time_s"].notna().sum()]
    assert got["value"].iloc[0] == pytest.approx(mean, rel=1e-12)
    assert (got["low"].iloc[0], got["high"].iloc[0]) == pytest.approx((low, high), rel=1e-9)


def test_float_valued_integer_columns_insert(engine_store, request):
    """An engine gap of Ibis 12 on PySpark 4.0, kept visible as a strict xfail: integers
    with missing values, as pandas holds them (float64 with NaN), inserted into an int64
    column through a memtable come back as NULLs, silently. conftest.load_frames avoids it
    by handing over Python ints; when Ibis fixes it, this xfail fails."""
    if engine_store.kind == "spark":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="Ibis 12 + PySpark 4.0: float values in an int64 memtable "
            "column are inserted as NULLs"))
    import ibis

    schema = ibis.schema({"k": "int64"})
    backend = engine_store.backend
    backend.create_table("_gap_probe", schema=schema, overwrite=True)
    try:
        data = pd.DataFrame({"k": [1.0, None, 3.0]})
        backend.insert("_gap_probe", ibis.memtable(data, schema=schema))
        assert sorted(backend.table("_gap_probe").k.execute().dropna()) == [1, 3]
    finally:
        backend.drop_table("_gap_probe", force=True)
