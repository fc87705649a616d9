"""Level shifts that persist, weighed by sample size, with false alarms controlled.

For each series (one metric in one segment, per period: count, sum and sum of squares of
per-response scores) :func:`detect_shifts` finds the window ``[start, end)`` of at least
``min_window`` periods whose mean score differs most, in the bad direction, from the
periods outside it (an *epidemic* change point: a drop that may or may not have recovered
by the last period). Its statistic is the two-sample z of the window against the rest,
with the score variance pooled over the series (the multinomial variance for NPS, the
binomial one for a share) and inflated by the series' own overdispersion, measured
robustly from period-to-period differences; a 5-point NPS drop on 40 responses is then
noise, on 4,000 smoke. The maximum over windows is turned into a p-value with the
effective number of windows, calibrated once per series length by simulation, and
:func:`benjamini_hochberg` controls the false-discovery rate across every series a scan
looks at.

>>> rng = np.random.default_rng(3)
>>> n = np.full((1, 30), 400.0)
>>> means = np.where(np.arange(30) >= 20, 20.0, 35.0)           # a 15-point NPS fall
>>> total = rng.normal(means * 400, 80 * 20)[None, :]
>>> squares = (80.0 ** 2 + means ** 2)[None, :] * 400
>>> found = detect_shifts(n, total, squares, DetectorConfig(), higher_is_better=True)
>>> int(found.start[0]), int(found.end[0]), bool(found.p_value[0] < 1e-6)
(20, 30, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

from smokejumper.errors import SmokeError


@dataclass(frozen=True)
class DetectorConfig:
    """How a scan decides that a series shows smoke (serialisable; no data-fitted values).

    ``fdr``: false-discovery rate across all series of a scan (Benjamini–Hochberg).
    ``min_baseline``: periods before a window that make its baseline.
    ``min_window``: shortest window: a drop must persist this many periods.
    ``min_n``: fewest responses in the window and outside it.
    ``min_effect``: smallest shift that matters, in the metric's units (NPS points, %).
    ``chunk``: series evaluated at once (bounds memory).
    ``max_windows``: beyond this many windows (long daily series), window lengths are
    tried on a geometric grid (2, 3, 4, 6, 8, 11... periods) instead of every length.
    ``decline_periods``: how far back a slow decline may have started.
    """

    fdr: float = 0.01
    min_baseline: int = 4
    min_window: int = 2
    min_n: int = 30
    min_effect: float = 3.0
    chunk: int = 400
    max_windows: int = 2000
    decline_periods: int = 26

    def __post_init__(self) -> None:
        if not 0 < self.fdr < 1:
            raise SmokeError("fdr must be between 0 and 1")
        if self.min_baseline < 1 or self.min_window < 1:
            raise SmokeError("min_baseline and min_window must be at least 1")
        if self.min_n < 1:
            raise SmokeError("min_n must be at least 1")


@dataclass(frozen=True)
class Shifts:
    """The best window of each series (arrays, one element per series).

    ``start``/``end``: period indices of the window (end excluded); ``z``: its statistic
    (positive: worse); ``p_value``: adjusted for the windows tried; ``inside``/``outside``:
    mean score in and out of the window; ``before``: mean score before it; ``n_inside``,
    ``n_before``: responses; ``variance``: score variance per response, overdispersion in.
    """

    start: np.ndarray
    end: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    inside: np.ndarray
    outside: np.ndarray
    before: np.ndarray
    n_inside: np.ndarray
    n_before: np.ndarray
    variance: np.ndarray


def windows(periods: int, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every (start, end) pair a series of ``periods`` periods is tested on: windows of at
    least ``min_window`` periods, and the latest period alone (a drop that just began).

    >>> starts, ends = windows(7, DetectorConfig(min_baseline=4, min_window=2))
    >>> list(zip(starts.tolist(), ends.tolist()))
    [(4, 6), (4, 7), (5, 7), (6, 7)]
    """
    pairs = [(a, b) for a in range(config.min_baseline, periods - config.min_window + 1)
             for b in range(a + config.min_window, periods + 1)]
    if len(pairs) > config.max_windows:  # long series: a geometric grid of lengths
        lengths = np.unique(np.round(np.geomspace(
            config.min_window, max(periods - config.min_baseline, config.min_window),
            24)).astype(int))
        pairs = [(a, min(a + int(length), periods))
                 for a in range(config.min_baseline, periods - config.min_window + 1)
                 for length in lengths if a + length <= periods or length == lengths[-1]]
        pairs = sorted(set(pairs))
    if periods - 1 >= config.min_baseline and (periods - 1, periods) not in pairs:
        pairs.append((periods - 1, periods))  # the latest period alone: early warning
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    array = np.asarray(pairs, dtype=np.int64)
    return array[:, 0], array[:, 1]


