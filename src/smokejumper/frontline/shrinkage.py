"""The statistics of fair ranking, on small aggregates (pure numpy).

Case mix: a two-way additive model ``y = cell + unit + noise`` fitted by backfitting on
per unit × cell sufficient statistics (n, sum, sum of squares), so an agent who takes the
hard cases is compared with what anybody would score on those cases. Shrinkage: a
normal-normal empirical-Bayes model with the between-unit variance by the method of
moments (DerSimonian-Laird). Ranks: simulated from the posterior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True)
class CaseMixFit:
    """Per unit: n, the raw mean, the case-mix adjusted effect and its sampling variance."""

    n: Array
    raw_mean: Array
    effect: Array
    sampling_variance: Array
    cell_mean: Array
    residual_variance: float
    grand_mean: float


def fit_case_mix(unit: Array, cell: Array, n: Array, total: Array, squares: Array,
                 n_units: int, n_cells: int, iterations: int = 25) -> CaseMixFit:
    """Fit ``y = cell mean + unit effect`` from per (unit, cell) n, sum and sum of squares.

    Unit effects are centred so that their n-weighted mean is 0; a unit with no rows has
    effect 0 and an infinite sampling variance.

    >>> fit = fit_case_mix(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
    ...                    np.array([10, 10, 10, 10]), np.array([20.0, 40, 0, 20]),
    ...                    np.array([50.0, 170, 10, 50]), 2, 2)
    >>> fit.effect.round(3).tolist(), fit.cell_mean.round(3).tolist()
    ([1.0, -1.0], [1.0, 3.0])
    """
    unit = np.asarray(unit, dtype=np.int64)
    cell = np.asarray(cell, dtype=np.int64)
    n = np.asarray(n, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    squares = np.asarray(squares, dtype=np.float64)
    unit_n = np.bincount(unit, n, n_units)
    cell_n = np.bincount(cell, n, n_cells)
    safe_unit_n = np.where(unit_n > 0, unit_n, 1.0)
    safe_cell_n = np.where(cell_n > 0, cell_n, 1.0)
    effect = np.zeros(n_units)
    cell_mean = np.bincount(cell, total, n_cells) / safe_cell_n
    for _ in range(iterations):
        effect = np.bincount(unit, total - n * cell_mean[cell], n_units) / safe_unit_n
        cell_mean = np.bincount(cell, total - n * effect[unit], n_cells) / safe_cell_n
    shift = float((effect * unit_n).sum() / max(unit_n.sum(), 1.0))
    effect = np.where(unit_n > 0, effect - shift, 0.0)
    cell_mean = cell_mean + shift
    fitted = cell_mean[cell] + effect[unit]
    residual = float((squares - 2 * total * fitted + n * fitted**2).sum())
    dof = max(float(n.sum()) - np.count_nonzero(unit_n) - np.count_nonzero(cell_n), 1.0)
    sigma2 = max(residual / dof, 1e-12)
    with np.errstate(divide="ignore"):
        variance = np.where(unit_n > 0, sigma2 / safe_unit_n, np.inf)
    raw = np.where(unit_n > 0, np.bincount(unit, total, n_units) / safe_unit_n, np.nan)
    grand = float(total.sum() / max(n.sum(), 1.0))
    return CaseMixFit(unit_n, raw, effect, variance, cell_mean, sigma2, grand)


@dataclass(frozen=True)
class Posterior:
    """Shrunk estimates: posterior mean and variance per unit, the prior they shrink to."""

    mean: Array
    variance: Array
    prior_mean: Array
    prior_variance: float


def between_variance(estimate: Array, variance: Array) -> tuple[float, float]:
    """DerSimonian-Laird method-of-moments between-unit variance and the pooled mean.

    >>> tau2, mu = between_variance(np.array([-2.0, 0.0, 2.0]), np.array([1.0, 1.0, 1.0]))
    >>> tau2, mu
    (3.0, 0.0)
    """
    finite = np.isfinite(variance) & (variance > 0)
    x, v = np.asarray(estimate)[finite], np.asarray(variance)[finite]
    if x.size < 2:
        return 0.0, float(x.mean()) if x.size else 0.0
    w = 1.0 / v
    mu_fixed = float((w * x).sum() / w.sum())
    q = float((w * (x - mu_fixed) ** 2).sum())
    denominator = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (x.size - 1)) / denominator) if denominator > 0 else 0.0
    w_star = 1.0 / (v + tau2)
    return tau2, float((w_star * x).sum() / w_star.sum())


def shrink(estimate: Array, variance: Array, prior_mean: Array | float | None = None,
           prior_variance: Array | float | None = None) -> Posterior:
    """Normal-normal posterior: ``mean = prior + B (estimate - prior)``,
    ``B = tau2 / (tau2 + v)``, ``variance = B v``.

    With no prior given, it is estimated from the data (:func:`between_variance`). A unit
    with infinite sampling variance keeps the prior.

    >>> post = shrink(np.array([4.0, -2.0]), np.array([1.0, 3.0]), 0.0, 3.0)
    >>> post.mean.tolist(), post.variance.tolist()
    ([3.0, -1.0], [0.75, 1.5])
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    if prior_variance is None or prior_mean is None:
        tau2, mu = between_variance(estimate, variance)
        prior_variance = tau2 if prior_variance is None else prior_variance
        prior_mean = mu if prior_mean is None else prior_mean
    prior_m = np.broadcast_to(np.asarray(prior_mean, dtype=np.float64), estimate.shape)
    prior_v = np.broadcast_to(np.asarray(prior_variance, dtype=np.float64), estimate.shape)
    finite = np.isfinite(variance)
    safe_v = np.where(finite, variance, 1.0)
    total = prior_v + safe_v
    weight = np.where(finite & (total > 0), prior_v / np.where(total > 0, total, 1.0), 0.0)
    mean = prior_m + weight * (np.where(finite, estimate, 0.0) - prior_m)
    post_v = np.where(finite, weight * safe_v, prior_v)
    tau2_out = float(np.mean(prior_v)) if prior_v.size else 0.0
    return Posterior(mean, post_v, np.array(prior_m), tau2_out)


