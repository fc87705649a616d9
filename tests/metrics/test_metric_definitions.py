"""Metric definitions: the built-ins, user definitions from the toml, the condition
mini-language (parsed without eval) and the aggregates of ratios."""

from __future__ import annotations

import dataclasses
import json

import ibis
import pytest

from smokejumper.config import parse_config
from smokejumper.errors import MetricError
from smokejumper.metrics.conditions import (
    And,
    Compare,
    InList,
    IsTrue,
    Not,
    Or,
    bind_condition,
    parse_condition,
)
from smokejumper.metrics.definitions import (
    builtin_definitions,
    parse_aggregate,
    workspace_definitions,
)

BUILTINS = ["nps", "csat", "csat_mean", "ces", "responses", "fcr", "repeat_rate",
            "churn_rate", "aht", "aov", "upsell_rate", "contacts", "sentiment",
            "conversation_score"]


def test_builtins_are_frozen_serialisable_and_complete():
    definitions = builtin_definitions()
    assert list(definitions) == BUILTINS
    assert json.loads(json.dumps([d.to_dict() for d in definitions.values()]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        definitions["nps"].scale = 2  # type: ignore[misc]
    intervals = {name: d.interval for name, d in definitions.items()}
    assert intervals == {"nps": "nps", "csat": "wilson", "csat_mean": "t", "ces": "t",
                         "responses": "poisson", "fcr": "wilson", "repeat_rate": "wilson",
                         "churn_rate": "wilson", "aht": "t", "aov": "t",
                         "upsell_rate": "wilson", "contacts": "poisson", "sentiment": "t",
                         "conversation_score": "t"}


def test_repeat_window_comes_from_the_config():
    config = parse_config({"analysis": {"repeat_window_days": 3}})
    repeat = workspace_definitions(config)["repeat_rate"]
    assert repeat.window_days == 3 and "within 3 days" in repeat.description


def test_user_definitions_extend_and_override():
    config = parse_config({"metrics": {
        "low_effort": {"kind": "share", "column": "ces", "condition": "ces <= 2",
                       "scale": 100, "label": "Low effort %"},
        "nps": {"kind": "nps", "condition": "source = 'survey'"},
    }})
    definitions = workspace_definitions(config)
    assert definitions["low_effort"].label == "Low effort %"
    assert not definitions["low_effort"].builtin
    assert definitions["nps"].condition == "source = 'survey'"
    assert definitions["nps"].column == "nps"  # an nps metric reads the nps column by default
    assert list(definitions)[:len(BUILTINS)] == BUILTINS


@pytest.mark.parametrize(("metric", "message"), [
    ({"kind": "share", "column": "ces"}, "metrics.bad: a share needs condition"),
    ({"kind": "mean"}, "metrics.bad: a mean needs column"),
    ({"kind": "ratio", "numerator": "sum(x)"}, "metrics.bad: a ratio needs numerator and "),
    ({"kind": "ratio", "numerator": "median(x)", "denominator": "count(*)"},
     "metrics.bad: aggregate 'median(x)' is not one of"),
    ({"kind": "ratio", "numerator": "sum(*)", "denominator": "count(*)"},
     "metrics.bad: sum(*) is not defined"),
    ({"kind": "share", "condition": "csat >= "}, "metrics.bad: condition 'csat >= ': expected"),
])
def test_bad_user_definitions_name_the_key(metric, message):
    with pytest.raises(MetricError, match="smokejumper.toml: ") as error:
        workspace_definitions(parse_config({"metrics": {"bad": metric}}))
    assert message in str(error.value)


@pytest.mark.parametrize(("text", "tree"), [
    ("csat >= 4", Compare("csat", ">=", 4)),
    ("csat == 5", Compare("csat", "=", 5)),
    ("order_value > 0.5", Compare("order_value", ">", 0.5)),
    ("nps <> -1", Compare("nps", "!=", -1)),
    ("resolved", IsTrue("resolved")),
    ("not resolved", Not(IsTrue("resolved"))),
    ("resolved = false", Compare("resolved", "=", False)),
    ("contact_reason in ('billing','cancellation')",
     InList("contact_reason", ("billing", "cancellation"))),
    ("channel not in (\"chat\")", InList("channel", ("chat",), negate=True)),
    ("a > 1 and b < 2 or c", Or((And((Compare("a", ">", 1), Compare("b", "<", 2))),
                                 IsTrue("c")))),
    ("a > 1 and (b < 2 or c)", And((Compare("a", ">", 1),
                                    Or((Compare("b", "<", 2), IsTrue("c")))))),
    ("NOT upsell AND name = 'O\\'Brien'", And((Not(IsTrue("upsell")),
                                              Compare("name", "=", "O'Brien")))),
])
def test_conditions_parse_and_render_back(text, tree):
    assert parse_condition(text) == tree
    assert parse_condition(str(tree)) == tree


@pytest.mark.parametrize(("text", "message"), [
    ("", "the condition is empty"),
    ("csat >=", "expected a number, 'text', true or false, found the end"),
    ("csat >= 4 and", "expected a column name, found the end"),
    ("(csat > 1", "expected ')', found the end"),
    ("csat in 1, 2", "expected '(' after in, found 1"),
    ("__import__('os')", "unexpected '('"),
    ("__import__('os').system('true')", "unexpected character '.'"),
    ("csat >= 4; drop table x", "unexpected character ';'"),
    ("name = 'open", "unexpected character \"'\""),
])
def test_condition_mistakes_are_metric_errors(text, message):
    with pytest.raises(MetricError) as error:
        parse_condition(text, "happy")
    assert str(error.value).startswith("metric 'happy': condition ")
    assert message in str(error.value)


def test_conditions_bind_to_ibis_with_type_checks():
    table = ibis.table({"csat": "int64", "resolved": "boolean", "reason": "string",
                        "ts": "timestamp"}, name="t")
    expr = bind_condition(parse_condition("reason in ('a', 'b') and ts >= '2025-01-01'"),
                          table)
    sql = ibis.to_sql(table.filter(expr), dialect="duckdb")
    assert "IN ('a', 'b')" in sql and "MAKE_TIMESTAMP(2025, 1, 1, 0, 0" in sql
    with pytest.raises(MetricError, match="'csat' is int64, not true/false"):
        bind_condition(parse_condition("csat"), table, "m")
    with pytest.raises(MetricError, match="'reason' is string and cannot be compared with 4"):
        bind_condition(parse_condition("reason > 4"), table, "m")
    with pytest.raises(MetricError, match="condition reads unknown column 'colour'; "
                                          "available: csat, resolved, reason, ts"):
        bind_condition(parse_condition("colour = 'red'"), table, "m")


@pytest.mark.parametrize(("text", "parsed"), [
    ("sum(order_value)", ("sum", "order_value")),
    ("count(*)", ("count", None)),
    (" COUNT( resolved ) ", ("count", "resolved")),
    ("avg(x)", ("mean", "x")),
    ("mean(x)", ("mean", "x")),
])
def test_ratio_aggregates(text, parsed):
    assert parse_aggregate(text) == parsed
