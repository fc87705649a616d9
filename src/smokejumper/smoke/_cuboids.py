"""Cuboids: the ways of grouping leaves by a subset of the dimensions.

A cuboid fixes some dimensions (``(region, channel)``); its elements are the value
combinations that occur (``north × web``, ...). Each leaf belongs to exactly one element
of every cuboid, so a cuboid is stored as one integer array, leaf → element, and every
per-element sum is a ``numpy.bincount``. The root cuboid fixes nothing: one element, all
leaves, for a change that is everywhere at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Cuboid:
    """One grouping of the leaves; ``cost`` is the description length of one element."""

    dimensions: tuple[int, ...]
    group: NDArray[np.intp]
    keys: NDArray[np.int64]
    cost: float

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(self.keys.shape[0])


def build_cuboids(codes: NDArray[np.int64], cardinalities: list[int],
                  max_layer: int) -> list[Cuboid]:
    """Every cuboid fixing at most ``max_layer`` dimensions, the root first, then by layer.

    The cost of naming one element is the code length (nats) of choosing its cuboid
    among all searched and its value in each fixed dimension: the description-length
    price a cause pays before it explains anything.
    """
    import numpy as np

    n_leaves, n_dimensions = codes.shape
    subsets = [subset for layer in range(max_layer + 1)
               for subset in combinations(range(n_dimensions), layer)]
    choose_cuboid = math.log(len(subsets))
    cuboids = []
    groups: dict[tuple[int, ...], NDArray[np.int64]] = {(): np.zeros(n_leaves, dtype=np.int64)}
    for subset in subsets:  # by layer, so the parent subset[:-1] is always grouped already
        cost = choose_cuboid + sum(math.log(cardinalities[d]) for d in subset)
        if not subset:
            cuboids.append(Cuboid((), np.zeros(n_leaves, dtype=np.intp),
                                  np.zeros((1, 0), dtype=np.int64), cost))
            continue
        last = subset[-1]
        # re-numbered densely at each step, so the combined number never overflows
        combined = groups[subset[:-1]] * cardinalities[last] + codes[:, last]
        _, first, group = np.unique(combined, return_index=True, return_inverse=True)
        group = group.ravel().astype(np.int64)
        groups[subset] = group
        keys = codes[first][:, list(subset)].astype(np.int64)
        cuboids.append(Cuboid(subset, group.astype(np.intp), keys, cost))
    return cuboids
