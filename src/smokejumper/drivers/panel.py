"""Panel regressions for linkage analysis, on small team × period tables (pure numpy/scipy).

Two estimators of a slope ``y = b x``:

* **fixed effects** (within): ``x`` and ``y`` demeaned by team (and by period, two-way,
  by alternating projections), weighted least squares on what is left, cluster-robust
  standard errors by team (the Stata ``vce(cluster)`` small-sample factor), a t interval
  with ``teams - 1`` degrees of freedom. It compares each team with itself over time, so
  stable differences between teams (their kind, site, case mix) cannot bias it, but it
  sees only the within-team variation of ``x``.
* **between**: one row per team (volume-weighted means over periods), weighted least
  squares with heteroskedasticity-robust (HC1) errors and ``teams - 2`` degrees of
  freedom. It uses the persistent differences between teams, so it works when ``x``
  barely moves within a team, at the price of being open to team-level confounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True)
class SlopeEstimate:
    """One slope with its standard error, interval, and the data behind it."""

    estimate: float
    se: float
    low: float
    high: float
    n_teams: int
    n_obs: int
    df: int
    estimator: str

    @classmethod
    def missing(cls, estimator: str, n_teams: int = 0, n_obs: int = 0) -> SlopeEstimate:
        nan = float("nan")
        return cls(nan, nan, nan, nan, n_teams, n_obs, 0, estimator)


def _codes(labels: Sequence[Any] | Array) -> tuple[Array, int]:
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    codes = codes.ravel()
    return codes, int(codes.max()) + 1 if codes.size else 0


def demean(values: Array, groups: Sequence[Array], weights: Array | None = None,
           tolerance: float = 1e-12, max_iterations: int = 10_000) -> Array:
    """Remove weighted group means of ``values`` for every grouping at once (alternating
    projections; exact in one sweep for one grouping or a balanced two-way panel).

    >>> demean(np.array([1.0, 3.0, 10.0, 14.0]), [np.array([0, 0, 1, 1])]).tolist()
    [-1.0, 1.0, -2.0, 2.0]
    """
    out = np.array(values, dtype=np.float64, copy=True)
    w = np.ones(out.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    coded = [_codes(g) for g in groups]
    scale = float(np.abs(out).max()) if out.size else 0.0
    for _ in range(max_iterations):
        largest = 0.0
        for codes, k in coded:
            total = np.bincount(codes, w, k)
            safe = np.where(total > 0, total, 1.0)
            if out.ndim == 1:
                mean = np.bincount(codes, w * out, k) / safe
                out -= mean[codes]
                largest = max(largest, float(np.abs(mean).max(initial=0.0)))
            else:
                for j in range(out.shape[1]):
                    mean = np.bincount(codes, w * out[:, j], k) / safe
                    out[:, j] -= mean[codes]
                    largest = max(largest, float(np.abs(mean).max(initial=0.0)))
        if len(coded) <= 1 or largest <= tolerance * max(scale, 1.0):
            break
    return out


def _t_interval(estimate: float, se: float, df: int, level: float) -> tuple[float, float]:
    from scipy.stats import t

    if not np.isfinite(se) or df < 1:
        return float("nan"), float("nan")
    q = float(t.ppf(0.5 + level / 2, df))
    return estimate - q * se, estimate + q * se


def fixed_effects(y: Array, x: Array, team: Array, period: Array | None = None,
                  weights: Array | None = None, level: float = 0.95) -> SlopeEstimate:
    """Slope of ``y`` on ``x`` with team fixed effects (and period effects when ``period``
    is given), cluster-robust by team.

    >>> team = np.array([0, 0, 0, 1, 1, 1])
    >>> x = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    >>> round(fixed_effects(2.0 * x + 10 * team, x, team).estimate, 6)
    2.0
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    w = np.ones(y.size) if weights is None else np.asarray(weights, dtype=np.float64)
    team_codes, n_teams = _codes(team)
    groups = [team_codes] if period is None else [team_codes, _codes(period)[0]]
    n_periods = 0 if period is None else _codes(period)[1]
    both = demean(np.column_stack([y, x]), groups, w)
    yd, xd = both[:, 0], both[:, 1]
    sxx = float((w * xd * xd).sum())
    estimator = "fixed effects" if period is None else "fixed effects (team + period)"
    if n_teams < 2 or sxx <= 1e-12 * max(float((w * x * x).sum()), 1e-300):
        return SlopeEstimate.missing(estimator, n_teams, int(y.size))
    slope = float((w * xd * yd).sum() / sxx)
    residual = yd - slope * xd
    score = np.bincount(team_codes, w * xd * residual, n_teams)
    n_obs = int(y.size)
    k = 1 + max(n_periods - 1, 0)
    correction = (n_teams / (n_teams - 1)) * ((n_obs - 1) / max(n_obs - k, 1))
    se = float(np.sqrt(correction * (score**2).sum()) / sxx)
    low, high = _t_interval(slope, se, n_teams - 1, level)
    return SlopeEstimate(slope, se, low, high, n_teams, n_obs, n_teams - 1, estimator)


