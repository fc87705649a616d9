"""One pass over the rows to the moments behind the correlation matrix.

Every importance measure in this package is a function of the correlation matrix of the drivers
and the outcome, so the rows are read once, into sums and cross products; nothing refits a model
row by row.

Missing values:

- ``"listwise"`` (the default) drops every row with a missing value in the outcome or any driver,
  as R's ``lm()`` does and as the published reference values assume. All correlations then come
  from the same rows, so the matrix is a proper correlation matrix.
- ``"pairwise"`` computes each correlation from the rows where both of its columns are observed
  (R's ``cor(use="pairwise.complete.obs")``). It keeps more data when gaps are scattered, but the
  matrix can fail to be positive definite; that is reported as an error, not patched.

Bootstrap: resampling rows means recomputing the cross products. With at most ``max_units`` rows
each row is a resampling unit (the ordinary bootstrap). With more, rows are dealt at random
(seeded) into equal blocks and the blocks are resampled: the block sums are independent and
identically distributed, the statistics are smooth functions of their means, and so resampling
blocks estimates the same sampling distribution while a replicate costs one small weighted sum
over the blocks' moments instead of a pass over a million rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from smokejumper.errors import DriverError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Missing = Literal["listwise", "pairwise"]

#: Above this ratio of squared mean to variance, raw cross products lose digits to cancellation
#: and the pass is redone on centred data.
_CANCELLATION_RATIO = 1e6
#: Bytes of row data gathered at once when building resampling units.
_GATHER_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Moments:
    """Sums behind a covariance matrix, for one set of rows or a stack of them.

    Listwise: ``count`` has shape ``(...)``, ``sums`` ``(..., q)``, ``cross`` ``(..., q, q)``.
    Pairwise: all have shape ``(..., q, q)``; entry ``[i, j]`` sums over the rows where columns
    ``i`` and ``j`` are both observed, and ``squares[i, j]`` is the sum of ``x_i ** 2`` there.
    Values are of the data minus ``shift`` (a fixed centre, for numerical accuracy).
    """

    count: FloatArray
    sums: FloatArray
    cross: FloatArray
    squares: FloatArray | None = None

    @property
    def pairwise(self) -> bool:
        """Whether these are pairwise-complete moments."""
        return self.squares is not None

    def combine(self, weights: FloatArray) -> Moments:
        """Weighted sums over the leading (unit) axis: ``weights`` is ``(replicates, units)``."""

        def weigh(array: FloatArray) -> FloatArray:
            flat = array.reshape(array.shape[0], -1)
            return (weights @ flat).reshape((weights.shape[0],) + array.shape[1:])

        return Moments(
            count=weigh(self.count),
            sums=weigh(self.sums),
            cross=weigh(self.cross),
            squares=None if self.squares is None else weigh(self.squares),
        )


@dataclass(frozen=True)
class Correlation:
    """Correlation matrices with the variances and row counts they came from."""

    matrix: FloatArray  #: ``(..., q, q)``
    variances: FloatArray  #: ``(..., q)``, sample variances (denominator n - 1)
    n: FloatArray  #: ``(...)``, rows used (pairwise: the fewest behind any entry)


def row_moments(data: FloatArray, missing: Missing = "listwise") -> Moments:
    """Moments of all rows of ``data`` (``n × q``; listwise: no missing values left).

    The fast path is one BLAS product ``XᵀX`` on the raw values; when a column's mean is so
    large against its spread that this would lose digits, the pass is redone on centred data.

    >>> m = row_moments(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 7.0]]))
    >>> correlation(m).matrix.round(4).tolist()
    [[1.0, 0.9934], [0.9934, 1.0]]
    """
    if missing == "pairwise" and np.isnan(data).any():
        return _pairwise_moments(data, _centre(data))
    n = data.shape[0]
    sums = data.sum(axis=0)
    cross = data.T @ data
    mean = sums / n
    spread = np.diag(cross) / n - mean**2
    if np.any(mean**2 > _CANCELLATION_RATIO * np.maximum(spread, 0.0)):
        centred = data - mean
        sums = centred.sum(axis=0)
        cross = centred.T @ centred
    return Moments(count=np.asarray(float(n)), sums=sums, cross=cross)


def correlation(moments: Moments) -> Correlation:
    """Correlation matrices (and variances) from moments, for any leading shape."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if moments.squares is None:
            count = moments.count[..., None, None]
            mean = moments.sums / moments.count[..., None]
            cov = (moments.cross - count * mean[..., :, None] * mean[..., None, :]) / (count - 1)
            variances = np.diagonal(cov, axis1=-2, axis2=-1).copy()
            sd = np.sqrt(variances)
            matrix = cov / (sd[..., :, None] * sd[..., None, :])
            n = moments.count.astype(np.float64)
        else:
            count = moments.count
            mean_i = moments.sums / count
            mean_j = np.swapaxes(mean_i, -1, -2)
            cov = (moments.cross - count * mean_i * mean_j) / (count - 1)
            var_i = (moments.squares - count * mean_i**2) / (count - 1)
            var_j = np.swapaxes(var_i, -1, -2)
            matrix = cov / np.sqrt(var_i * var_j)
            variances = np.diagonal(cov, axis1=-2, axis2=-1).copy()
            n = count.min(axis=(-1, -2))
    q = matrix.shape[-1]
    matrix[..., np.arange(q), np.arange(q)] = 1.0
    return Correlation(matrix=matrix, variances=variances, n=n)