def rank_intervals(mean: Array, variance: Array, draws: int = 400, level: float = 0.95,
                   seed: int = 0) -> tuple[Array, Array, Array]:
    """Rank (1 = highest mean) and its interval, simulated from independent normal
    posteriors.

    >>> rank, low, high = rank_intervals(np.array([0.0, 10.0, -10.0]), np.full(3, 1e-6))
    >>> rank.tolist(), low.tolist(), high.tolist()
    ([2, 1, 3], [2, 1, 3], [2, 1, 3])
    """
    mean = np.asarray(mean, dtype=np.float64)
    k = mean.size
    order = np.argsort(-mean, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    if k == 0:
        return rank, rank.copy(), rank.copy()
    rng = np.random.default_rng(seed)
    sd = np.sqrt(np.maximum(np.asarray(variance, dtype=np.float64), 0.0)).astype(np.float32)
    sample = mean.astype(np.float32) + sd * rng.standard_normal((draws, k), dtype=np.float32)
    positions = np.argsort(-sample, axis=1)
    ranks = np.empty((draws, k), dtype=np.int32)
    rows = np.arange(draws)[:, None]
    ranks[rows, positions] = np.arange(1, k + 1, dtype=np.int32)[None, :]
    tail = (1 - level) / 2
    low = np.quantile(ranks, tail, axis=0, method="lower").astype(np.int64)
    high = np.quantile(ranks, 1 - tail, axis=0, method="higher").astype(np.int64)
    return rank, low, high


def credible_groups(low: Array, high: Array, rank_low: Array, rank_high: Array,
                    fraction: float = 0.1) -> Array:
    """``top`` when the interval lies above the average or the whole rank interval is in
    the top ``fraction``; ``bottom`` likewise below; ``middle`` otherwise.

    >>> credible_groups(np.array([1.0, -3, -1]), np.array([2.0, -1, 1]),
    ...                 np.array([1, 9, 2]), np.array([2, 10, 9])).tolist()
    ['top', 'bottom', 'middle']
    """
    k = len(low)
    cut = max(1, int(np.ceil(fraction * k)))
    top = (np.asarray(low) > 0) | (np.asarray(rank_high) <= cut)
    bottom = (np.asarray(high) < 0) | (np.asarray(rank_low) > k - cut)
    return np.where(top & ~bottom, "top", np.where(bottom & ~top, "bottom", "middle"))