def team_means(values: Array, team: Array, weights: Array | None = None) -> tuple[Array, Array]:
    """Weighted mean of ``values`` per team and the team's total weight (team code order)."""
    codes, k = _codes(team)
    w = np.ones(codes.size) if weights is None else np.asarray(weights, dtype=np.float64)
    total = np.bincount(codes, w, k)
    safe = np.where(total > 0, total, 1.0)
    return np.bincount(codes, w * np.asarray(values, dtype=np.float64), k) / safe, total


def between(y: Array, x: Array, team: Array, weights: Array | None = None,
            level: float = 0.95) -> SlopeEstimate:
    """Slope of team means of ``y`` on team means of ``x`` (weighted by team volume), HC1.

    >>> team = np.array([0, 0, 1, 1, 2, 2])
    >>> x = np.array([1.0, 1.0, 2.0, 2.0, 4.0, 4.0])
    >>> round(between(3.0 * x + 1, x, team).estimate, 6)
    3.0
    """
    y_bar, volume = team_means(y, team, weights)
    x_bar, _ = team_means(x, team, weights)
    n_teams = int(y_bar.size)
    n_obs = int(np.asarray(y).size)
    if n_teams < 3:
        return SlopeEstimate.missing("between teams", n_teams, n_obs)
    w = volume / volume.mean()
    centre_x = float((w * x_bar).sum() / w.sum())
    centre_y = float((w * y_bar).sum() / w.sum())
    xd, yd = x_bar - centre_x, y_bar - centre_y
    sxx = float((w * xd * xd).sum())
    if sxx <= 1e-12 * max(float((w * x_bar * x_bar).sum()), 1e-300):
        return SlopeEstimate.missing("between teams", n_teams, n_obs)
    slope = float((w * xd * yd).sum() / sxx)
    residual = yd - slope * xd
    design = np.column_stack([np.ones(n_teams), xd])
    bread = np.linalg.inv(design.T @ (w[:, None] * design))
    meat = (design * (w * residual)[:, None]).T @ (design * (w * residual)[:, None])
    cov = bread @ meat @ bread * n_teams / (n_teams - 2)
    se = float(np.sqrt(cov[1, 1]))
    low, high = _t_interval(slope, se, n_teams - 2, level)
    return SlopeEstimate(slope, se, low, high, n_teams, n_obs, n_teams - 2, "between teams")


def within_share(x: Array, team: Array, period: Array | None = None,
                 weights: Array | None = None) -> float:
    """Share of the variance of ``x`` (after period effects) that is within teams: near 0
    when ``x`` is almost constant per team, so fixed effects can hardly identify a slope.

    >>> round(within_share(np.array([1.0, 1.0, 5.0, 5.0]), np.array([0, 0, 1, 1])), 6)
    0.0
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=np.float64)
    team_codes = _codes(team)[0]
    base = [] if period is None else [_codes(period)[0]]
    total = demean(x, base, w) if base else x - float((w * x).sum() / w.sum())
    within = demean(x, [team_codes, *base], w)
    denominator = float((w * total * total).sum())
    return float((w * within * within).sum() / denominator) if denominator > 0 else 0.0
