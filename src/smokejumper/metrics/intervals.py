"""95% intervals from sufficient statistics (counts, sums, sums of squares), vectorised.

Pure numpy/scipy on the small aggregate the engine returns; every function takes arrays
(one element per group) and returns ``(value, low, high)`` arrays. Edge cases, the same
everywhere: ``n == 0`` gives NaN value and interval; a mean or ratio from one row has a
value but a NaN interval (no spread to estimate); an interval never leaves the metric's
possible range where it has one (proportions 0-1, NPS -100..100, counts >= 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

Array = np.ndarray[Any, np.dtype[np.float64]]
Triple = tuple[Array, Array, Array]


def z_value(level: float = 0.95) -> float:
    """The two-sided normal quantile: 1.96 for 95%.

    >>> round(z_value(), 4)
    1.96
    """
    return float(stats.norm.ppf(0.5 + level / 2))


def _as_float(*arrays: Any) -> list[Array]:
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _per_unique(function: Any, values: Array) -> Array:
    """``function(values)`` evaluated once per distinct value (quantile functions are slow
    and a cube has many groups with the same n)."""
    unique, inverse = np.unique(values, return_inverse=True)
    return np.asarray(function(unique), dtype=np.float64)[inverse.reshape(values.shape)]


def wilson_interval(successes: Any, n: Any, level: float = 0.95) -> Triple:
    """A proportion and its Wilson score interval (good at small n and near 0 or 1).

    >>> p, low, high = wilson_interval([8], [10])
    >>> round(float(p[0]), 3), round(float(low[0]), 3), round(float(high[0]), 3)
    (0.8, 0.49, 0.943)
    """
    k, n = _as_float(successes, n)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / n, np.nan)
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return p, low, high


def mean_interval(total: Any, total_squares: Any, n: Any, level: float = 0.95) -> Triple:
    """A mean from its sum and sum of squares, with a t interval (n - 1 degrees of freedom).

    >>> m, low, high = mean_interval([12.0], [56.0], [3])   # the values 2, 4, 6
    >>> float(m[0]), round(float(low[0]), 3), round(float(high[0]), 3)
    (4.0, -0.968, 8.968)
    """
    s, ss, n = _as_float(total, total_squares, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        variance = np.clip((ss - s * mean) / (n - 1), 0.0, None)
        t = _per_unique(lambda df: stats.t.ppf(0.5 + level / 2, df), np.where(n > 1, n - 1, 1))
        half = np.where(n > 1, t * np.sqrt(variance / n), np.nan)
    return mean, mean - half, mean + half


def nps_interval(promoters: Any, detractors: Any, n: Any, level: float = 0.95) -> Triple:
    """NPS (-100..100) with the multinomial variance ``(pP + pD - (pP - pD)^2) / n``.

    >>> v, low, high = nps_interval([50], [20], [100])
    >>> float(v[0]), round(float(low[0]), 2), round(float(high[0]), 2)
    (30.0, 14.69, 45.31)
    """
    promoters, detractors, n = _as_float(promoters, detractors, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_promoter = promoters / n
        p_detractor = detractors / n
        score = np.where(n > 0, p_promoter - p_detractor, np.nan)
        variance = np.clip((p_promoter + p_detractor - score * score) / n, 0.0, None)
    half = z_value(level) * np.sqrt(variance)
    return (100 * score, 100 * np.clip(score - half, -1.0, 1.0),
            100 * np.clip(score + half, -1.0, 1.0))


def poisson_interval(count: Any, level: float = 0.95) -> Triple:
    """A count with its exact (Garwood) Poisson interval: the uncertainty of the rate
    behind the count, not of the count itself (which is known).

    >>> v, low, high = poisson_interval([10])
    >>> float(v[0]), round(float(low[0]), 2), round(float(high[0]), 2)
    (10.0, 4.8, 18.39)
    """
    (k,) = _as_float(count)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, _per_unique(lambda u: stats.chi2.ppf(alpha / 2, 2 * u), k) / 2,
                       0.0)
        high = _per_unique(lambda u: stats.chi2.ppf(1 - alpha / 2, 2 * u + 2), k) / 2
    return k, low, high


def monomial_delta_interval(n: Any, sums: Any, cross: Any, exponents: Any,
                            n_power: int = 0, level: float = 0.95) -> Triple:
    """A ratio of aggregates with a delta-method normal interval.

    The metric is ``n**n_power * prod(m_j ** e_j)`` where ``m_j = sums[:, j] / n`` are
    per-row means of the components (e.g. ``order_value``, or 1 where ``x`` is set) and
    ``cross[:, j, k]`` the sums of their products. ``sum(a) / count(*)`` is
    ``m_a`` (exponent 1, n_power 0); ``mean(a) / mean(b)`` has four components.
    Rows are the sampling unit; ``n`` is held fixed.

    >>> v, low, high = monomial_delta_interval([3], [[12.0]], [[[56.0]]], [1])  # mean(2, 4, 6)
    >>> float(v[0]), round(float(high[0] - v[0]), 3)
    (4.0, 2.263)
    """
    (n,) = _as_float(n)
    sums = np.asarray(sums, dtype=np.float64)
    cross = np.asarray(cross, dtype=np.float64)
    exponents = np.asarray(exponents, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        means = sums / n[:, None]
        powered = means ** exponents[None, :]
        value = np.prod(powered, axis=1) * n ** n_power
        # d/dm_j of prod m^e = e_j m_j^(e_j - 1) prod_{i != j} m_i^e_i
        gradient = np.empty_like(means)
        for j in range(means.shape[1]):
            others = np.prod(np.delete(powered, j, axis=1), axis=1)
            gradient[:, j] = exponents[j] * means[:, j] ** (exponents[j] - 1) * others
        gradient *= (n ** n_power)[:, None]
        covariance = (cross - sums[:, :, None] * sums[:, None, :] / n[:, None, None]) \
            / (n - 1)[:, None, None]
        variance = np.einsum("gj,gjk,gk->g", gradient, covariance, gradient) / n
        half = z_value(level) * np.sqrt(np.clip(variance, 0.0, None))
    value = np.where((n > 0) & np.isfinite(value), value, np.nan)
    half = np.where(n > 1, half, np.nan)
    return value, value - half, value + half
