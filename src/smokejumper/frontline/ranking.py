"""Fair ranking of agents and teams: case-mix adjusted, shrunk, with rank intervals.

The engine reduces each table to per unit × cell sufficient statistics
(:func:`~smokejumper.frontline.measures.cell_statistics`); everything here runs on that
small aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from smokejumper.errors import FrontlineError
from smokejumper.frontline.measures import (
    RankConfig,
    cell_statistics,
    fetch,
    resolve_measure,
)
from smokejumper.frontline.shrinkage import (
    credible_groups,
    fit_case_mix,
    rank_intervals,
    shrink,
)
from smokejumper.metrics.intervals import z_value

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

Array = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True)
class MeasureEstimate:
    """One measure's estimates per unit (rows of ``keys``), on the measure's own scale,
    oriented so that higher is better; ``tau2`` is the between-unit variance."""

    measure: str
    keys: pd.DataFrame
    n: Array
    raw: Array
    effect: Array
    variance: Array
    mean: Array
    posterior_variance: Array
    tau2: float
    grand_mean: float


def estimate_measure(stats: pd.DataFrame, measure: str, units: Sequence[str],
                     cells: Sequence[str], *, adjust: bool = True, do_shrink: bool = True,
                     prior_mean: Array | None = None, prior_variance: Array | float | None = None,
                     keys: pd.DataFrame | None = None) -> MeasureEstimate:
    """Case-mix adjust and shrink per-unit effects from a cell-statistics frame.

    ``keys`` fixes the units (and their order); units absent from ``stats`` get the prior.
    """
    import pandas as pd

    spec = resolve_measure(measure)
    sign = 1.0 if spec.higher_is_better else -1.0
    units = list(units)
    if keys is None:
        keys = stats[units].drop_duplicates().sort_values(units).reset_index(drop=True)
    unit_index = pd.MultiIndex.from_frame(keys[units]) if len(units) > 1 else pd.Index(
        keys[units[0]])
    row_units = (pd.MultiIndex.from_frame(stats[units]) if len(units) > 1
                 else pd.Index(stats[units[0]]))
    unit_codes = unit_index.get_indexer(row_units)
    kept = unit_codes >= 0
    stats = stats.loc[kept]
    unit_codes = unit_codes[kept]
    if adjust and cells:
        cell_codes = stats.groupby(list(cells), sort=False).ngroup().to_numpy()
    else:
        cell_codes = np.zeros(len(stats), dtype=np.int64)
    n_cells = int(cell_codes.max()) + 1 if len(cell_codes) else 1
    fit = fit_case_mix(unit_codes, cell_codes, stats["n"].to_numpy(dtype=float),
                       sign * stats["total"].to_numpy(dtype=float),
                       stats["squares"].to_numpy(dtype=float), len(keys), n_cells)
    if do_shrink:
        post = shrink(fit.effect, fit.sampling_variance, prior_mean, prior_variance)
        mean, variance, tau2 = post.mean, post.variance, post.prior_variance
    else:
        mean, variance = fit.effect, fit.sampling_variance
        tau2 = float(np.var(fit.effect[fit.n > 0])) if (fit.n > 0).any() else 0.0
    return MeasureEstimate(measure, keys, fit.n, sign * fit.raw_mean, fit.effect,
                           fit.sampling_variance, mean, variance, tau2, sign * fit.grand_mean)


def combine(estimates: Mapping[str, MeasureEstimate], weights: Mapping[str, float],
            scale: Mapping[str, float] | None = None) -> tuple[Array, Array, Array]:
    """A weighted composite of measures, each divided by its between-unit standard
    deviation (``scale``): score, variance and n (the largest n of its measures).

    >>> import pandas as pd
    >>> keys = pd.DataFrame({"agent_id": ["a", "b"]})
    >>> one = np.ones(2)
    >>> nps = MeasureEstimate("nps", keys, one * 50, one, one, one, np.array([2.0, -2.0]),
    ...                       one, 4.0, 0.0)
    >>> combine({"nps": nps}, {"nps": 1.0})[0].tolist()
    [1.0, -1.0]
    """
    total = sum(abs(w) for w in weights.values())
    score = variance = n = None
    for name, weight in weights.items():
        estimate = estimates[name]
        sd = (scale or {}).get(name) or np.sqrt(max(estimate.tau2, 1e-12))
        w = weight / total
        part_mean = w * estimate.mean / sd
        part_variance = w**2 * estimate.posterior_variance / sd**2
        score = part_mean if score is None else score + part_mean
        variance = part_variance if variance is None else variance + part_variance
        n = estimate.n if n is None else np.maximum(n, estimate.n)
    assert score is not None and variance is not None and n is not None
    return score, variance, n


def gather_statistics(tables: Mapping[str, ir.Table], measures: Sequence[str],
                      units: Sequence[str], cells: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Run one aggregate per measure on the engine (the heavy part)."""
    out = {}
    for name in measures:
        spec = resolve_measure(name)
        if spec.table not in tables:
            raise FrontlineError(f"measure '{name}' needs the {spec.table} table")
        table = tables[spec.table]
        present = [c for c in cells if c in table.columns]
        out[name] = fetch(cell_statistics(table, spec, units, present))
    return out


