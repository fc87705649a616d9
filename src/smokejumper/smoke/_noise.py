"""How noisy is one leaf? A variance function fitted to the leaves' own residuals.

A leaf's residual (observed minus expected) has a variance that grows with its size
(its *exposure*: the expected value of an additive KPI, the denominator of a ratio KPI):

    variance(x) = constant + linear * |x| + quadratic * x**2

``linear`` is the Poisson or binomial part of counted data, ``quadratic`` the part of a
forecast that is off by a few per cent, and ``constant`` a floor: no leaf is trusted to
be measured more finely than the data's resolution (one unit, as for counts, or the 5th
percentile of the non-zero expected leaf values where the leaves are smaller), so that
the smallest leaves, whose values are rounded, cannot outvote the large ones.

The three terms are fitted to robust per-bin scales (leaves binned by exposure, each
bin's scale from its core after trimming anomalies), by non-negative least squares on
relative errors. Nothing here loops over leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: variance of a standard normal truncated to +-3: corrects the scale of a 3-sigma core
_TRUNCATED_VARIANCE = 0.97334
_LEAVES_PER_BIN = 50
_MAX_BINS = 20


@dataclass(frozen=True)
class NoiseModel:
    """Variance of a leaf's residual: ``constant + linear * |x| + quadratic * x**2``."""

    constant: float
    linear: float
    quadratic: float

    def variance(self, exposure: NDArray[np.float64]) -> NDArray[np.float64]:
        """Variance of the residual of leaves with this exposure."""
        import numpy as np

        size = np.abs(exposure)
        return self.constant + self.linear * size + self.quadratic * size * size

    def to_dict(self) -> dict[str, float]:
        return {"constant": self.constant, "linear": self.linear,
                "quadratic": self.quadratic}


def robust_scale(residual: NDArray[np.float64]) -> float:
    """Standard deviation of the bulk of ``residual``, ignoring far outliers on either side.

    Starts from the shortest half of the sorted values (its midpoint and its width,
    which a third of the points shifted to one side does not move much), then keeps
    the points within three scales of the centre, re-centres on their mean and rescales
    for the truncation, until it settles. Zero when most values are exactly equal.
    """
    import numpy as np

    if residual.size == 0:
        return 0.0
    ordered = np.sort(residual)
    half = ordered.size // 2
    if half >= 1:
        widths = ordered[half:] - ordered[:ordered.size - half]
        start = int(np.argmin(widths))
        centre = 0.5 * float(ordered[start] + ordered[start + half])
        scale = float(widths[start]) / 1.349  # the central half of a normal is 1.349 wide
    else:
        centre, scale = float(ordered[0]), 0.0
    if scale <= 0.0:  # most values are equal: the bulk does not vary (floors take over)
        return 0.0
    for _ in range(20):
        if scale <= 0.0:
            break
        core = residual[np.abs(residual - centre) <= 3.0 * scale]
        if core.size < 3:
            break
        centre = float(core.mean())
        updated = float(np.sqrt(np.mean((core - centre) ** 2) / _TRUNCATED_VARIANCE))
        converged = abs(updated - scale) <= 1e-6 * scale
        scale = updated
        if converged:
            break
    return scale


def resolution(expected: NDArray[np.float64]) -> float:
    """The data's resolution: one unit (a count), or the 5th percentile of the non-zero
    expected leaf values where that is finer (KPIs measured in small units)."""
    import numpy as np

    positive = np.abs(expected[expected != 0])
    return min(1.0, float(np.quantile(positive, 0.05))) if positive.size else 0.0


def fit_noise(residual: NDArray[np.float64], exposure: NDArray[np.float64],
              use: NDArray[np.bool_], *, floor: float) -> NoiseModel:
    """Fit the variance function to the residuals of the leaves in ``use``.

    ``floor`` is the data's resolution; the constant term is at least ``floor**2 / 12``
    (the variance of rounding to that resolution).
    """
    import numpy as np
    from scipy.optimize import nnls

    minimum = floor * floor / 12.0
    index = np.flatnonzero(use)
    if index.size == 0:
        return NoiseModel(max(minimum, _tiny(exposure)), 0.0, 0.0)
    size = np.abs(exposure[index])
    order = np.argsort(size, kind="stable")
    n_bins = int(np.clip(index.size // _LEAVES_PER_BIN, 1, _MAX_BINS))
    bins = np.array_split(order, n_bins)
    centre = np.array([np.median(size[b]) for b in bins])
    variance = np.array([robust_scale(residual[index[b]]) ** 2 for b in bins])
    keep = variance > 0.0
    if not keep.any():
        return NoiseModel(max(minimum, _tiny(exposure)), 0.0, 0.0)
    centre, variance = centre[keep], variance[keep]
    if centre.size < 3:  # too few bins to see a shape: one scale, relative to size
        typical = float(np.median(centre))
        if typical > 0.0:
            return NoiseModel(minimum, 0.0, float(np.mean(variance)) / typical**2)
        return NoiseModel(max(minimum, float(np.mean(variance))), 0.0, 0.0)
    basis = np.column_stack([np.ones_like(centre), centre, centre * centre])
    coefficients, _ = nnls(basis / variance[:, None], np.ones_like(centre))
    constant, linear, quadratic = (float(c) for c in coefficients)
    return NoiseModel(max(constant, minimum, _tiny(exposure)), linear, quadratic)


def _tiny(exposure: NDArray[np.float64]) -> float:
    """A variance small against the data but never zero, so that z-scores stay finite."""
    import numpy as np

    largest = float(np.max(np.abs(exposure))) if exposure.size else 1.0
    return (1e-9 * max(largest, 1.0)) ** 2
