"""Listen, understand, detect: once the comments are read, the scan watches each theme's
share of them, and the small demo's incidents show within a week of their start."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from smokejumper.workspace import Workspace

SEVERITIES = ("low", "medium", "high", "critical")


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[Any]]:
    ws, _ = Workspace.create_demo(tmp_path_factory.mktemp("spikes") / "demo", size="small")
    summary = ws.text.enrich(source="responses", model="vader", themes="keywords")
    assert summary.enriched > 20_000
    truth = json.loads((ws.root / "ground_truth.json").read_text())
    return ws, truth["incidents"]


def test_every_incident_spikes_in_its_theme_within_one_week(
        enriched: tuple[Workspace, list[Any]]) -> None:
    ws, incidents = enriched
    for incident in incidents:
        start = date.fromisoformat(incident["start"])
        alerts = ws.smoke.scan(until=start + timedelta(weeks=1))
        hits = [a for a in alerts if a.segment == incident["segment"]]
        assert hits, f"{incident['name']} not found a week after its start"
        alert = hits[0]
        assert alert.metric == f"theme_share:{incident['theme']}"
        assert alert.pattern == "spike" and alert.start == start
        assert alert.after.value > alert.before.value  # the theme's share rose


def test_a_theme_spike_counts_the_customers_who_mentioned_the_theme(
        enriched: tuple[Workspace, list[Any]]) -> None:
    from smokejumper.metrics.text import ENRICHED_RESPONSES, theme_column

    ws, incidents = enriched
    incident = incidents[0]
    until = date.fromisoformat(incident["start"]) + timedelta(weeks=2)
    alert = next(a for a in ws.smoke.scan(until=until)
                 if a.segment == incident["segment"]
                 and a.metric == f"theme_share:{incident['theme']}")
    window_end = alert.end if alert.end is not None else until
    rows = ws.table(ENRICHED_RESPONSES).execute()
    inside = rows[(rows["ts"] >= str(alert.start)) & (rows["ts"] < str(window_end))
                  & rows["customer_id"].notna()]
    for key, value in alert.segment.items():
        inside = inside[inside[key] == value]
    mentioned = inside[inside[theme_column(incident["theme"])].fillna(False).astype(bool)]
    assert alert.customers_affected == mentioned["customer_id"].nunique()
    assert 0 < alert.customers_affected < inside["customer_id"].nunique()


def test_the_full_scan_names_each_incident_once_per_signal(
        enriched: tuple[Workspace, list[Any]]) -> None:
    ws, incidents = enriched
    alerts = ws.smoke.scan()
    for incident in incidents:
        found = [a for a in alerts if a.segment == incident["segment"]]
        metrics = sorted(a.metric for a in found)
        assert f"theme_share:{incident['theme']}" in metrics
        assert len(metrics) == len(set(metrics))  # no duplicate alerts per metric
        spike = next(a for a in found if a.metric.startswith("theme_share:"))
        assert SEVERITIES.index(spike.severity) >= SEVERITIES.index("high")


def test_a_calm_enriched_demo_raises_no_theme_alarm(tmp_path: Path) -> None:
    ws, _ = Workspace.create_demo(tmp_path / "calm", size="small", incidents=False)
    ws.text.enrich(source="responses", model="vader", themes="keywords")
    serious = [a for a in ws.smoke.scan() if SEVERITIES.index(a.severity) >= 1]
    assert serious == []
    ws.close()
