"""Evaluation: how early and how exactly the scan finds the demo's planted incidents,
and how often it cries wolf on the demo built without incidents.

For each size (small, medium) and each planted incident, the scan runs with the data up
to 1, 2, 3... periods (weeks) after the incident's start and stops at the first scan
whose alerts include the planted segment exactly; it reports that delay, the alert's
start against the planted one, its severity. On the ``--no-incidents`` demo it counts
alerts of severity medium or more per 100 segment-series-years (goal: at most 1). Both
are measured on the scores alone, then again once the comments are enriched (lexicon
sentiment and keyword themes), when the scan also watches each theme's share.
Prints JSON.

    .venv/bin/python bench/smoke_eval.py [--sizes small medium] [--dir .bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ensure_demo  # noqa: E402

MAX_PERIODS = 8
SCORES = ["nps", "csat"]


def quiet_demo(root: Path, size: str, seed: int) -> Path:
    from smokejumper.workspace import Workspace

    demo = root / f"demo-{size}-{seed}-quiet"
    if not (demo / "ground_truth.json").is_file():
        Workspace.create_demo(demo, size=size, seed=seed, incidents=False, force=True)[0].close()
    return demo


def enrich(demo: Path) -> dict[str, Any]:
    """Read the demo's comments with the lexicon and keyword models (once): the scan then
    also watches each theme's share of the comments."""
    from smokejumper.workspace import Workspace

    with Workspace(demo) as ws:
        summary = ws.text.enrich(source="responses", model="vader", themes="keywords")
    return {"enriched": summary.enriched, "cached": summary.cached,
            "seconds": round(summary.seconds, 1)}


def delays(demo: Path, metrics: list[str] | None) -> list[dict[str, Any]]:
    from smokejumper.workspace import Workspace

    out = []
    with Workspace(demo) as ws:
        truth = json.loads((demo / "ground_truth.json").read_text())["incidents"]
        for incident in truth:
            start = date.fromisoformat(incident["start"])
            row: dict[str, Any] = {"incident": incident["name"],
                                   "segment": incident["segment"], "start": incident["start"],
                                   "periods_to_detect": None}
            for k in range(1, MAX_PERIODS + 1):
                alerts = ws.smoke.scan(until=start + timedelta(weeks=k),
                                       since=start - timedelta(weeks=4), metrics=metrics)
                hit = [a for a in alerts if a.segment == incident["segment"]]
                if hit:
                    row.update(periods_to_detect=k, alert_start=hit[0].start.isoformat(),
                               start_error_days=(hit[0].start - start).days,
                               severity=hit[0].severity, metric=hit[0].metric)
                    break
            out.append(row)
    return out


def false_alarms(demo: Path, metrics: list[str] | None) -> dict[str, Any]:
    from smokejumper.workspace import Workspace

    with Workspace(demo) as ws:
        result = ws.smoke.scan_result(metrics=metrics)
    serious = [a for a in result.alerts if a.severity in ("medium", "high", "critical")]
    years = result.periods * 7 / 365.25
    return {"series": result.series, "alerts": len(result.alerts),
            "alerts_medium_or_more": len(serious),
            "per_100_series_years": round(100 * len(serious) / (result.series * years), 4),
            "goal_per_100_series_years": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "medium"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(".bench"))
    parser.add_argument("--no-enrich", dest="enrich", action="store_false",
                        help="only the scores (no text enrichment, no theme spikes)")
    args = parser.parse_args()
    report: dict[str, Any] = {"benchmark": "smoke_eval", "grain": "week"}
    for size in args.sizes:
        started = time.perf_counter()
        demo = ensure_demo(args.dir.resolve(), size, args.seed)
        quiet = quiet_demo(args.dir.resolve(), size, args.seed)
        report[size] = {"signals": "scores (nps, csat)", "incidents": delays(demo, SCORES),
                        "no_incidents": false_alarms(quiet, SCORES)}
        if args.enrich:
            report[f"{size}_all_signals"] = {
                "signals": "scores, contact-reason spikes, and theme spikes of the comments "
                           "enriched with vader + keyword themes",
                "enrichment": [enrich(demo), enrich(quiet)], "incidents": delays(demo, None),
                "no_incidents": false_alarms(quiet, None)}
        report[size]["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
