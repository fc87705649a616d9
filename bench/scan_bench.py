"""Benchmark: a full smoke scan of the demo company (large: ~10M responses), weekly.

Scans every single dimension and every pair of the demo's six dimensions over 12 months,
NPS and CSAT on the responses (the issue's figure; goal <= 30 s), then the default scan
that also watches the share of each contact reason on the interactions for spikes. Each
scan's time is split into engine (queries) and analysis (detection, merging,
localisation); as a baseline in the same run, the bare DuckDB SQL of the scan's one
aggregation (the finest grain the scan needs) on the same file. Prints JSON.

    .venv/bin/python bench/scan_bench.py [--size large] [--dir .bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ensure_demo  # noqa: E402


def bare_aggregation(demo: Path) -> float:
    """The scan's aggregation written by hand in DuckDB SQL (finest grain x week)."""
    import duckdb

    con = duckdb.connect(str(demo / "analytics.duckdb"), read_only=True)
    sql = """
        SELECT touchpoint, channel, region, segment, team_id, contact_reason,
               date_trunc('week', ts) AS period,
               count(nps) AS n, sum(CASE WHEN nps >= 9 THEN 1 ELSE 0 END) AS promoters,
               sum(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) AS detractors,
               count(csat) AS csat_n, sum(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) AS satisfied
        FROM responses GROUP BY ALL"""
    started = time.perf_counter()
    con.execute(sql).fetch_df()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def scan(demo: Path, metrics: list[str] | None) -> dict[str, Any]:
    from smokejumper.workspace import Workspace

    with Workspace(demo) as ws:
        started = time.perf_counter()
        result = ws.smoke.scan_result(metrics=metrics)
        elapsed = time.perf_counter() - started
        truth = json.loads((demo / "ground_truth.json").read_text())["incidents"]
    exact = sum(any(a.segment == i["segment"] for a in result.alerts) for i in truth)
    return {"seconds": round(elapsed, 2), **result.timings, "series": result.series,
            "periods": result.periods, "alerts": len(result.alerts),
            "planted_incidents_found_exactly": f"{exact}/{len(truth)}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(".bench"))
    args = parser.parse_args()
    demo = ensure_demo(args.dir.resolve(), args.size, args.seed)
    bare = bare_aggregation(demo)
    responses = scan(demo, ["nps", "csat"])
    default = scan(demo, None)
    print(json.dumps({"benchmark": "scan", "size": args.size, "goal_seconds": 30,
                      "bare_duckdb_aggregation_s": round(bare, 2),
                      "responses_nps_csat": responses,
                      "default_with_contact_reason_spikes": default}, indent=2))


if __name__ == "__main__":
    main()
