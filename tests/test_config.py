"""smokejumper.toml: the template is valid, and errors name the key and the problem."""

from __future__ import annotations

import tomllib

import pytest

from smokejumper.config import config_template, load_config, parse_config
from smokejumper.errors import ConfigError


def test_template_parses_to_the_defaults() -> None:
    config = parse_config(tomllib.loads(config_template("Acme")))
    assert config.workspace.name == "Acme"
    assert config.stores.analytics == "duckdb:///analytics.duckdb"
    assert config.stores.operational == "sqlite:///operational.db"
    assert config.analysis.grain == "week"
    assert config.analysis.repeat_window_days == 7
    assert config.mappings == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"analysis": {"grain": "fortnight"}}, "analysis.grain: Input should be"),
        ({"analysis": {"repeat_window_days": 0}}, "analysis.repeat_window_days:"),
        ({"workspace": {"timezone": "Mars/Olympus"}}, "workspace.timezone:"),
        ({"stores": {"analytics": "mysql://x"}}, "stores.analytics:"),
        ({"analysis": {"dimensoins": ["region"]}}, "analysis.dimensoins: unknown key"),
        ({"metrics": {"fcr2": {"kind": "median"}}}, "metrics.fcr2.kind:"),
        ({"mappings": {"mine": {"table": "tickets"}}}, "mappings.mine.table:"),
    ],
)
def test_errors_name_the_key(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_invalid_toml_is_one_clear_error(tmp_path) -> None:
    path = tmp_path / "smokejumper.toml"
    path.write_text("[workspace\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_user_mapping_and_metric_round_trip() -> None:
    config = parse_config(
        {
            "mappings": {"survey_tool": {"table": "responses", "header_rows": 3,
                                         "columns": {"response_id": "Response ID"}}},
            "metrics": {"low_effort": {"kind": "share", "column": "ces",
                                       "condition": "ces <= 2", "scale": 100}},
        }
    )
    assert config.mappings["survey_tool"].columns == {"response_id": "Response ID"}
    assert config.metrics["low_effort"].condition == "ces <= 2"
