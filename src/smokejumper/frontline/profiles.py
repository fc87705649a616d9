"""Skill profiles: per agent and area (contact reason by default), shrunk towards the
agent's own overall level, with intervals and strong/weak flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from smokejumper.frontline.measures import RankConfig
from smokejumper.frontline.ranking import (
    all_keys,
    combine,
    estimate_measure,
    gather_statistics,
)
from smokejumper.metrics.intervals import z_value

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd


def profile_statistics(statistics: Mapping[str, pd.DataFrame], config: RankConfig,
                       area: str = "contact_reason") -> pd.DataFrame:
    """Profiles from per agent × cell statistics (cells include ``area``): one row per
    agent and area with n, score, low, high and flag (strong, weak, typical, insufficient).

    Each area estimate shrinks towards the agent's overall estimate, so little data in an
    area says "like the rest of this agent's work", not "average".
    """
    weights = config.measures()
    agents = all_keys(statistics, ["agent_id"])
    pairs = all_keys({k: v[v[area] != "(none)"] for k, v in statistics.items()},
                     ["agent_id", area])
    cells = tuple(dict.fromkeys((area, *config.case_mix)))
    estimates = {}
    scales = {}
    for name in weights:
        stats = statistics[name]
        overall = estimate_measure(stats, name, ["agent_id"], cells, keys=agents)
        position = agents.set_index("agent_id").index.get_indexer(pairs["agent_id"])
        raw = estimate_measure(stats, name, ["agent_id", area], cells, keys=pairs,
                               do_shrink=False)
        prior = overall.mean[position]
        prior_var = overall.posterior_variance[position]
        finite = np.isfinite(raw.variance)
        deviation = float(np.mean((raw.effect[finite] - prior[finite]) ** 2
                                  - raw.variance[finite] - prior_var[finite])) if finite.any() \
            else 0.0
        deviation = max(deviation, 0.0)
        estimates[name] = estimate_measure(stats, name, ["agent_id", area], cells, keys=pairs,
                                           prior_mean=prior, prior_variance=prior_var + deviation)
        scales[name] = float(np.sqrt(max(overall.tau2 + deviation, 1e-12)))
    score, variance, n = combine(estimates, weights, scales)
    frame = pairs.rename(columns={area: "area"}).copy()
    frame["n"] = n.astype(np.int64)
    frame["score"] = score
    half = z_value(config.level) * np.sqrt(variance)
    frame["low"] = score - half
    frame["high"] = score + half
    frame["flag"] = np.where(frame["n"] < max(config.min_n // 3, 1), "insufficient",
                             np.where(frame["low"] > 0, "strong",
                                      np.where(frame["high"] < 0, "weak", "typical")))
    return frame


def profile_tables(tables: Mapping[str, ir.Table], config: RankConfig | None = None,
                   area: str = "contact_reason") -> pd.DataFrame:
    """Skill profiles of every agent from the analytical tables."""
    config = config or RankConfig()
    cells = tuple(dict.fromkeys((area, *config.case_mix)))
    statistics = gather_statistics(tables, list(config.measures()), ["agent_id"], cells)
    return profile_statistics(statistics, config, area)
