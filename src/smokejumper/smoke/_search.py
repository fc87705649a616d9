"""Greedy minimum-description-length search for the segments that explain a change.

Each leaf has a residual ``r = observed - expected``, an exposure ``x`` and a noise
variance. A cause is one element of one cuboid whose leaves share one effect ``d`` (a
relative change for an additive KPI, a shift of the rate for a ratio KPI): under it a
leaf's residual becomes ``r - d * x``, with the variance of a leaf so changed.

The evidence for a cause is the gain in log-likelihood of its leaves under a Student-t
noise model (heavy tails: a few odd leaves neither make nor break a cause) minus its
description length (the cost of naming its cuboid and values, and half a log of the
number of leaves for its effect: BIC). Elements are fitted all at once per cuboid with
``numpy.bincount``: a weighted median of the leaves' own effects, then a few iteratively
reweighted least-squares steps of the t-likelihood.

The search takes the element with the largest net evidence, removes its leaves, and
repeats until no element pays for itself (refitting only the elements that shared
leaves with it). A parent of a cause pays for the unchanged leaves it drags in, a child
leaves evidence behind, and a union of two causes with different effects fits neither,
so the exact combination wins. The one case a greedy step gets wrong, a parent most of
whose children changed, is undone by :func:`refine_causes`.

Effects within ``band`` of zero count as no change (the drift that ordinary segments
show between forecast and actual), so the evidence is measured against the best effect
inside the band rather than against zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from smokejumper.smoke._cuboids import Cuboid

_REWEIGHTING_STEPS = 3
#: median of a chi-square with one degree of freedom
_CHI2_1_MEDIAN = 0.454936


@dataclass(frozen=True)
class FoundCause:
    """One element chosen by the search."""

    cuboid: Cuboid
    element: int
    effect: float
    evidence: float
    leaves: NDArray[np.bool_]


@dataclass(frozen=True)
class _Fit:
    """Per-element fit of one cuboid."""

    effect: NDArray[np.float64]
    information: NDArray[np.float64]
    net: NDArray[np.float64]


#: leaf variances given each leaf's effect, for all leaves or for the listed ones
Variance = Callable[["NDArray[np.float64]", "NDArray[np.intp] | None"], "NDArray[np.float64]"]


class Evidence:
    """The leaves' residuals under one noise model, and the per-cuboid element fits.

    ``variance(effect, leaves)`` gives the noise variance of each leaf (of all of them,
    or of the ``leaves`` listed) when it has that effect: a count's variance grows with
    its mean, so a leaf that doubled is also noisier.
    """

    def __init__(self, residual: NDArray[np.float64], exposure: NDArray[np.float64],
                 variance: Variance, tail: float,
                 orders: dict[tuple[int, ...], NDArray[np.intp]] | None = None) -> None:
        """``orders`` caches, per cuboid, the leaves sorted by element then own effect;
        the own effect (residual over exposure) does not depend on the noise model, so
        one cache serves both passes."""
        import numpy as np

        self.residual = residual
        self.exposure = exposure
        self.variance = variance
        self.tail = tail
        null_variance = variance(np.zeros_like(residual), None)
        self.z = residual / np.sqrt(null_variance)
        self.own_effect = np.divide(residual, exposure, out=np.zeros_like(residual),
                                    where=exposure != 0)
        self.precision = exposure * exposure / null_variance
        self.null_loss = self.loss(self.z) + 0.5 * np.log(null_variance)
        self._orders = {} if orders is None else orders

    def loss(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Negative log-likelihood of standardised residuals under the t-distribution."""
        import numpy as np

        return 0.5 * (self.tail + 1.0) * np.log1p(z * z / self.tail)

    def fit(self, cuboid: Cuboid, free: NDArray[np.bool_], band: float, bic: float,
            elements: NDArray[np.intp] | None = None) -> _Fit:
        """Fit one effect per element of ``cuboid`` on its free leaves; net evidence.

        With ``elements``, only those are fitted (the others get no evidence), at a cost
        proportional to their leaves: the search refits only what a cause changed.
        """
        import numpy as np

        n = cuboid.size
        order = self._orders.get(cuboid.dimensions)
        if order is None:
            order = np.lexsort((self.own_effect, cuboid.group))
            self._orders[cuboid.dimensions] = order
        if elements is None:
            leaves, group = None, cuboid.group
            residual, exposure, precision = self.residual, self.exposure, self.precision
            weight, null_loss = free.astype(float), self.null_loss
        else:
            chosen = np.zeros(n, dtype=bool)
            chosen[elements] = True
            inside = chosen[cuboid.group]
            leaves = np.flatnonzero(inside)
            order = order[inside[order]]
            group = cuboid.group[leaves]
            residual, exposure = self.residual[leaves], self.exposure[leaves]
            precision, null_loss = self.precision[leaves], self.null_loss[leaves]
            weight = free[leaves].astype(float)
        effect = self._weighted_median(cuboid, free, order)
        for _ in range(_REWEIGHTING_STEPS):
            shift = effect[group]
            variance = self.variance(shift, leaves)
            z = (residual - shift * exposure) / np.sqrt(variance)
            robust = weight * (self.tail + 1.0) / (self.tail + z * z) / variance
            numerator = np.bincount(group, robust * exposure * residual, minlength=n)
            denominator = np.bincount(group, robust * exposure * exposure, minlength=n)
            effect = np.divide(numerator, denominator, out=np.zeros(n),
                               where=denominator > 0)

        def leaf_loss(shift: NDArray[np.float64]) -> NDArray[np.float64]:
            variance = self.variance(shift, leaves)
            z = (residual - shift * exposure) / np.sqrt(variance)
            return self.loss(z) + 0.5 * np.log(variance)

        fitted_loss = leaf_loss(effect[group])
        band_loss = leaf_loss(np.clip(effect, -band, band)[group]) if band > 0 else null_loss
        gain = np.bincount(group, weight * (band_loss - fitted_loss), minlength=n)
        information = np.bincount(group, weight * precision, minlength=n).astype(float)
        information *= (self.tail + 1.0) / (self.tail + 3.0)
        net = np.where(information > 0, gain - cuboid.cost - bic, -np.inf).astype(float)
        return _Fit(effect, information, net)

    def _weighted_median(self, cuboid: Cuboid, free: NDArray[np.bool_],
                         order: NDArray[np.intp]) -> NDArray[np.float64]:
        """Per element, the precision-weighted median of the free leaves' own effects
        (``order``: the leaves to use, sorted by element then own effect)."""
        import numpy as np

        group = cuboid.group[order]
        weight = self.precision[order] * free[order]
        total = np.bincount(group, weight, minlength=cuboid.size)
        before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
        within = np.cumsum(weight) - before[group]
        reached = np.flatnonzero((within >= 0.5 * total[group]) & (weight > 0))
        median = np.zeros(cuboid.size)
        elements, first = np.unique(group[reached], return_index=True)
        median[elements] = self.own_effect[order[reached[first]]]
        return median


