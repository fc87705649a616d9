"""Key drivers of a yes/no outcome (detractor, churned): decomposition on the latent scale.

Choice: a logistic regression describes a latent ``y* = xᵀβ + ε`` with ``ε`` standard logistic
(variance ``π²/3``) and ``y = 1`` when ``y* > 0``. One logistic fit on standardized drivers gives
``β``; the latent variable's implied covariances are ``Cov(x, y*) = Rxx β`` and
``Var(y*) = βᵀ Rxx β + π²/3``. The full-model R² of that latent regression is McKelvey & Zavoina's
pseudo-R² (which tracks the linear R² of the latent variable most closely of the pseudo-R²s, and
is the one Azen & Traxel 2009 recommend for dominance analysis of logistic models). The implied
correlation matrix then goes through exactly the same Shapley or relative-weights code as a
linear outcome, so importances sum to the McKelvey–Zavoina R².

Why not McFadden's R² with one refit per subset: that is ``2**p`` logistic fits over all rows
(32,768 fits for 15 drivers), which a covariance-based design exists to avoid. The price of the
latent route is that a subset's R² is that of the best linear predictor of ``y*`` from the
subset, not of a logistic model refitted on it; rankings agree, magnitudes are on the latent
scale.

Bootstrap: each replicate takes one Newton step from the full-sample fit using the replicate's
weighted score and information (the one-step bootstrap, Moulton & Zeger 1991), both of which are
sums over resampling units computed once; a replicate costs no pass over the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smokejumper.drivers.covariance import FloatArray, ResamplingUnits, unit_sums
from smokejumper.errors import DriverError

#: Variance of the standard logistic distribution.
LOGISTIC_VARIANCE = math.pi**2 / 3
#: A standardized coefficient this large means the classes are (almost) separated.
_SEPARATION = 30.0
_ROW_CHUNK = 262_144


@dataclass(frozen=True)
class LogisticFit:
    """A logistic regression on standardized drivers (``(x - mean) / sd``, full sample)."""

    intercept: float
    coefficients: FloatArray  #: per driver, per standard deviation
    iterations: int


def fit_logistic(standardized: FloatArray, outcome: FloatArray, max_iterations: int = 50
                 ) -> LogisticFit:
    """Maximum-likelihood logistic regression by Newton's method (with step halving).

    >>> x = np.array([[-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5], [0.2]])
    >>> y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    >>> round(float(fit_logistic(x, y).coefficients[0]), 3)
    2.07
    """
    n, p = standardized.shape
    rate = float(outcome.mean())
    beta = np.zeros(p + 1)
    beta[0] = math.log(rate / (1.0 - rate))
    deviance = _deviance(standardized, outcome, beta)
    for iteration in range(1, max_iterations + 1):
        gradient, information = _score(standardized, outcome, beta)
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError as error:
            raise DriverError("the logistic model cannot be fitted: its information matrix is "
                              "singular (a driver is constant within an outcome class?)") from error
        candidate = beta + step
        new_deviance = _deviance(standardized, outcome, candidate)
        halvings = 0
        while new_deviance > deviance + 1e-9 * max(1.0, abs(deviance)) and halvings < 30:
            step /= 2
            candidate = beta + step
            new_deviance = _deviance(standardized, outcome, candidate)
            halvings += 1
        beta, deviance = candidate, new_deviance
        if np.max(np.abs(beta[1:])) > _SEPARATION:
            raise DriverError(
                "the outcome is (almost) perfectly separated by the drivers, so logistic "
                "coefficients run off to infinity; drop the driver that gives the answer away"
            )
        if np.max(np.abs(step)) < 1e-10:
            return LogisticFit(float(beta[0]), beta[1:].copy(), iteration)
    raise DriverError(f"the logistic model did not converge in {max_iterations} iterations")


def latent_correlation(rxx: FloatArray, coefficients: FloatArray) -> FloatArray:
    """Correlation matrix of the drivers and the latent outcome (last), batched.

    >>> latent = latent_correlation(np.eye(2)[None], np.array([[1.0, 0.0]]))
    >>> latent.round(3).tolist()[0][2]
    [0.483, 0.0, 1.0]
    """
    explained = np.einsum("...i,...ij,...j->...", coefficients, rxx, coefficients)
    latent_sd = np.sqrt(explained + LOGISTIC_VARIANCE)
    rxy = np.einsum("...ij,...j->...i", rxx, coefficients) / latent_sd[..., None]
    p = rxx.shape[-1]
    out = np.empty(rxx.shape[:-2] + (p + 1, p + 1))
    out[..., :p, :p] = rxx
    out[..., :p, p] = rxy
    out[..., p, :p] = rxy
    out[..., p, p] = 1.0
    return out


def one_step_coefficients(
    fit: LogisticFit,
    standardized: FloatArray,
    outcome: FloatArray,
    units: ResamplingUnits,
    weights: FloatArray,
) -> FloatArray:
    """Coefficients for each bootstrap replicate (``weights``: replicates × units), one step.

    Coefficients are per full-sample standard deviation; the caller rescales them by each
    replicate's own standard deviations.
    """
    p = standardized.shape[1]
    beta = np.concatenate([[fit.intercept], fit.coefficients])

    def score_parts(gathered: tuple[FloatArray, ...]) -> FloatArray:
        x, y, present = gathered
        design = np.concatenate([present[..., None], x], axis=-1)
        prob = _expit(design @ beta)
        residual = (y - prob) * present
        variance = prob * (1 - prob) * present
        gradient = np.einsum("kmi,km->ki", design, residual)
        information = np.einsum("kmi,km,kmj->kij", design, variance, design)
        return np.concatenate([gradient, information.reshape(len(x), -1)], axis=1)

    q = p + 1
    present = np.ones(standardized.shape[0])
    parts = unit_sums(units, (standardized, outcome, present), score_parts, (q + q * q,))
    totals = weights @ parts
    gradient = totals[:, :q]
    information = totals[:, q:].reshape(-1, q, q)
    try:
        steps = np.linalg.solve(information, gradient[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a degenerate replicate: NaN, dropped by the caller
        steps = np.stack([_solve_or_nan(h, g) for h, g in zip(information, gradient,
                                                                   strict=True)])
    return (beta + steps)[:, 1:]


def _solve_or_nan(matrix: FloatArray, vector: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.solve(matrix, vector), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.full(vector.shape, np.nan)


def _expit(eta: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def _score(x: FloatArray, y: FloatArray, beta: FloatArray) -> tuple[FloatArray, FloatArray]:
    q = beta.size
    gradient = np.zeros(q)
    information = np.zeros((q, q))
    for start in range(0, x.shape[0], _ROW_CHUNK):
        xs = x[start : start + _ROW_CHUNK]
        ys = y[start : start + _ROW_CHUNK]
        design = np.empty((xs.shape[0], q))
        design[:, 0] = 1.0
        design[:, 1:] = xs
        prob = _expit(design @ beta)
        gradient += design.T @ (ys - prob)
        weighted = design * (prob * (1 - prob))[:, None]
        information += weighted.T @ design
    return gradient, information


def _deviance(x: FloatArray, y: FloatArray, beta: FloatArray) -> float:
    eta = beta[0] + x @ beta[1:]
    # log(1 + e^eta) - y * eta, stable for large |eta|
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y * eta))
