"""The scan on the small demo: every planted incident found at exactly its segment with
the right start, early; the demo without incidents raises no alarm of medium or more."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from smokejumper.smoke.alerts import SEVERITIES, Alert
from smokejumper.workspace import Workspace


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[Any]]:
    ws, _ = Workspace.create_demo(tmp_path_factory.mktemp("small") / "demo", size="small")
    truth = json.loads((ws.root / "ground_truth.json").read_text())
    return ws, truth["incidents"]


@pytest.fixture(scope="module")
def small_alerts(small_demo: tuple[Workspace, list[Any]]) -> list[Alert]:
    return small_demo[0].smoke.scan()


def _match(alerts: list[Alert], incident: dict[str, Any]) -> Alert | None:
    return next((a for a in alerts if a.segment == incident["segment"]), None)


def test_every_planted_incident_is_found_exactly(small_demo: tuple[Workspace, list[Any]],
                                                 small_alerts: list[Alert]) -> None:
    _, incidents = small_demo
    assert len(incidents) == 3
    for incident in incidents:
        alert = _match(small_alerts, incident)
        assert alert is not None, f"{incident['name']} not found"
        start = date.fromisoformat(incident["start"])
        assert abs((alert.start - start).days) <= 7, (alert.start, start)
        assert alert.metric == incident["metric"]
        assert alert.after.value < alert.before.value
        assert SEVERITIES.index(alert.severity) >= SEVERITIES.index("medium")
        assert alert.customers_affected > 0 and alert.revenue_at_risk
        assert alert.root_cause[0]["segment"] == incident["segment"]


def test_an_ongoing_incident_is_found_within_four_periods_of_its_start(
        small_demo: tuple[Workspace, list[Any]]) -> None:
    ws, incidents = small_demo
    incident = next(i for i in incidents if i["end"] is None)
    until = date.fromisoformat(incident["start"]) + timedelta(weeks=4)
    alerts = ws.smoke.scan(until=until.isoformat())
    alert = _match(alerts, incident)
    assert alert is not None
    assert abs((alert.start - date.fromisoformat(incident["start"])).days) <= 7


def test_since_keeps_later_alerts_only(small_alerts: list[Alert],
                                       small_demo: tuple[Workspace, list[Any]]) -> None:
    later = small_demo[0].smoke.scan(since="2025-09-01")
    assert later and all(a.start >= date(2025, 9, 1) for a in later)
    assert {a.fingerprint for a in later} <= {a.fingerprint for a in small_alerts}


def test_the_calm_demo_raises_no_alarm(tmp_path_factory: pytest.TempPathFactory) -> None:
    ws, _ = Workspace.create_demo(Path(tmp_path_factory.mktemp("calm")) / "demo",
                                  size="small", incidents=False)
    result = ws.smoke.scan_result()
    serious = [a for a in result.alerts if a.severity != "low"]
    years = result.series * result.periods / 52
    assert len(serious) / years * 100 <= 1.0
    ws.close()


def test_scan_command_prints_the_json_keys(small_demo: tuple[Workspace, list[Any]],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from smokejumper.cli.app import main

    main(["-w", str(small_demo[0].root), "scan", "--since", "2025-10-01", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data and list(data[0]) == ["metric", "segment", "start", "before", "after", "low",
                                      "high", "n", "customers_affected", "severity",
                                      "root_cause", "pattern", "end", "revenue_at_risk"]


def test_saved_alerts_go_through_the_lifecycle_from_the_command_line(
        small_demo: tuple[Workspace, list[Any]], small_alerts: list[Alert],
        capsys: pytest.CaptureFixture[str]) -> None:
    from smokejumper.cli.app import main

    root = str(small_demo[0].root)
    main(["-w", root, "scan", "--save", "--format", "json"])
    capsys.readouterr()
    ws = Workspace(root)
    assert all(not created for _, created in ws.smoke.save(small_alerts))  # idempotent
    main(["-w", root, "alerts", "list", "--format", "json"])
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == len(small_alerts)
    alert_id = str(listed[0]["id"])
    for argv in (["ack", alert_id, "--who", "ana"], ["fix", alert_id, "--applied"],
                 ["close", alert_id, "--note", "fixed in 8.2.1"]):
        main(["-w", root, "alerts", *argv, "--format", "json"])
        capsys.readouterr()
    main(["-w", root, "alerts", "show", alert_id, "--format", "json"])
    shown = json.loads(capsys.readouterr().out)
    assert [e["to_state"] for e in shown["events"]] == ["open", "acknowledged", "watching",
                                                       "closed"]
    assert shown["events"][-1]["note"] == "fixed in 8.2.1" and shown["state"] == "closed"
    ws.close()


def test_an_alert_states_its_churn_risk(small_demo: tuple[Workspace, list[Any]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from smokejumper.cli.app import main

    ws, incidents = small_demo
    north = next(i for i in incidents if i["name"] == "north_telephony")
    alerts = [a for a in ws.smoke.scan() if a.segment == north["segment"]]
    (alert_id, _), = ws.smoke.save(alerts)
    main(["-w", str(ws.root), "alerts", "show", str(alert_id), "--risk", "--format", "json"])
    shown = json.loads(capsys.readouterr().out)
    risk = shown["risk"]
    assert risk["segment"] == north["segment"]
    assert 0 < risk["lost_customers_low"] <= risk["expected_lost_customers"] \
        <= risk["lost_customers_high"] < risk["customers"]
    assert risk["revenue_at_risk_low"] <= risk["revenue_at_risk"] <= risk["revenue_at_risk_high"]
    # the segment's customers live through an ongoing incident: more at risk than the base
    assert risk["segment_rate"] > risk["base_rate"]
