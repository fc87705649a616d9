"""Seeded synthetic root-cause cases with a known answer, for tests and benchmarks.

Two kinds of KPI, drawn the way real counts arise (Poisson volumes, multinomial answers),
with the expected values as the mean of a few earlier periods, like a simple forecast:

* :func:`additive_case`: a volume (contacts, orders) per leaf; each planted cause scales
  its leaves' volume by ``1 + effect``.
* :func:`ratio_case`: an NPS-like rate, net promoters over responses; each planted cause
  moves answers from promoters to detractors (or back) so that its leaves' rate shifts
  by ``effect``; or, with ``kind="failure"``, a rate of failed contacts that rises.

Causes are drawn among the elements of the requested layer whose volume makes the
effect detectable (an expected z-score of the whole segment of at least ``min_z``), and
never overlap; with ``siblings`` they are children of one parent segment (three
regions of five, or one team in two of its channels), the hardest case for a search
that would rather name the parent. ``drift`` adds an ordinary drift per value of every
dimension to the actual period (relative for volumes, in units of one answer's spread
for rates), which no method should report as a cause.

>>> case = additive_case(1, n_causes=1, layer=1)
>>> case.leaves.shape[0] == 6 * 12 * 8 * 5, len(case.causes)
(True, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

DEFAULT_CARDINALITIES = (6, 12, 8, 5)


@dataclass(frozen=True)
class SyntheticCase:
    """Leaves, their dimensions, the planted causes, and the column names to pass on."""

    leaves: pd.DataFrame
    dimensions: list[str]
    causes: list[dict[str, str]]
    effects: list[float]
    columns: dict[str, str] = field(default_factory=dict)


def additive_case(seed: int, *, n_causes: int = 1, layer: int = 1,
                  cardinalities: tuple[int, ...] = DEFAULT_CARDINALITIES,
                  median_volume: float = 20.0, history: int = 4, drift: float = 0.0,
                  effects: tuple[float, float] = (0.3, 0.9), min_z: float = 8.0,
                  siblings: bool = False) -> SyntheticCase:
    """A volume KPI with ``n_causes`` planted segments fixing ``layer`` dimensions."""
    import numpy as np

    rng = np.random.default_rng(seed)
    codes, dimensions = _grid(cardinalities)
    volume = _volumes(rng, codes, cardinalities, median_volume)
    expected = rng.poisson(volume[:, None], (volume.size, history)).mean(axis=1)
    factor = _drift(rng, codes, cardinalities, drift)
    masks, segments, sizes = _plant(rng, codes, dimensions, n_causes, layer, volume, effects,
                                    min_z, lambda v, e: abs(e) * float(np.sqrt(v.sum())),
                                    siblings)
    for mask, effect in zip(masks, sizes, strict=True):
        factor[mask] *= 1.0 + effect
    actual = rng.poisson(volume * factor).astype(float)
    leaves = _frame(codes, dimensions)
    leaves["actual"], leaves["expected"] = actual, expected
    return SyntheticCase(leaves, dimensions, segments, sizes,
                         {"actual": "actual", "expected": "expected"})


def ratio_case(seed: int, *, n_causes: int = 1, layer: int = 1,
               kind: Literal["nps", "failure"] = "nps",
               cardinalities: tuple[int, ...] = DEFAULT_CARDINALITIES,
               median_volume: float = 20.0, history: int = 4, drift: float = 0.0,
               effects: tuple[float, float] = (0.15, 0.4), min_z: float = 8.0,
               siblings: bool = False) -> SyntheticCase:
    """A rate KPI (NPS-like, or a failure rate) with planted segments whose rate shifts.

    Columns: ``actual`` and ``expected`` are the numerators (net promoters, or failures),
    ``responses`` and ``expected_responses`` the denominators.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    codes, dimensions = _grid(cardinalities)
    volume = _volumes(rng, codes, cardinalities, median_volume)
    tilt = sum(rng.normal(0.0, 0.3, n)[codes[:, d]] for d, n in enumerate(cardinalities))
    if kind == "nps":  # promoter, passive, detractor shares per leaf
        logits = np.column_stack([0.4 + tilt, np.zeros_like(tilt), -0.4 - tilt])
        shares = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        score = np.array([1.0, 0.0, -1.0])
    else:  # failed, succeeded
        failing = 1.0 / (1.0 + np.exp(-(-3.5 + tilt)))
        shares = np.column_stack([failing, 1.0 - failing])
        score = np.array([1.0, 0.0])

    def period(share: NDArray[np.float64], size: NDArray[np.float64]
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        responses = rng.poisson(size)
        answers = _multinomial(rng, responses, share)
        return answers @ score, responses.astype(float)

    past = [period(shares, volume) for _ in range(history)]
    expected = np.mean([p[0] for p in past], axis=0)
    expected_responses = np.mean([p[1] for p in past], axis=0)
    spread = float(np.sqrt(np.maximum(shares @ score**2 - (shares @ score) ** 2, 1e-3)).mean())
    sign = 1.0 if kind == "failure" else -1.0
    masks, segments, sizes = _plant(
        rng, codes, dimensions, n_causes, layer, volume, effects, min_z,
        lambda v, e: abs(e) * float(np.sqrt(v.sum())) / spread, siblings)
    change = np.zeros(codes.shape[0])
    if drift > 0:  # an ordinary drift of the rate per value of every dimension, in units
        # of the spread of one answer (so 0.03 moves a 3 % failure rate by about 0.5 %)
        change += spread * sum(rng.normal(0.0, drift, n)[codes[:, d]]
                               for d, n in enumerate(cardinalities))
    for mask, effect in zip(masks, sizes, strict=True):
        change[mask] += sign * abs(effect)
    actual, responses = period(_shift(shares, change, kind), volume)
    leaves = _frame(codes, dimensions)
    leaves["actual"], leaves["expected"] = actual, expected
    leaves["responses"], leaves["expected_responses"] = responses, expected_responses
    return SyntheticCase(leaves, dimensions, segments, [sign * abs(e) for e in sizes],
                         {"actual": "actual", "expected": "expected",
                          "actual_denominator": "responses",
                          "expected_denominator": "expected_responses"})


def _grid(cardinalities: tuple[int, ...]) -> tuple[NDArray[np.int64], list[str]]:
    import numpy as np

    mesh = np.meshgrid(*[np.arange(n) for n in cardinalities], indexing="ij")
    codes = np.column_stack([m.ravel() for m in mesh]).astype(np.int64)
    return codes, [chr(ord("a") + d) for d in range(len(cardinalities))]


def _volumes(rng: np.random.Generator, codes: NDArray[np.int64],
             cardinalities: tuple[int, ...], median: float) -> NDArray[np.float64]:
    """Skewed leaf volumes: a log-normal effect per dimension value and per leaf, and a
    third of the leaves empty (combinations that do not occur)."""
    import numpy as np

    log_volume = np.zeros(codes.shape[0])
    for d, n in enumerate(cardinalities):
        log_volume += rng.normal(0.0, 0.8, n)[codes[:, d]]
    log_volume += rng.normal(0.0, 0.7, codes.shape[0])
    volume = median * np.exp(log_volume - np.median(log_volume))
    volume[rng.random(codes.shape[0]) < 1 / 3] = 0.0
    return volume


def _drift(rng: np.random.Generator, codes: NDArray[np.int64],
           cardinalities: tuple[int, ...], drift: float) -> NDArray[np.float64]:
    import numpy as np

    factor = np.ones(codes.shape[0])
    if drift > 0:
        for d, n in enumerate(cardinalities):
            factor *= 1.0 + rng.normal(0.0, drift, n)[codes[:, d]]
    return factor


def _plant(rng: np.random.Generator, codes: NDArray[np.int64], dimensions: list[str],
           n_causes: int, layer: int, volume: NDArray[np.float64],
           effects: tuple[float, float], min_z: float,
           detectability: Callable[[NDArray[np.float64], float], float],
           siblings: bool = False
           ) -> tuple[list[NDArray[np.bool_]], list[dict[str, str]], list[float]]:
    """Disjoint random elements of cuboids fixing ``layer`` dimensions, each detectable;
    with ``siblings``, children of one parent segment (differing in one dimension)."""
    import numpy as np

    cardinalities = codes.max(axis=0) + 1
    masks: list[NDArray[np.bool_]] = []
    segments: list[dict[str, str]] = []
    sizes: list[float] = []
    taken = np.zeros(codes.shape[0], dtype=bool)
    shared = np.sort(rng.choice(len(dimensions), layer, replace=False))
    parent = [int(rng.integers(cardinalities[d])) for d in shared]
    for attempt in range(10_000):
        if len(masks) == n_causes:
            break
        if siblings and attempt < 5_000:  # same segment but for the last fixed dimension
            fixed = shared
            values = parent[:-1] + [int(rng.integers(cardinalities[shared[-1]]))]
        else:
            fixed = np.sort(rng.choice(len(dimensions), layer, replace=False))
            values = [int(rng.integers(cardinalities[d])) for d in fixed]
        mask = np.all(codes[:, fixed] == values, axis=1)
        effect = float(rng.uniform(*effects)) * (1.0 if rng.random() < 0.5 else -1.0)
        if (mask & taken).any() or effect <= -1.0 or detectability(volume[mask], effect) < min_z:
            continue
        masks.append(mask)
        segments.append({dimensions[d]: f"{dimensions[d]}{v + 1}"
                         for d, v in zip(fixed, values, strict=True)})
        sizes.append(effect)
        taken |= mask
    if len(masks) < n_causes:
        raise ValueError("could not plant that many detectable, disjoint causes")
    return masks, segments, sizes


def _shift(shares: NDArray[np.float64], effect: NDArray[np.float64],
           kind: str) -> NDArray[np.float64]:
    """Move answers between the best and the worst category so that each leaf's mean
    score moves by ``effect`` (as far as its shares allow)."""
    import numpy as np

    shares = shares.copy()
    if kind == "nps":  # moving m from promoters to detractors lowers the score by 2m
        moved = np.clip(-effect / 2.0, -shares[:, 2], shares[:, 0])
        shares[:, 0] -= moved
        shares[:, 2] += moved
    else:
        moved = np.clip(effect, -shares[:, 0], shares[:, 1])
        shares[:, 0] += moved
        shares[:, 1] -= moved
    return shares


def _multinomial(rng: np.random.Generator, counts: NDArray[np.int64],
                 shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """One multinomial draw per leaf (vectorised as successive binomials)."""
    import numpy as np

    out = np.zeros(shares.shape, dtype=float)
    left = counts.astype(np.int64)
    remaining = np.ones(shares.shape[0])
    for k in range(shares.shape[1] - 1):
        p = np.clip(np.divide(shares[:, k], remaining, out=np.zeros_like(remaining),
                              where=remaining > 0), 0.0, 1.0)
        draw = rng.binomial(left, p)
        out[:, k] = draw
        left = left - draw
        remaining = remaining - shares[:, k]
    out[:, -1] = left
    return out


def _frame(codes: NDArray[np.int64], dimensions: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({name: [f"{name}{v + 1}" for v in codes[:, d]]
                         for d, name in enumerate(dimensions)})