def search_causes(evidence: Evidence, cuboids: list[Cuboid], free: NDArray[np.bool_],
                  *, band: float, bic: float, max_causes: int) -> list[FoundCause]:
    """Greedily take the element with the most net evidence until none pays for itself.

    ``free``: the leaves still to explain. ``band``: effects this close to zero are no
    change (see :func:`segment_drift`). ``bic``: the price of one effect, in nats. After
    each cause only the elements that shared leaves with it are fitted again.
    """
    import numpy as np

    free = free.copy()
    everything = bool(free.all())
    fits = [evidence.fit(c, free, band, bic,
                         None if everything else np.unique(c.group[free]))
            for c in cuboids]
    nets = [fit.net.copy() for fit in fits]
    effects = [fit.effect.copy() for fit in fits]
    found: list[FoundCause] = []
    while len(found) < max_causes and free.any():
        best = max(range(len(cuboids)), key=lambda i: float(nets[i].max()))
        element = int(nets[best].argmax())
        net = float(nets[best][element])
        if not net > 0.0:
            break
        cuboid = cuboids[best]
        leaves = cuboid.group == element
        found.append(FoundCause(cuboid, element, float(effects[best][element]), net, leaves))
        removed = leaves & free
        free &= ~leaves
        for position, other in enumerate(cuboids):
            touched = np.unique(other.group[removed])
            fit = evidence.fit(other, free, band, bic, touched)
            nets[position][touched] = fit.net[touched]
            effects[position][touched] = fit.effect[touched]
    return found


