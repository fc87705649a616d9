"""Themes nobody configured, growing in the comments: the scan's emerging-theme alerts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smokejumper.workspace import Workspace

TOPICS = {
    "parking": ("parking at the retail park", "the car park in town", "finding a parking "
                "space near the shop"),
    "music": ("the hold music", "the music on the phone line", "that loud hold music"),
    "letters": ("the paper letter you posted", "getting letters by post",
                "the letter about my contract"),
    "esim": ("my eSIM activation", "the eSIM QR code", "setting up the eSIM on my phone"),
}
PREDICATES = ("was a nightmare", "took ages", "is getting worse", "was a joke",
              "needs fixing", "let me down again")


def comments(rng: np.random.Generator, n: int, shares: dict[str, float]) -> list[str]:
    names = list(shares)
    picks = rng.choice(len(names), size=n, p=[shares[k] for k in names])
    out = []
    for pick in picks:
        subjects = TOPICS[names[pick]]
        text = f"{subjects[rng.integers(len(subjects))]} {PREDICATES[rng.integers(6)]}."
        out.append(text[0].upper() + text[1:])
    return out


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("emerging")
    rng = np.random.default_rng(8)
    stable = {"parking": 0.4, "music": 0.35, "letters": 0.25}
    days = pd.date_range("2025-01-06", "2025-05-04", freq="D")
    rows = []
    for day in days:
        recent = day >= pd.Timestamp("2025-04-07")
        shares = ({"parking": 0.32, "music": 0.28, "letters": 0.2, "esim": 0.2} if recent
                  else stable)
        for text in comments(rng, 12, shares):
            rows.append({"response_id": f"r{len(rows)}", "ts": day + pd.Timedelta(hours=10),
                         "touchpoint": "app", "nps": int(rng.integers(0, 11)),
                         "comment": text})
    pd.DataFrame(rows).to_csv(root / "responses.csv", index=False)
    ws = Workspace.init(root / "ws")
    ws.ingest([root / "responses.csv"], "responses")
    return ws


def test_a_new_topic_in_the_comments_is_an_emerging_alert(workspace: Workspace) -> None:
    alerts = workspace.smoke.emerging(until="2025-05-05")
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.metric.startswith("emerging_theme:esim")
    assert alert.pattern == "spike" and alert.segment == {}
    assert alert.before.value < 2.0 and 15.0 < alert.after.value < 26.0
    assert alert.after.low > alert.before.high  # the interval says it grew
    assert alert.start.isoformat() == "2025-04-07"
    assert "esim" in alert.related[0]["top_words"][:3]
    assert all("eSIM" in e for e in alert.related[0]["examples"])


def test_a_calm_month_has_no_emerging_alert(workspace: Workspace) -> None:
    assert workspace.smoke.emerging(until="2025-04-07") == []


def test_scan_emerging_from_the_command_line(workspace: Workspace,
                                             capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    from smokejumper.cli.testing import invoke

    code, out, err = invoke(["-w", str(workspace.root), "scan", "--emerging", "--since",
                             "2025-04-01", "--format", "json"], capsys)
    assert code == 0, err
    found = [a for a in json.loads(out) if a["metric"].startswith("emerging_theme:")]
    assert [a["start"] for a in found] == ["2025-04-07"]
