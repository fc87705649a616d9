"""The watching loop end-to-end on the small demo (real stores): scan with data up to a day
inside two planted incidents, save, acknowledge, apply a fix, then let the watcher look
week by week. The incident that ends closes only once its metric has been back for K
weeks after the planted end; the one that never ends re-opens. Re-scans never duplicate."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from smokejumper.cli.testing import invoke
from smokejumper.smoke.service_ops import review
from smokejumper.workspace import Workspace

K = 3


def _planted(root: Path, name: str) -> dict[str, Any]:
    truth = json.loads((root / "ground_truth.json").read_text())
    return next(i for i in truth["incidents"] if i["name"] == name)


def _stored(ws: Workspace, incident: dict[str, Any]) -> list[Any]:
    return [r for r in ws.smoke.alerts()
            if r.metric == incident["metric"] and r.segment == incident["segment"]]


def test_watching_closes_after_the_planted_end_and_reopens_a_relapse(
        small_demo_copy: Path, capsys: Any) -> None:
    tariff = _planted(small_demo_copy, "tariff_double_charge")  # 2025-10-06 to 2025-11-17
    north = _planted(small_demo_copy, "north_telephony")  # from 2025-06-02, never ends
    ws = Workspace(small_demo_copy)
    alerts = ws.smoke.scan(until="2025-10-27")
    ws.smoke.save(alerts)
    [tariff_alert] = _stored(ws, tariff)
    [north_alert] = _stored(ws, north)
    planted_end = date.fromisoformat(tariff["end"])
    assert abs(date.fromisoformat(tariff_alert.finding["start"])
               - date.fromisoformat(tariff["start"])) <= timedelta(weeks=1)

    ws.smoke.move(tariff_alert.alert_id, "acknowledged", "ana", "billing is on it")
    ws.smoke.move(tariff_alert.alert_id, "fixing", "ana", "refunds and a tariff patch")
    ws.close()
    # the fix goes live a week before the planted end, through the CLI
    fixed_on = planted_end - timedelta(weeks=1)
    code, out, err = invoke(["-w", str(small_demo_copy), "alerts", "fix",
                             str(tariff_alert.alert_id), "--applied", "--on",
                             fixed_on.isoformat(), "--note", "patch 4.1 live",
                             "--who", "ben", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["events"][-1]["effective_on"] == fixed_on.isoformat()
    ws = Workspace(small_demo_copy)
    ws.smoke.move(north_alert.alert_id, "acknowledged", "ana")
    ws.close()
    code, out, err = invoke(["-w", str(small_demo_copy), "alerts", "fix",
                             str(north_alert.alert_id), "--applied", "--on", "2025-07-14",
                             "--who", "cy"], capsys)
    assert code == 0, err

    ws = Workspace(small_demo_copy)
    states: dict[date, tuple[str, str]] = {}
    until = date(2025, 7, 14)
    while until <= date(2025, 12, 29):
        review(ws, k=K, until=until)
        states[until] = (ws.smoke.alert(tariff_alert.alert_id).state,
                         ws.smoke.alert(north_alert.alert_id).state)
        until += timedelta(weeks=1)
    closed_on = min(d for d, (state, _) in states.items() if state == "closed")
    reopened_on = min(d for d, (_, state) in states.items() if state == "open")
    # closed only after K complete weeks past the planted end, and soon after
    assert planted_end + timedelta(weeks=K) <= closed_on <= planted_end + timedelta(weeks=K + 2)
    assert all(states[d][0] == "watching" for d in states if fixed_on <= d < closed_on)
    assert date(2025, 7, 14) + timedelta(weeks=K) <= reopened_on <= date(2025, 9, 1)

    record = ws.smoke.alert(tariff_alert.alert_id)
    last = record.events[-1]
    assert (last.from_state, last.to_state, last.who) == ("watching", "closed", "watcher")
    assert "back inside the baseline's interval" in (last.note or "")
    assert last.effective_on == closed_on
    relapse = ws.smoke.alert(north_alert.alert_id).events[-1]
    assert (relapse.from_state, relapse.to_state, relapse.who) == ("watching", "open",
                                                                   "watcher")
    assert "relapse" in (relapse.note or "")

    # a re-scan of the whole year: the same incidents are the same alerts, none re-opened
    before = {r.alert_id: r.state for r in ws.smoke.alerts()}
    ws.smoke.save(ws.smoke.scan())
    assert len(_stored(ws, tariff)) == 1 and len(_stored(ws, north)) == 1
    after = {r.alert_id: r.state for r in ws.smoke.alerts()}
    assert {i: after[i] for i in before} == before
    ws.close()

    code, out, err = invoke(["-w", str(small_demo_copy), "alerts", "review", "--until",
                             "2025-12-29", "--k", str(K), "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out) == []  # nothing is watching any more