@dataclass(frozen=True)
class ResamplingUnits:
    """How rows are grouped into bootstrap units: single rows, or random equal blocks."""

    blocks: IntArray | None  #: ``(units, rows per block)`` row indices, -1 pads; None: rows
    n_units: int

    @property
    def rows_per_unit(self) -> int:
        """Rows in each unit (the last block may hold fewer)."""
        return 1 if self.blocks is None else int(self.blocks.shape[1])


def resampling_units(n: int, rng: np.random.Generator, max_units: int) -> ResamplingUnits:
    """Single rows when ``n <= max_units``, else rows dealt at random into equal blocks."""
    if n <= max_units:
        return ResamplingUnits(blocks=None, n_units=n)
    per_block = math.ceil(n / max_units)
    n_units = math.ceil(n / per_block)
    order = np.full(n_units * per_block, -1, dtype=np.int64)
    order[:n] = rng.permutation(n)
    return ResamplingUnits(blocks=order.reshape(n_units, per_block), n_units=n_units)


def iter_unit_groups(
    units: ResamplingUnits, arrays: tuple[FloatArray, ...]
) -> Iterator[tuple[slice, tuple[FloatArray, ...], FloatArray]]:
    """Yield ``(unit slice, arrays gathered as (units, rows, ...), row-present mask)``.

    Padding rows are zero in every gathered array and 0 in the mask, so sums ignore them.
    """
    row_bytes = sum(8 * int(np.prod(a.shape[1:], dtype=np.int64)) for a in arrays) or 8
    if units.blocks is None:
        n = units.n_units
        step = max(1, _GATHER_BYTES // row_bytes)
        for start in range(0, n, step):
            stop = min(n, start + step)
            gathered = tuple(a[start:stop, None] for a in arrays)
            yield slice(start, stop), gathered, np.ones((stop - start, 1))
        return
    per_block = units.rows_per_unit
    step = max(1, _GATHER_BYTES // (row_bytes * per_block))
    for start in range(0, units.n_units, step):
        stop = min(units.n_units, start + step)
        index = units.blocks[start:stop]
        present = index >= 0
        safe = np.where(present, index, 0)
        parts = []
        for array in arrays:
            part = array[safe]
            part[~present] = 0.0
            parts.append(part)
        yield slice(start, stop), tuple(parts), present.astype(np.float64)


def unit_moments(data: FloatArray, units: ResamplingUnits, missing: Missing) -> Moments:
    """Moments of each resampling unit, stacked on a leading axis of length ``n_units``."""
    centre = _centre(data)
    q = data.shape[1]
    pairwise = missing == "pairwise" and bool(np.isnan(data).any())
    k = units.n_units
    count = np.zeros((k, q, q)) if pairwise else np.zeros(k)
    sums = np.zeros((k, q, q)) if pairwise else np.zeros((k, q))
    cross = np.zeros((k, q, q))
    squares = np.zeros((k, q, q)) if pairwise else None
    shifted = np.subtract(data, centre, order="C")  # whole rows are gathered below
    for part, (values,), present in iter_unit_groups(units, (shifted,)):
        if not pairwise:
            count[part] = present.sum(axis=1)
            sums[part] = values.sum(axis=1)
            cross[part] = np.swapaxes(values, 1, 2) @ values
            continue
        observed = (~np.isnan(values)).astype(np.float64) * present[..., None]
        zeroed = np.where(observed > 0, values, 0.0)
        observed_t = np.swapaxes(observed, 1, 2)
        count[part] = observed_t @ observed
        sums[part] = np.swapaxes(zeroed, 1, 2) @ observed
        cross[part] = np.swapaxes(zeroed, 1, 2) @ zeroed
        assert squares is not None
        squares[part] = np.swapaxes(zeroed**2, 1, 2) @ observed
        del observed_t
    return Moments(count=count, sums=sums, cross=cross, squares=squares)


def unit_sums(
    units: ResamplingUnits,
    arrays: tuple[FloatArray, ...],
    reduce: Callable[[tuple[FloatArray, ...]], FloatArray],
    shape: tuple[int, ...],
) -> FloatArray:
    """Per-unit sums of a row-wise statistic.

    ``reduce`` maps the gathered arrays of a group of units to an array ``(units, *shape)``.
    """
    out = np.zeros((units.n_units, *shape))
    for part, gathered, _present in iter_unit_groups(units, arrays):
        out[part] = reduce(gathered)
    return out


def _centre(data: FloatArray) -> FloatArray:
    """Column means, ignoring missing values (a shift for accuracy, not a statistic)."""
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(data, axis=0) if np.isnan(data).any() else data.mean(axis=0)
    return np.nan_to_num(centre)


def _pairwise_moments(data: FloatArray, centre: FloatArray) -> Moments:
    shifted = data - centre
    observed = (~np.isnan(shifted)).astype(np.float64)
    zeroed = np.where(observed > 0, shifted, 0.0)
    return Moments(
        count=observed.T @ observed,
        sums=zeroed.T @ observed,
        cross=zeroed.T @ zeroed,
        squares=(zeroed**2).T @ observed,
    )


def check_correlation(corr: Correlation, names: list[str]) -> None:
    """Raise :class:`DriverError` for a matrix no importance measure can use."""
    matrix = corr.matrix
    if not np.all(np.isfinite(matrix)):
        bad = sorted({names[i] for i, j in zip(*np.nonzero(~np.isfinite(matrix)), strict=True)
                      if i != j})
        raise DriverError(
            "cannot correlate " + ", ".join(bad) + ": too few rows observe these columns together"
        )
    q = len(names)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix[: q - 1, : q - 1])
    if eigenvalues[0] < -1e-10:
        raise DriverError(
            "the pairwise correlation matrix is not positive definite (missing values are too "
            "uneven across drivers); use missing='listwise'"
        )
    if eigenvalues[0] < 1e-10:
        loading = np.abs(eigenvectors[:, 0])
        involved = [names[i] for i in np.flatnonzero(loading > 0.1 * loading.max())]
        raise DriverError(
            "drivers are perfectly collinear (one is a linear combination of the others): "
            + ", ".join(involved)
        )
