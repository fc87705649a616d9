"""Benchmark: rank 5,000 agents over 10M survey responses (target: <= 10 s).

Generates a seeded synthetic ``responses`` table in an in-memory DuckDB (agent skill,
case-mix cells with their own difficulty), times :func:`rank_tables` on NPS and, as a
baseline in the same run, a plain per-agent count; prints JSON with the ratio and the
Spearman correlation of the ranking with the planted skill.

    .venv/bin/python bench/frontline_bench.py [--rows 10000000] [--agents 5000]
"""

from __future__ import annotations

import argparse
import json
import time


def build(rows: int, agents: int, seed: int) -> tuple[object, object]:
    import duckdb
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 1, agents)
    agent = rng.integers(0, agents, rows, dtype=np.int32)
    reason = rng.integers(0, 7, rows, dtype=np.int8)
    channel = rng.integers(0, 5, rows, dtype=np.int8)
    segment = rng.choice(3, rows, p=[0.76, 0.19, 0.05]).astype(np.int8)
    latent = 7.5 + 0.5 * skill[agent] - 0.3 * reason + 0.2 * channel - 0.4 * segment
    nps = np.clip(np.rint(latent + rng.normal(0, 1.8, rows)), 0, 10).astype(np.int8)
    frame = pd.DataFrame({"a": agent, "r": reason, "c": channel, "s": segment, "nps": nps})
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("""
        CREATE TABLE responses AS SELECT
          'A' || lpad(a::VARCHAR, 5, '0') AS agent_id,
          'reason' || r::VARCHAR AS contact_reason,
          'channel' || c::VARCHAR AS channel,
          'segment' || s::VARCHAR AS segment,
          nps::BIGINT AS nps
        FROM frame""")
    con.unregister("frame")
    return con, skill


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--agents", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    import ibis
    import numpy as np
    from scipy.stats import spearmanr

    from smokejumper.frontline.measures import RankConfig
    from smokejumper.frontline.ranking import rank_tables

    started = time.perf_counter()
    con, skill = build(args.rows, args.agents, args.seed)
    build_s = time.perf_counter() - started
    backend = ibis.duckdb.from_connection(con)
    table = backend.table("responses")

    started = time.perf_counter()
    backend.sql("SELECT agent_id, count(*) AS n FROM responses GROUP BY 1").to_pandas()
    baseline_s = time.perf_counter() - started

    started = time.perf_counter()
    frame = rank_tables({"responses": table}, RankConfig(measure="nps"))
    rank_s = time.perf_counter() - started

    truth = np.asarray(skill)[frame["agent_id"].str[1:].astype(int).to_numpy()]
    print(json.dumps({
        "benchmark": "frontline_rank", "rows": args.rows, "agents": int(len(frame)),
        "build_s": round(build_s, 2), "baseline_count_s": round(baseline_s, 3),
        "rank_s": round(rank_s, 3), "ratio_to_baseline": round(rank_s / baseline_s, 2),
        "target_s": 10.0, "within_target": rank_s <= 10.0,
        "spearman_vs_planted": round(float(spearmanr(frame["score"], truth)[0]), 4),
    }))


if __name__ == "__main__":
    main()
