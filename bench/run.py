"""Smokejumper benchmarks: one run, ratios against baselines measured in the same run.

Usage: python bench/run.py [--size large] [--dir .bench] [--repeat 5]

Prints one JSON document with, for the demo company of the given size:
- ingest: Parquet → store and CSV → store, rows/s (fresh workspace each time);
- cube: NPS, CSAT, AHT and count by touchpoint × team × week through the metric engine,
  against a bare DuckDB SQL GROUP BY of the same cube and a pandas groupby (data in
  memory), as medians over --repeat runs, with the ratios;
- peak memory (max RSS) of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from smokejumper import Workspace
from smokejumper.reporter import SilentReporter

CUBE_METRICS = ["nps", "csat", "aht", "responses"]
CUBE_BY = ["touchpoint", "team_id"]

BARE_RESPONSES_SQL = """
SELECT touchpoint, team_id, date_trunc('week', ts) AS period,
       count(nps) AS nps_n,
       sum(CASE WHEN nps >= 9 THEN 1 ELSE 0 END) AS promoters,
       sum(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) AS detractors,
       count(csat) AS csat_n,
       sum(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) AS csat_top2,
       count(*) AS responses
FROM responses
GROUP BY ALL
"""
BARE_INTERACTIONS_SQL = """
SELECT touchpoint, team_id, date_trunc('week', ts) AS period,
       count(handle_time_s) AS aht_n,
       avg(handle_time_s) AS aht,
       stddev_samp(handle_time_s) AS aht_sd
FROM interactions
GROUP BY ALL
"""


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_demo(root: Path, size: str, seed: int) -> Path:
    """Build (once) the demo company of this size; reused by later runs."""
    demo = root / f"demo-{size}-{seed}"
    if not (demo / "ground_truth.json").is_file():
        started = time.perf_counter()
        Workspace.create_demo(demo, size=size, seed=seed, force=True,
                              reporter=SilentReporter())[0].close()
        print(f"built the {size} demo in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    return demo


def _bare_load_seconds(scratch: Path, source_sql: str) -> float:
    """The engine alone: a bare DuckDB CREATE TABLE AS from the same file into a new file."""
    target = scratch / "bare.duckdb"
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM {source_sql}")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    con.close()
    target.unlink(missing_ok=True)
    return seconds


def _ingest_case(scratch: Path, name: str, source: Path, source_sql: str,
                 rows: int) -> dict[str, Any]:
    """Load one file into a fresh workspace, then the same file with bare DuckDB."""
    target = scratch / f"ingest-{name}"
    shutil.rmtree(target, ignore_errors=True)
    ws = Workspace.init(target)
    start = time.perf_counter()
    summary = ws.ingest([source], "responses")
    seconds = time.perf_counter() - start
    ws.close()
    bare = _bare_load_seconds(scratch, source_sql)
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
            "inserted": summary.inserted, "bare_duckdb_seconds": round(bare, 3),
            "bare_duckdb_rows_per_s": round(rows / bare),
            "ratio_ingest_to_bare_duckdb": round(seconds / bare, 3)}


def bench_ingest(demo: Path, scratch: Path, csv_rows: int) -> dict[str, Any]:
    """Ingest (validation, classification, rejects, one transaction) against a bare load."""
    parquet = demo / "data" / "responses.parquet"
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0]
    results = {"parquet": _ingest_case(scratch, "parquet", parquet,
                                       f"read_parquet('{parquet}')", rows)}
    csv = scratch / "responses.csv"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{parquet}') LIMIT {csv_rows}) "
               f"TO '{csv}' (HEADER, DELIMITER ',')")
    results["csv"] = _ingest_case(scratch, "csv", csv, f"read_csv('{csv}')",
                                  min(csv_rows, rows))
    results["csv"]["goal_rows_per_s"] = 1_000_000
    csv.unlink()
    return results


def bench_cube(demo: Path, repeat: int) -> dict[str, Any]:
    ws = Workspace(demo)
    engine = ws.metrics

    def through_engine() -> pd.DataFrame:
        return engine.compute(CUBE_METRICS, by=CUBE_BY, grain="week")

    con = ws.analytics.raw

    def bare_duckdb() -> tuple[pd.DataFrame, pd.DataFrame]:
        return (con.execute(BARE_RESPONSES_SQL).df(), con.execute(BARE_INTERACTIONS_SQL).df())

    engine_s, cube = _timed(through_engine, repeat)
    bare_s, (bare_r, bare_i) = _timed(bare_duckdb, repeat)

    responses = con.execute("SELECT touchpoint, team_id, ts, nps, csat FROM responses").df()
    interactions = con.execute("SELECT touchpoint, team_id, ts, handle_time_s "
                               "FROM interactions").df()

    def pandas_groupby() -> tuple[pd.DataFrame, pd.DataFrame]:
        r = responses.assign(
            period=responses.ts.dt.to_period("W-SUN").dt.start_time,
            promoter=responses.nps >= 9, detractor=responses.nps <= 6,
            top2=responses.csat >= 4,
        )
        r["promoter"] = r["promoter"].where(r.nps.notna())
        r["detractor"] = r["detractor"].where(r.nps.notna())
        r["top2"] = r["top2"].where(r.csat.notna())
        g = r.groupby(["touchpoint", "team_id", "period"], dropna=False).agg(
            nps_n=("nps", "count"), promoters=("promoter", "sum"),
            detractors=("detractor", "sum"), csat_n=("csat", "count"),
            csat_top2=("top2", "sum"), responses=("ts", "size"))
        i = interactions.assign(period=interactions.ts.dt.to_period("W-SUN").dt.start_time)
        h = i.groupby(["touchpoint", "team_id", "period"], dropna=False).handle_time_s.agg(
            ["count", "mean", "std"])
        return g, h

    pandas_s, _ = _timed(pandas_groupby, max(1, repeat // 2))
    groups = len(bare_r) + len(bare_i)
    result = {
        "metrics": CUBE_METRICS, "by": CUBE_BY, "grain": "week",
        "responses_rows": len(responses), "interactions_rows": len(interactions),
        "groups": groups, "cube_rows": len(cube),
        "engine_s": round(engine_s, 4), "bare_duckdb_s": round(bare_s, 4),
        "pandas_s": round(pandas_s, 4),
        "ratio_engine_to_bare_duckdb": round(engine_s / bare_s, 3),
        "ratio_pandas_to_engine": round(pandas_s / engine_s, 3),
        "goal_ratio_engine_to_bare_duckdb": 1.5,
    }
    ws.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(".bench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    demo = ensure_demo(args.dir.resolve(), args.size, args.seed)
    report = {
        "size": args.size,
        "cores": __import__("os").cpu_count(),
        "versions": {"duckdb": duckdb.__version__, "pandas": pd.__version__,
                     "ibis": __import__("ibis").__version__},
        "ingest": bench_ingest(demo, args.dir.resolve(), args.csv_rows),
        "cube": bench_cube(demo, args.repeat),
    }
    report["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    report["load_average_1m"] = round(__import__("os").getloadavg()[0], 2)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
