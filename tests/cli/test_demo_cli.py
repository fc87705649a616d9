"""``smokejumper demo``: options, JSON summary, a clear error when the folder is taken."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from smokejumper.cli.testing import invoke as run
from smokejumper.simulate import model as m


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(m.SIZES, "small", replace(m.SIZES["small"], customers=1_500,
                                                  chunk_customers=1_500))


def test_demo_help_lists_its_options(capsys) -> None:
    code, out, _ = run(["demo", "--help"], capsys)
    assert code == 0
    for option in ("--dir", "--size", "--seed", "--no-incidents", "--force", "--format"):
        assert option in out


def test_demo_json_summary(tmp_path, capsys, tiny) -> None:
    code, out, _ = run(["demo", "--dir", str(tmp_path / "demo"), "--seed", "5",
                        "--format", "json"], capsys)
    assert code == 0, out
    summary = json.loads(out)
    assert summary["workspace"] == str(tmp_path / "demo")
    assert summary["seed"] == 5 and summary["size"] == "small"
    assert set(summary["rows"]) == {"customers", "employees", "interactions", "responses",
                                    "outcomes"}
    assert summary["rows"]["customers"] == 1_500
    assert len(summary["incidents"]) == 3
    assert summary["ground_truth"].endswith("ground_truth.json")
    assert any("metrics nps" in c for c in summary["next_commands"])
    # the demo ends with a scan: each alert names its segment, start and source
    assert isinstance(summary["smoke"], list)
    for alert in summary["smoke"]:
        assert {"metric", "segment", "start", "severity", "root_cause"} <= set(alert)


def test_demo_table_summary_and_taken_folder(tmp_path, capsys, tiny) -> None:
    code, out, _ = run(["demo", "--dir", str(tmp_path / "demo"), "--no-incidents"], capsys)
    assert code == 0
    assert "Brightwave Telecom" in out and "ground truth" in out
    assert "No incidents planted" in out
    code, out, err = run(["demo", "--dir", str(tmp_path / "demo")], capsys)
    assert code == 1
    assert out == ""
    assert "already exists" in err and err.strip().count("\n") == 0