def all_keys(statistics: Mapping[str, pd.DataFrame], units: Sequence[str]) -> pd.DataFrame:
    """Every unit seen in any measure, sorted."""
    import pandas as pd

    frames = [s[list(units)] for s in statistics.values()]
    if not frames:
        return pd.DataFrame(columns=list(units))
    keys = pd.concat(frames).drop_duplicates().sort_values(list(units))
    return keys.reset_index(drop=True)


def rank_statistics(statistics: Mapping[str, pd.DataFrame], config: RankConfig,
                    unit: str = "agent_id") -> tuple[pd.DataFrame, dict[str, MeasureEstimate]]:
    """The ranking from per-measure cell statistics: one row per unit with n, raw, score,
    low, high, rank, rank_low, rank_high and group (``insufficient`` below ``min_n``)."""
    weights = config.measures()
    keys = all_keys(statistics, [unit])
    if keys.empty:
        raise FrontlineError("no rows with an agent and a measured outcome to rank")
    estimates = {name: estimate_measure(statistics[name], name, [unit], config.case_mix,
                                        adjust=config.adjust, do_shrink=config.shrink,
                                        keys=keys)
                 for name in weights}
    score, variance, n = combine(estimates, weights)
    raw_parts = []
    for name, weight in weights.items():
        e = estimates[name]
        sd = np.sqrt(max(e.tau2, 1e-12))
        raw_parts.append(weight * np.nan_to_num(e.raw - e.grand_mean) / sd)
    raw = np.sum(raw_parts, axis=0) / sum(abs(w) for w in weights.values())
    if len(weights) == 1:
        only = next(iter(estimates.values()))
        score, variance, raw = only.mean, only.posterior_variance, only.raw
    frame = keys.copy()
    frame["n"] = n.astype(np.int64)
    frame["raw"] = raw
    frame["score"] = score
    half = z_value(config.level) * np.sqrt(variance)
    frame["low"] = score - half
    frame["high"] = score + half
    sufficient = frame["n"].to_numpy() >= config.min_n
    frame["rank"] = None
    frame["rank_low"] = None
    frame["rank_high"] = None
    frame["group"] = "insufficient"
    if sufficient.any():
        idx = np.flatnonzero(sufficient)
        center = 0.0 if len(weights) > 1 else 0.0
        rank, rank_low, rank_high = rank_intervals(score[idx] - center, variance[idx],
                                                   config.draws, config.level, config.seed)
        groups = credible_groups(frame["low"].to_numpy()[idx], frame["high"].to_numpy()[idx],
                                 rank_low, rank_high, config.top_fraction)
        frame.loc[idx, "rank"] = rank
        frame.loc[idx, "rank_low"] = rank_low
        frame.loc[idx, "rank_high"] = rank_high
        frame.loc[idx, "group"] = groups
    return frame, estimates


def rank_tables(tables: Mapping[str, ir.Table], config: RankConfig | None = None,
                unit: str = "agent_id") -> pd.DataFrame:
    """Rank agents (``unit="agent_id"``) or teams (``"team_id"``) on ``config``'s measure."""
    config = config or RankConfig()
    statistics = gather_statistics(tables, list(config.measures()), [unit], config.case_mix)
    frame, _ = rank_statistics(statistics, config, unit)
    return frame.sort_values(["rank", unit], na_position="last",
                             key=lambda s: s.astype(float) if s.name == "rank" else s
                             ).reset_index(drop=True)
