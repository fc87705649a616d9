"""The two passes of the search, and the leaf variances it uses.

The first pass (no drift allowance, heavy-tailed noise, no root) only sets the clear,
localised causes apart. The noise is then re-fitted on the other leaves, the weight of
its tails measured there, the drift of ordinary segments measured, and the second pass
searches every cuboid, the root included, counting effects within the drift band as no
change; finally causes are refined into some of their children where that describes
their leaves better.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from smokejumper.smoke._leaves import LeafTable
    from smokejumper.smoke._noise import NoiseModel
    from smokejumper.smoke.localize import LocalizeConfig

#: degrees of freedom of the leaf noise in the first pass, before its tails are measured
FIRST_PASS_TAIL = 3.0
#: fewest leaves outside the first pass's causes to re-fit the noise on
MIN_LEAVES_FOR_NOISE = 10


def locate(table: LeafTable, config: LocalizeConfig
           ) -> tuple[list[tuple[NDArray[np.bool_], dict[str, str], float, float]],
                      dict[str, float], float]:
    """The causes of ``table``'s change as ``(leaves, segment, effect, evidence)``, the
    fitted noise (variance terms and tail) and the ordinary segment drift.

    Only informative leaves (any non-zero value) take part: a leaf that is zero before
    and after says nothing about any cause.
    """
    import numpy as np

    from smokejumper.smoke._cuboids import build_cuboids
    from smokejumper.smoke._noise import fit_noise, resolution
    from smokejumper.smoke._search import (
        Evidence,
        Variance,
        fit_tail,
        refine_causes,
        search_causes,
        segment_drift,
    )

    baseline, exposure = table.baseline(), table.exposure()
    informative = (table.actual != 0) | (baseline != 0) | (exposure != 0)
    index = np.flatnonzero(informative)
    residual, exposure = table.actual[index] - baseline[index], exposure[index]
    counted, count_base = table.count_model()
    count_base = count_base[index]
    floor = resolution(baseline)
    max_layer = min(config.max_layer or 4, len(table.dimensions))
    cuboids = build_cuboids(table.codes[index], table.cardinalities, max_layer)
    orders: dict[tuple[int, ...], NDArray[np.intp]] = {}
    everything = np.ones(index.size, dtype=bool)
    tiny = np.finfo(float).tiny

    def variance_for(noise: NoiseModel) -> Variance:
        """Leaf variances when the leaves have a given effect (see ``Evidence``): the
        variance at the changed level, never less than without the change, so that a
        cause is not rewarded for predicting tighter data (the normal approximation of
        a count near zero would be)."""
        def at_level(effect: NDArray[np.float64], size: NDArray[np.float64],
                     base: NDArray[np.float64]) -> NDArray[np.float64]:
            if table.is_ratio:  # the fitted part depends on the volume, not on the rate
                fitted = noise.variance(size)
            else:  # an additive leaf changed by ``effect`` is that much bigger or smaller
                fitted = noise.variance(size * (1.0 + effect))
            if counted == "poisson":
                fitted = np.maximum(fitted, base * np.abs(1.0 + effect))
            elif counted == "bounded":
                rate = np.clip(np.abs(base + effect), 0.0, 1.0)
                fitted = np.maximum(fitted, size * rate * (1.0 - rate))
            return np.maximum(fitted, tiny)

        unchanged = at_level(np.zeros(index.size), exposure, count_base)

        def variance(effect: NDArray[np.float64],
                     leaves: NDArray[np.intp] | None) -> NDArray[np.float64]:
            if leaves is None:
                return np.maximum(at_level(effect, exposure, count_base), unchanged)
            return np.maximum(at_level(effect, exposure[leaves], count_base[leaves]),
                              unchanged[leaves])
        return variance

    def evidence_for(noise: NoiseModel, tail: float) -> Evidence:
        return Evidence(residual, exposure, variance_for(noise), tail, orders)

    bic = 0.5 * math.log(max(index.size, 2))
    noise = fit_noise(residual, exposure, everything, floor=floor)
    # the first pass only sets apart localised changes; a change everywhere (the root)
    # is what the drift is measured from, so it is not searched for yet
    first = search_causes(evidence_for(noise, config.tail or FIRST_PASS_TAIL), cuboids[1:],
                          everything, band=0.0, bic=bic, max_causes=config.max_causes)
    outside = everything.copy()
    for cause in first:
        outside &= ~cause.leaves
    if outside.sum() >= max(MIN_LEAVES_FOR_NOISE, 0.1 * index.size):
        noise = fit_noise(residual, exposure, outside, floor=floor)  # else the first stands
    evidence = evidence_for(noise, config.tail or FIRST_PASS_TAIL)
    if config.tail is None:
        evidence = evidence_for(noise, fit_tail(evidence.z[outside]))
    drift = segment_drift(evidence, cuboids, outside)
    band = config.drift_sigmas * drift
    found = search_causes(evidence, cuboids, everything, band=band, bic=bic,
                          max_causes=config.max_causes)
    found = refine_causes(evidence, cuboids, found, band=band, bic=bic)[:config.max_causes]
    causes = []
    for cause in found:
        dimensions = cause.cuboid.dimensions
        key = cause.cuboid.keys[cause.element]
        leaves = np.all(table.codes[:, list(dimensions)] == key, axis=1)
        causes.append((leaves, table.segment(dimensions, key), cause.effect, cause.evidence))
    return causes, {**noise.to_dict(), "tail": evidence.tail}, drift