def overdispersion(n: np.ndarray, total: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """How much more the period means vary than sampling alone explains (>= 1), from the
    median squared standardised difference of consecutive periods (robust to a shift)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        both = (n[:, 1:] > 0) & (n[:, :-1] > 0)
        spread = variance[:, None] * (1 / n[:, 1:] + 1 / n[:, :-1])
        ratio = np.where(both & (spread > 0), (mean[:, 1:] - mean[:, :-1]) ** 2 / spread,
                         np.nan)
    enough = np.sum(np.isfinite(ratio), axis=1) >= 8
    median = np.full(n.shape[0], np.nan)
    if enough.any():
        median[enough] = np.nanmedian(ratio[enough], axis=1)
    chi2_median = float(stats.chi2.ppf(0.5, 1))
    return np.where(enough, np.fmax(1.0, median / chi2_median), 1.0)


def series_variance(n: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """Each series' score variance per response, inflated by its overdispersion."""
    count, whole = n.sum(axis=1), total.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.clip((squares.sum(axis=1) - whole * whole / count) / (count - 1),
                           0.0, None)
    variance = np.where(np.isfinite(variance), variance, 0.0)
    return variance * overdispersion(n, total, variance)


def detect_shifts(n: np.ndarray, total: np.ndarray, squares: np.ndarray,
                  config: DetectorConfig, higher_is_better: bool = True) -> Shifts:
    """The best window of every series and its p-value (see the module docstring)."""
    n, total, squares = (np.asarray(a, dtype=np.float64) for a in (n, total, squares))
    series, periods = n.shape
    variance = series_variance(n, total, squares)
    starts, ends = windows(periods, config)
    sign = -1.0 if higher_is_better else 1.0
    cum_n = np.concatenate([np.zeros((series, 1)), np.cumsum(n, axis=1)], axis=1)
    cum_s = np.concatenate([np.zeros((series, 1)), np.cumsum(total, axis=1)], axis=1)
    tests = effective_windows(periods, config.min_baseline, config.min_window,
                              max_windows=config.max_windows)
    results = []
    for only_recent, count in ((False, tests[0]), (True, tests[1])):
        out = {name: np.full(series, np.nan) for name in
               ("z", "inside", "outside", "before", "n_inside", "n_before")}
        best_start = np.zeros(series, dtype=np.int64)
        best_end = np.zeros(series, dtype=np.int64)
        if starts.size:
            for low in range(0, series, config.chunk):
                rows = slice(low, min(series, low + config.chunk))
                _best_windows(cum_n[rows], cum_s[rows], variance[rows], starts, ends, sign,
                              config, out, best_start, best_end, rows, only_recent)
        z = np.where(np.isfinite(out["z"]), out["z"], -np.inf)
        results.append((window_p_value(z, count), out, best_start, best_end))
    # two looks (any window; a window still open at the last period): Bonferroni
    recent = results[1][0] < results[0][0]
    p_value = np.clip(2 * np.fmin(results[0][0], results[1][0]), 0.0, 1.0)

    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(recent, b, a)

    return Shifts(start=pick(results[0][2], results[1][2]),
                  end=pick(results[0][3], results[1][3]),
                  z=pick(results[0][1]["z"], results[1][1]["z"]), p_value=p_value,
                  **{name: pick(results[0][1][name], results[1][1][name])
                     for name in ("inside", "outside", "before", "n_inside", "n_before")},
                  variance=variance)


def _best_windows(cum_n: np.ndarray, cum_s: np.ndarray, variance: np.ndarray,
                  starts: np.ndarray, ends: np.ndarray, sign: float, config: DetectorConfig,
                  out: dict[str, np.ndarray], best_start: np.ndarray, best_end: np.ndarray,
                  rows: slice, only_recent: bool = False) -> None:
    n_in = cum_n[:, ends] - cum_n[:, starts]
    s_in = cum_s[:, ends] - cum_s[:, starts]
    n_before = cum_n[:, starts]
    n_out, s_out = n_before, cum_s[:, starts]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_in, mean_out = s_in / n_in, s_out / n_out
        z = sign * (mean_in - mean_out) / np.sqrt(variance[:, None] * (1 / n_in + 1 / n_out))
    valid = (n_in >= config.min_n) & (n_out >= config.min_n) & (n_before >= config.min_n) \
        & np.isfinite(z) & (variance[:, None] > 0)
    z = np.where(valid, z, -np.inf)
    if only_recent:
        z = np.where(ends[None, :] == cum_n.shape[1] - 1, z, -np.inf)
    pick = np.argmax(z, axis=1)
    take = np.arange(z.shape[0])
    chosen = z[take, pick]
    out["z"][rows] = np.where(np.isfinite(chosen), chosen, np.nan)
    out["inside"][rows] = mean_in[take, pick]
    out["outside"][rows] = mean_out[take, pick]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["before"][rows] = cum_s[take, starts[pick]] / n_before[take, pick]
    out["n_inside"][rows] = n_in[take, pick]
    out["n_before"][rows] = n_before[take, pick]
    best_start[rows] = starts[pick]
    best_end[rows] = ends[pick]


@lru_cache(maxsize=64)
def effective_windows(periods: int, min_baseline: int, min_window: int,
                      simulations: int = 2000, seed: int = 20260101,
                      max_windows: int = 2000) -> tuple[float, float]:
    """How many independent tests the windows of a series are worth (all windows; those
    still open at the last period): calibrated so that a normal tail with that many
    tests matches the simulated null maximum's 99th percentile."""
    config = DetectorConfig(min_baseline=min_baseline, min_window=min_window, min_n=1,
                            max_windows=max_windows)
    starts, ends = windows(periods, config)
    if starts.size == 0:
        return 1.0, 1.0
    rng = np.random.default_rng(seed)
    n = np.full((simulations, periods), 100.0)
    total = rng.normal(0.0, 10.0, size=(simulations, periods))  # sd 1 per response
    cum_n = np.concatenate([np.zeros((simulations, 1)), np.cumsum(n, axis=1)], axis=1)
    cum_s = np.concatenate([np.zeros((simulations, 1)), np.cumsum(total, axis=1)], axis=1)
    counts = []
    for only_recent in (False, True):
        out = {name: np.full(simulations, np.nan) for name in
               ("z", "inside", "outside", "before", "n_inside", "n_before")}
        for low in range(0, simulations, 250):
            rows = slice(low, min(simulations, low + 250))
            _best_windows(cum_n[rows], cum_s[rows], np.ones(rows.stop - rows.start), starts,
                          ends, 1.0, config, out, np.zeros(simulations, dtype=np.int64),
                          np.zeros(simulations, dtype=np.int64), rows, only_recent)
        quantile = float(np.quantile(out["z"], 0.99))
        counts.append(max(1.0, 0.01 / float(stats.norm.sf(quantile))))
    return counts[0], counts[1]


def window_p_value(z: np.ndarray, tests: float) -> np.ndarray:
    """The p-value of a series' best-window z, adjusted for ``tests`` effective windows.

    >>> float(window_p_value(np.array([3.0]), 1.0)[0]).__round__(5)
    0.00135
    """
    tail = stats.norm.sf(z)
    return np.clip(-np.expm1(tests * np.log1p(-np.clip(tail, 0.0, 1 - 1e-16))), 0.0, 1.0)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN counts as 1.

    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.where(np.isfinite(p_values), p_values, 1.0)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(adjusted, 0.0, 1.0)
    return q


@dataclass(frozen=True)
class Declines:
    """The steepest recent decline of each series (arrays, one element per series).

    ``start``: first period of the trailing window the trend was fitted on (it runs to
    the last period); ``slope``: change per period (metric units); ``z``: the slope's
    standardised size (positive: worsening); ``p_value``: adjusted for the window
    lengths tried; ``drop``: the fitted change over the window.
    """

    start: np.ndarray
    slope: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    drop: np.ndarray


def detect_declines(n: np.ndarray, total: np.ndarray, squares: np.ndarray,
                    max_length: int = 26, min_length: int = 4, higher_is_better: bool = True,
                    min_n: int = 30) -> Declines:
    """Slow declines: for each candidate start ``s`` in the last ``max_length`` periods
    (at least ``min_length`` before the end), a weighted least-squares fit of the period
    means to a flat line that bends at ``s`` and then moves linearly to the last period
    (weights ``n_t / variance``, variance per response with overdispersion, as for
    shifts); the steepest worsening bend of each series, Bonferroni-adjusted over the
    starts tried.

    >>> t = np.arange(30)
    >>> n = np.full((2, 30), 300.0)
    >>> means = np.vstack([np.where(t >= 14, 30 - 1.5 * (t - 14), 30.0), np.full(30, 30.0)])
    >>> total, squares = means * n, (70.0 ** 2 + means ** 2) * n
    >>> found = detect_declines(n, total, squares)
    >>> bool(found.p_value[0] < 1e-4), bool(found.p_value[1] > 0.05), int(found.start[0])
    (True, True, 14)
    """
    n, total, squares = (np.asarray(a, dtype=np.float64) for a in (n, total, squares))
    series, periods = n.shape
    variance = series_variance(n, total, squares)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, 0.0)
    sign = -1.0 if higher_is_better else 1.0
    starts = range(max(1, periods - max_length), periods - min_length + 1)
    best_z = np.full(series, -np.inf)
    best_slope = np.full(series, np.nan)
    best_start = np.zeros(series, dtype=np.int64)
    t = np.arange(periods, dtype=np.float64)[None, :]
    w_sum = n.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        y_bar = (n * mean).sum(axis=1, keepdims=True) / w_sum
    for start in starts:
        x = np.maximum(t - start, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_bar = (n * x).sum(axis=1, keepdims=True) / w_sum
            sxx = (n * (x - x_bar) ** 2).sum(axis=1)
            slope = (n * (x - x_bar) * (mean - y_bar)).sum(axis=1) / sxx
            z = sign * slope / np.sqrt(variance / sxx)
        after = n[:, start:].sum(axis=1)
        valid = (after >= min_n) & (sxx > 0) & (variance > 0) & np.isfinite(z)
        z = np.where(valid, z, -np.inf)
        better = z > best_z
        best_z = np.where(better, z, best_z)
        best_start = np.where(better, start, best_start)
        best_slope = np.where(better, slope, best_slope)
    tests = max(len(starts), 1)
    found = np.isfinite(best_z)
    p_value = np.where(found, np.clip(stats.norm.sf(np.where(found, best_z, 0.0)) * tests,
                                      0.0, 1.0), 1.0)
    drop = best_slope * (periods - 1 - best_start)
    return Declines(start=best_start, slope=best_slope, z=np.where(found, best_z, np.nan),
                    p_value=p_value, drop=drop)