def refine_causes(evidence: Evidence, cuboids: list[Cuboid], found: list[FoundCause],
                  *, band: float, bic: float) -> list[FoundCause]:
    """Replace a cause by some of its children where they describe its leaves better.

    The greedy search takes the single best segment, so a parent most of whose
    children changed (three regions of five that fell, under the root) can win over
    each of those children alone. For each cause and each dimension it leaves open,
    its own leaves (not shared with another cause) are searched again among its
    children along that dimension; if some but not all of them, each paying its own
    description length, have more net evidence together than the cause alone, they
    replace it.
    """
    import numpy as np

    refined: list[FoundCause] = []
    for position, cause in enumerate(found):
        own = cause.leaves.copy()
        for other, rival in enumerate(found):
            if other != position:
                own &= ~rival.leaves
        if not own.any():
            refined.append(cause)
            continue
        alone = float(evidence.fit(cause.cuboid, own, band, bic,
                                   np.array([cause.element])).net[cause.element])
        best: tuple[float, list[FoundCause]] = (alone, [cause])
        fixed = set(cause.cuboid.dimensions)
        for child in cuboids:
            if not (fixed < set(child.dimensions) and len(child.dimensions) == len(fixed) + 1):
                continue
            # the children are disjoint, so one fit scores them all as a greedy would
            children = np.unique(child.group[cause.leaves])
            fit = evidence.fit(child, own, band, bic, np.unique(child.group[own]))
            ranked = children[np.argsort(-fit.net[children])][:children.size - 1]
            ranked = ranked[fit.net[ranked] > 0.0]
            total = float(fit.net[ranked].sum())
            if ranked.size > 1 and total > best[0]:
                best = (total, [FoundCause(child, int(e), float(fit.effect[e]),
                                           float(fit.net[e]), child.group == e)
                                for e in ranked])
        refined.extend(best[1])
    return refined


#: degrees of freedom tried for the leaf noise, from very heavy tails to nearly normal
TAILS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0, 20.0, 50.0)


def fit_tail(z: NDArray[np.float64]) -> float:
    """Degrees of freedom of the Student-t (unit scale) that best fits residuals ``z``:
    how heavy the tails of the leaf noise are, measured on leaves outside the causes."""
    import numpy as np
    from scipy.special import gammaln

    if z.size < 10:
        return TAILS[3]
    squared = z * z

    def log_likelihood(tail: float) -> float:
        constant = gammaln((tail + 1) / 2) - gammaln(tail / 2) - 0.5 * np.log(tail * np.pi)
        return float(z.size * constant
                     - 0.5 * (tail + 1) * np.log1p(squared / tail).sum())

    return max(TAILS, key=log_likelihood)


def segment_drift(evidence: Evidence, cuboids: list[Cuboid], free: NDArray[np.bool_]) -> float:
    """Typical effect of ordinary segments: the drift between forecast and actual.

    Over the single-dimension segments (every value of every dimension), on leaves
    outside the causes, the standard deviation ``tau`` of their true effects such that
    the median of ``effect**2 / (standard_error**2 + tau**2)`` is that of a chi-square
    with one degree of freedom (zero when sampling noise alone explains the spread).
    Measured around zero, so a forecast biased everywhere widens it too. Drift is
    shared by all the leaves of a segment, so the leaf noise model cannot see it.
    Segments wholly inside a cause are counted as drifting without bound (censored in
    the upper tail), so that setting causes apart does not make the drift look smaller.
    """
    import numpy as np

    effects, variances = [], []
    for cuboid in cuboids:
        if len(cuboid.dimensions) != 1:
            continue
        fit = evidence.fit(cuboid, free, band=0.0, bic=0.0)
        keep = fit.information > 0
        effects.append(np.concatenate([fit.effect[keep], np.full(int((~keep).sum()), np.inf)]))
        variances.append(np.concatenate([1.0 / fit.information[keep], np.ones(int((~keep).sum()))]))
    if not effects:
        return 0.0
    effect = np.concatenate(effects)
    variance = np.concatenate(variances)
    if effect.size < 3:
        return 0.0

    def excess(tau: float) -> float:
        return float(np.median(effect * effect / (variance + tau * tau))) - _CHI2_1_MEDIAN

    if excess(0.0) <= 0.0:
        return 0.0
    finite = np.abs(effect[np.isfinite(effect)])
    if finite.size == 0:
        return 0.0
    low, high = 0.0, float(finite.max())
    if excess(high) > 0.0:  # most segments are inside causes: nothing left to measure
        return 0.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        if excess(middle) > 0.0:
            low = middle
        else:
            high = middle
    return high
