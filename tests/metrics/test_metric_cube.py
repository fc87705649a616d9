"""The cube: one lean aggregation per table, built without I/O, and the engine's errors."""

from __future__ import annotations

import math
import re

import ibis
import pandas as pd
import pytest

from smokejumper.config import parse_config
from smokejumper.errors import MetricError
from smokejumper.metrics import MetricsEngine, build_cube, builtin_definitions, plan_queries
from smokejumper.schema import table_spec
from smokejumper.store.analytics import ibis_schema

DEFS = builtin_definitions()
DIMENSIONS = ("touchpoint", "channel", "region", "segment", "team_id")


def unbound(name: str) -> ibis.Table:
    """A canonical table with no backend: building on it proves the cube does no I/O."""
    return ibis.table(ibis_schema(table_spec(name, DIMENSIONS)), name=name)


TABLES = {name: unbound(name) for name in ("responses", "interactions", "customers")}


def test_bench_cube_is_one_lean_group_by_per_table():
    queries = plan_queries(TABLES, DEFS, ["nps", "csat", "aht", "responses"],
                           by=["touchpoint", "team_id"], grain="week")
    assert [q.table for q in queries] == ["responses", "interactions"]
    responses_sql = ibis.to_sql(queries[0].expr, dialect="duckdb")
    for sql in (responses_sql, ibis.to_sql(queries[1].expr, dialect="duckdb")):
        assert sql.count("SELECT") == 1 and sql.count("GROUP BY") == 1
        assert not re.search(r"\b(JOIN|OVER|CAST|UNION)\b", sql)
        assert "DATE_TRUNC('WEEK'" in sql
    # nps: n, promoters, detractors; csat: n, top-2; responses: rows. Nothing repeated.
    assert responses_sql.count("COUNT(") == 6


def test_statistics_are_shared_between_metrics():
    query = build_cube(TABLES["responses"], [DEFS["csat"], DEFS["csat_mean"]])
    sql = ibis.to_sql(query.expr, dialect="duckdb")
    assert sql.count('COUNT("t0"."csat")') == 1
    assert query.roles["csat"]["n"] == query.roles["csat_mean"]["n"]


def test_repeat_rate_adds_one_window_before_filters():
    query = build_cube(TABLES["interactions"], [DEFS["repeat_rate"], DEFS["aht"]],
                       by=["team_id"], filters={"touchpoint": "web"})
    sql = ibis.to_sql(query.expr, dialect="duckdb")
    assert sql.count("LEAD(") == 1 and sql.count("GROUP BY") == 1
    # the window is computed inside, the filter applied outside: it sees every touchpoint
    assert sql.index("LEAD(") < sql.index(""""touchpoint" = 'web'""")


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "pyspark"])
def test_week_periods_compile_to_date_trunc_week_on_every_engine(dialect):
    query = build_cube(TABLES["responses"], [DEFS["nps"]], grain="week")
    assert re.search(r"DATE_TRUNC\('week'", ibis.to_sql(query.expr, dialect=dialect),
                     re.IGNORECASE)


def test_finish_turns_statistics_into_values():
    query = build_cube(TABLES["responses"], [DEFS["nps"], DEFS["csat_mean"]],
                       by=["touchpoint"])
    roles = query.roles
    frame = pd.DataFrame({"touchpoint": ["web", "app", "store"],
                          roles["nps"]["n"]: [10, 4, 0],
                          roles["nps"]["promoters"]: [5, 1, 0],
                          roles["nps"]["detractors"]: [2, 3, 0],
                          roles["csat_mean"]["n"]: [2, 1, 0],
                          roles["csat_mean"]["sum"]: [9, 4, None],
                          roles["csat_mean"]["squares"]: [41, 16, None]})
    result = query.finish(frame)
    assert list(result["touchpoint"]) == ["app", "app", "web", "web"]  # n = 0 left out
    assert list(result["metric"]) == ["nps", "csat_mean", "nps", "csat_mean"]
    assert result["value"].tolist() == [-50.0, 4.0, 30.0, 4.5]
    assert result["n"].tolist() == [4, 1, 10, 2]
    assert math.isnan(result["low"].iloc[1])  # a mean of one answer has no interval


@pytest.fixture(scope="module")
def engine(duckdb_store) -> MetricsEngine:
    config = parse_config({"metrics": {
        "revenue_mean": {"kind": "mean", "table": "customers", "column": "revenue"},
        "resolved_mean": {"kind": "mean", "table": "interactions", "column": "resolved"},
        "bad_column": {"kind": "share", "condition": "colour = 'red'"},
    }})
    return MetricsEngine(duckdb_store, config)


@pytest.mark.parametrize(("request_", "message"), [
    ({"metrics": ["nsp"]}, "unknown metric 'nsp'; available: nps, csat, csat_mean, ces"),
    ({"metrics": []}, "name at least one metric; available: nps"),
    ({"metrics": ["nps"], "grain": "fortnight"},
     "unknown grain 'fortnight'; choose one of day, week, month, quarter, year"),
    ({"metrics": ["nps"], "by": ["shoe_size"]},
     "metric 'nps' (table responses) has no dimension 'shoe_size'; available: response_id"),
    ({"metrics": ["nps", "churn_rate"], "by": ["touchpoint"]},
     "metric 'churn_rate' (table customers) has no dimension 'touchpoint'; available: "
     "customer_id, segment, region"),
    ({"metrics": ["nps"], "filters": {"colour": "red"}},
     "metric 'nps' (table responses) has no filter column 'colour'"),
    ({"metrics": ["nps"], "filters": {"nps": "high"}}, "filter nps='high': not a valid int64"),
    ({"metrics": ["nps"], "by": ["metric"]}, "'metric' cannot be a dimension"),
    ({"metrics": ["nps"], "start": "2025-02-01", "end": "2025-01-01"},
     "start 2025-02-01 is not before end 2025-01-01"),
    ({"metrics": ["nps"], "start": "soon"}, "not a date or time: 'soon'"),
    ({"metrics": ["revenue_mean"], "grain": "month"},
     "metric 'revenue_mean' (table customers) has no time column 'ts'"),
    ({"metrics": ["resolved_mean"]},
     "metric 'resolved_mean': column 'resolved' is boolean, not a number"),
    ({"metrics": ["bad_column"]}, "metric 'bad_column': condition reads unknown column "
                                  "'colour'"),
])
def test_request_mistakes_are_one_clear_metric_error(engine, request_, message):
    with pytest.raises(MetricError) as error:
        engine.compute(**request_)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_groups_without_answers_are_left_out_and_missing_groups_sort_last(engine):
    result = engine.compute(["csat"], by=["touchpoint"], filters={"touchpoint": [None, "web"]})
    assert result["touchpoint"].tolist() == ["web", None]
    assert (result["n"] > 0).all()


def test_user_metric_overrides_a_builtin(duckdb_store, canonical_data):
    config = parse_config({"metrics": {"nps": {"kind": "nps", "condition": "source = 'review'"}}})
    result = MetricsEngine(duckdb_store, config).compute(["nps"])
    responses = canonical_data["responses"]
    assert result["n"].tolist() == [responses[responses["source"] == "review"]["nps"].count()]


def test_table_without_time_can_be_computed_without_a_grain(engine, canonical_data):
    result = engine.compute(["revenue_mean"], by=["region"])
    expected = canonical_data["customers"].groupby("region")["revenue"].agg(["mean", "count"])
    assert result["value"].tolist() == pytest.approx(expected["mean"].tolist(), rel=1e-12)
    assert result["n"].tolist() == expected["count"].tolist()
