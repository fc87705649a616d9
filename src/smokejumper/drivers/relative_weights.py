"""Johnson's relative weights: R² shared out through the closest orthogonal drivers.

Johnson (2000): with the predictor correlation matrix ``Rxx = Q Λ Qᵀ``, the orthogonal variables
closest (in least squares) to the standardized drivers are ``Z = X Q Λ^{-1/2} Qᵀ``, and the drivers
load on them through ``Λ* = Q Λ^{1/2} Qᵀ``. The outcome's regression on ``Z`` has weights
``β* = Λ*⁻¹ r_xy``, and driver ``j``'s raw relative weight is ``ε_j = Σ_k Λ*_jk² β*_k²``. The raw
weights sum to the model R²; divided by it they are the rescaled weights (R package ``rwa``).
"""

from __future__ import annotations

import numpy as np

from smokejumper.drivers.covariance import FloatArray


def relative_weights(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    """Raw relative weights for a batch of correlation matrices (``(batch, p)``).

    >>> rxx = np.array([[[1.0, 0.5], [0.5, 1.0]]])
    >>> rxy = np.array([[0.6, 0.4]])
    >>> weights = relative_weights(rxx, rxy)
    >>> weights.round(4).tolist(), round(float(weights.sum()), 4)
    ([[0.2867, 0.0867]], 0.3733)
    """
    eigenvalues, eigenvectors = np.linalg.eigh(rxx)
    roots = np.sqrt(np.clip(eigenvalues, 0.0, None))
    loadings = (eigenvectors * roots[..., None, :]) @ np.swapaxes(eigenvectors, -1, -2)
    rotated = np.einsum("...ji,...j->...i", eigenvectors, rxy)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(roots > 0, rotated / roots, 0.0)
    beta = np.einsum("...ij,...j->...i", eigenvectors, scaled)
    return np.einsum("...jk,...k->...j", loadings**2, beta**2)
