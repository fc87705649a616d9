"""Shapley decomposition of R² (LMG, general dominance): exact over all subsets, or sampled.

Everything works on correlation matrices, batched on a leading axis (one matrix per bootstrap
replicate), so no model is ever refitted over rows.

Exact: the R² of all ``2**p`` driver subsets come from one sweep that adds the drivers in order.
After deciding drivers ``0 .. k-1`` every subset keeps the residual covariances of the drivers
still to come (with each other and with the outcome) given the drivers it holds; adding driver
``k`` is one Schur-complement (Cholesky) step, ``R²(S + k) = R²(S) + c_k² / d_kk``, applied to
all ``2**k`` subsets at once. The work is about ``6 · 2**p`` multiply-adds, so 20 drivers take
well under a second. Each driver's Shapley value is then the weighted mean of its gains
``R²(S + j) - R²(S)`` with weights ``|S|! (p - |S| - 1)! / p!`` (Lindeman, Merenda & Gold 1980;
Budescu's general dominance is the same number).

Sampled: beyond ``max_exact`` drivers, random orderings are sampled in antithetic pairs (an
ordering and its reverse, which lowers the variance) and each driver's gain when it enters is
averaged. Each ordering's gains sum to the full R², so the estimates do too; each driver's Monte
Carlo standard error is the spread of the pair means over the square root of the number of
pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from smokejumper.drivers.covariance import FloatArray, IntArray

#: A pivot (residual variance of a driver given those before it, on the correlation scale)
#: at or below this means the driver adds nothing new; its gain is 0.
PIVOT_TOLERANCE = 1e-10
#: Memory a batch of exact decompositions may use at once.
_EXACT_BYTES = 256 * 2**20
#: Matrix entries (orderings × p × p) the sampled estimator holds at once.
_PERMUTATION_VALUES = 2**20


def subset_r2(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """R² of every driver subset: ``(batch, 2**p)``, bit ``j`` of the index is driver ``j``.

    >>> rxx = np.array([[[1.0, 0.5], [0.5, 1.0]]])
    >>> rxy = np.array([[0.6, 0.4]])
    >>> subset_r2(rxx, rxy).round(4).tolist()
    [[0.0, 0.36, 0.16, 0.3733]]
    """
    batch, p = rxy.shape
    r2 = np.zeros((batch, 1))
    c = rxy[:, None, :].copy()
    d = rxx[:, None, :, :].copy()
    for _ in range(p):
        pivot = d[..., 0, 0]
        usable = pivot > PIVOT_TOLERANCE
        inverse = np.where(usable, 1.0 / np.where(usable, pivot, 1.0), 0.0)
        head = c[..., 0]
        row = d[..., 0, 1:]
        c_rest = c[..., 1:]
        d_rest = d[..., 1:, 1:]
        r2_in = r2 + head * head * inverse
        c_in = c_rest - row * (head * inverse)[..., None]
        d_in = d_rest - row[..., :, None] * (row * inverse[..., None])[..., None, :]
        r2 = np.concatenate([r2, r2_in], axis=1)
        c = np.concatenate([c_rest, c_in], axis=1)
        d = np.concatenate([d_rest, d_in], axis=1)
    return r2


def shapley_from_subsets(r2: FloatArray) -> FloatArray:
    """Each driver's Shapley value from all subsets' R² (``(batch, 2**p)`` → ``(batch, p)``)."""
    batch, size = r2.shape
    p = size.bit_length() - 1
    weights = _order_weights(p)
    out = np.empty((batch, p))
    for j in range(p):
        # Index = (bits above j, bit j, bits below j); dropping bit j keeps each subset's size,
        # which is all the weights depend on.
        split = r2.reshape(batch, 2 ** (p - 1 - j), 2, 2**j)
        gain = split[:, :, 1, :] - split[:, :, 0, :]
        out[:, j] = gain.reshape(batch, -1) @ weights
    return out


def exact_shapley(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """Exact Shapley values for a batch of correlation matrices (``(batch, p)``)."""
    return from_all_subsets(rxx, rxy, shapley_from_subsets)


def from_all_subsets(
    rxx: FloatArray, rxy: FloatArray, reduce: Callable[[FloatArray], FloatArray]
) -> FloatArray:
    """Apply ``reduce`` (all subsets' R² → per-driver values) in memory-bounded batches."""
    batch, p = rxy.shape
    step = max(1, _EXACT_BYTES // _exact_bytes_per_matrix(p))
    parts = [
        reduce(subset_r2(rxx[i : i + step], rxy[i : i + step])) for i in range(0, batch, step)
    ]
    return np.concatenate(parts, axis=0)


def sample_orderings(p: int, samples: int, rng: np.random.Generator) -> IntArray:
    """``samples`` random orderings of ``p`` drivers (rounded up to even): pairs, each reversed."""
    pairs = max(1, math.ceil(samples / 2))
    forward = rng.permuted(np.tile(np.arange(p, dtype=np.int64), (pairs, 1)), axis=1)
    return np.stack([forward, forward[:, ::-1]], axis=1).reshape(2 * pairs, p)


def sampled_shapley(
    rxx: FloatArray, rxy: FloatArray, orderings: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Shapley values estimated from antithetic ``orderings`` (from :func:`sample_orderings`).

    Returns ``(estimates, standard errors)``, each ``(batch, p)``. The same orderings are used
    for every matrix in the batch (common random numbers across bootstrap replicates).
    """
    batch, p = rxy.shape
    estimates = np.empty((batch, p))
    errors = np.empty((batch, p))
    pairs = orderings.shape[0] // 2
    chunk_size = 2 * max(8, _PERMUTATION_VALUES // (2 * p * p))  # even: pairs stay together
    for b in range(batch):
        pair_means = np.empty((pairs, p))
        for start in range(0, 2 * pairs, chunk_size):
            chunk = orderings[start : start + chunk_size]
            gains = _ordered_gains(rxx[b], rxy[b], chunk)
            pair_means[start // 2 : start // 2 + chunk.shape[0] // 2] = (
                gains.reshape(-1, 2, p).mean(axis=1)
            )
        estimates[b] = pair_means.mean(axis=0)
        spread = pair_means.std(axis=0, ddof=1) if pairs > 1 else np.full(p, np.nan)
        errors[b] = spread / math.sqrt(pairs)
    return estimates, errors


def _ordered_gains(rxx: FloatArray, rxy: FloatArray, orderings: IntArray) -> FloatArray:
    """Each driver's R² gain when it enters, for each ordering: ``(orderings, p)``.

    With ``L`` the Cholesky factor of the drivers' correlations in entry order, ``z = L⁻¹ r``
    holds the outcome's correlations with the successive residualised drivers, so the gains
    are ``z²``. A (numerically) singular ordering falls back to the sweep with its tolerance.
    """
    d = rxx[orderings[:, :, None], orderings[:, None, :]]
    c = rxy[orderings]
    try:
        lower = np.linalg.cholesky(d)
    except np.linalg.LinAlgError:
        entered = _swept_gains(d, c)
    else:
        m, p = c.shape
        z = np.empty((m, p))
        for step in range(p):
            known = np.einsum("mi,mi->m", lower[:, step, :step], z[:, :step])
            z[:, step] = (c[:, step] - known) / lower[:, step, step]
        entered = z * z
    gains = np.empty_like(entered)
    np.put_along_axis(gains, orderings, entered, axis=1)
    return gains


def _swept_gains(d: FloatArray, c: FloatArray) -> FloatArray:
    """Gains in entry order by Schur-complement sweeps; drivers adding nothing gain 0."""
    m, p = c.shape
    entered = np.empty((m, p))
    for step in range(p):
        pivot = d[:, 0, 0]
        usable = pivot > PIVOT_TOLERANCE
        inverse = np.where(usable, 1.0 / np.where(usable, pivot, 1.0), 0.0)
        head = c[:, 0]
        row = d[:, 0, 1:]
        entered[:, step] = head * head * inverse
        c = c[:, 1:] - row * (head * inverse)[:, None]
        d = d[:, 1:, 1:] - row[:, :, None] * (row * inverse[:, None])[:, None, :]
    return entered


def _order_weights(p: int) -> FloatArray:
    """Shapley weight of each subset of the other ``p - 1`` drivers, by bit pattern."""
    sizes = np.bitwise_count(np.arange(2 ** (p - 1), dtype=np.uint64)).astype(np.int64)
    by_size = np.array([1.0 / (p * math.comb(p - 1, s)) for s in range(p)])
    return by_size[sizes]


def _exact_bytes_per_matrix(p: int) -> int:
    peak = max(2**k * (p - k) ** 2 for k in range(p + 1))
    return 8 * (3 * peak + 4 * 2**p)

