"""The other classic R² metrics of R's relaimpo, for comparison with LMG.

All come from the predictor correlation matrix ``Rxx`` and the driver–outcome correlations
``r``, with standardized coefficients ``β = Rxx⁻¹ r`` (Grömping 2006, *Relative importance for
linear regression in R: the package relaimpo*):

- ``first``: ``r_j²``, the R² of the driver alone (ignores overlap; sums to more or less than R²);
- ``last``: the R² lost when the driver is dropped from the full model, ``β_j² / (Rxx⁻¹)_jj``;
- ``betasq``: ``β_j²``, the squared standardized coefficient;
- ``pratt``: ``β_j r_j`` (Pratt 1987); sums to R² but can be negative;
- ``pmvd``: Feldman's (2005) proportional marginal variance decomposition, a weighted average of
  the gains over all orderings that puts more weight on orderings where the drivers that matter
  in the full model come first. It needs all subsets, so it is exact only (≤ ``max_exact``).

Only ``pmvd`` and ``pratt`` (and ``shapley``, ``relative_weights``) share out exactly R².
"""

from __future__ import annotations

import numpy as np

from smokejumper.drivers.covariance import FloatArray

#: Smallest R² still to be explained by the drivers not yet entered, for PMVD weights.
_PMVD_FLOOR = 1e-12


def first(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """R² of each driver alone."""
    return rxy * rxy


def last(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """R² lost when each driver is dropped from the full model."""
    inverse = np.linalg.inv(rxx)
    beta = np.einsum("...ij,...j->...i", inverse, rxy)
    return beta**2 / np.diagonal(inverse, axis1=-2, axis2=-1)


def betasq(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """Squared standardized regression coefficients."""
    beta = _coefficients(rxx, rxy)
    return beta * beta


def pratt(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """Standardized coefficient times the driver's correlation with the outcome."""
    return _coefficients(rxx, rxy) * rxy


def _coefficients(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """Standardized regression coefficients ``Rxx⁻¹ r``."""
    return np.asarray(np.linalg.solve(rxx, rxy[..., None])[..., 0], dtype=np.float64)


def pmvd_from_subsets(r2: FloatArray) -> FloatArray:
    """PMVD from all subsets' R² (``(batch, 2**p)`` → ``(batch, p)``).

    An ordering ``r`` gets weight ``L(r) = Π_{i<p} 1 / (R² - R²(first i drivers of r))``; each
    driver's share is the ``L``-weighted mean of its gain on entry. Sums over orderings are
    built up subset by subset (forward: ways to reach a subset; backward: ways to complete it),
    rescaled at each subset size so that long products neither overflow nor underflow.
    """
    batch, size = r2.shape
    p = size.bit_length() - 1
    full = size - 1
    masks = np.arange(size, dtype=np.int64)
    sizes = np.bitwise_count(masks.astype(np.uint64)).astype(np.int64)
    levels = [masks[sizes == s] for s in range(p + 1)]
    total = r2[:, full : full + 1]
    weight = 1.0 / np.maximum(total - r2, _PMVD_FLOOR)
    weight[:, full] = 1.0

    forward = np.zeros_like(r2)
    forward[:, 0] = 1.0
    log_forward = np.zeros((p + 1, batch))
    for s in range(1, p + 1):
        level = levels[s]
        reach = np.zeros((batch, level.size))
        for j in range(p):
            has = (level >> j) & 1 == 1
            reach[:, has] += forward[:, level[has] ^ (1 << j)]
        reach *= weight[:, level]
        scale = reach.max(axis=1, keepdims=True)
        forward[:, level] = reach / scale
        log_forward[s] = log_forward[s - 1] + np.log(scale[:, 0])

    backward = np.zeros_like(r2)
    backward[:, full] = 1.0
    log_backward = np.zeros((p + 1, batch))
    for s in range(p - 1, -1, -1):
        level = levels[s]
        complete = np.zeros((batch, level.size))
        for j in range(p):
            lacks = (level >> j) & 1 == 0
            above = level[lacks] | (1 << j)
            complete[:, lacks] += weight[:, above] * backward[:, above]
        scale = complete.max(axis=1, keepdims=True)
        backward[:, level] = complete / scale
        log_backward[s] = log_backward[s + 1] + np.log(scale[:, 0])

    log_total = log_forward[p] + np.log(forward[:, full])
    out = np.zeros((batch, p))
    for s in range(p):
        level = levels[s]
        factor = np.exp(log_forward[s] + log_backward[s + 1] - log_total)
        for j in range(p):
            below = level[(level >> j) & 1 == 0]
            above = below | (1 << j)
            paths = forward[:, below] * weight[:, above] * backward[:, above]
            out[:, j] += factor * (paths * (r2[:, above] - r2[:, below])).sum(axis=1)
    return out
