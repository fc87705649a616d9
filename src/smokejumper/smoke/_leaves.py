"""The leaf table: validated input, dimension codes, and what the search sees of a KPI.

An additive KPI (a count, a volume) is the sum of its leaves; a cause changes its leaves
by a common proportion, so a leaf's *exposure* is its expected value.

A ratio KPI is ``sum(actual) / sum(actual_denominator)`` (NPS as net promoters over
responses, a rate as events over contacts). A cause changes its leaves' *rate*, so the
search compares each leaf's numerator with the numerator its expected rate would give
at the volume actually seen (``expected rate * actual denominator``), and a leaf's
exposure is its actual denominator: an effect is then a shift of the rate, in rate
units, the same for a leaf of 10 responses as for one of 10,000. Changes of volume
alone (the mix) do not make a leaf a cause; they are reported as their own share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from smokejumper.errors import LocalizeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray


@dataclass(frozen=True)
class LeafTable:
    """One row per leaf: dimension codes and the four value columns as float arrays."""

    dimensions: tuple[str, ...]
    codes: NDArray[np.int64]
    labels: tuple[tuple[str, ...], ...]
    actual: NDArray[np.float64]
    expected: NDArray[np.float64]
    actual_denominator: NDArray[np.float64] | None
    expected_denominator: NDArray[np.float64] | None

    @property
    def is_ratio(self) -> bool:
        return self.actual_denominator is not None

    @property
    def size(self) -> int:
        return int(self.actual.size)

    @property
    def cardinalities(self) -> list[int]:
        return [len(values) for values in self.labels]

    def expected_kpi(self) -> float:
        return _kpi(self.expected, self.expected_denominator)

    def actual_kpi(self) -> float:
        return _kpi(self.actual, self.actual_denominator)

    def baseline(self) -> NDArray[np.float64]:
        """What each leaf's observed value would be without a cause."""
        import numpy as np

        if self.actual_denominator is None or self.expected_denominator is None:
            return self.expected
        overall = self.expected_kpi()
        rate = np.divide(self.expected, self.expected_denominator,
                         out=np.full(self.size, overall), where=self.expected_denominator > 0)
        return rate * self.actual_denominator

    def exposure(self) -> NDArray[np.float64]:
        """The size a cause's effect scales with (see the module docstring)."""
        if self.actual_denominator is None:
            return self.expected
        return self.actual_denominator

    def contribution(self) -> NDArray[np.float64]:
        """Each leaf's part of the KPI change, in KPI units; they sum to the change.

        Ratio: ``((actual - expected) - K * (actual_den - expected_den)) / sum(actual_den)``
        with ``K`` the expected KPI: the exact split of ``A/B - F_a/F_b`` over leaves.
        """
        if self.actual_denominator is None or self.expected_denominator is None:
            return self.actual - self.expected
        overall = self.expected_kpi()
        moved = (self.actual - self.expected) - overall * (
            self.actual_denominator - self.expected_denominator)
        return moved / float(self.actual_denominator.sum())

    def mix_contribution(self) -> NDArray[np.float64]:
        """Ratio KPIs: each leaf's part of the change due to its volume alone (the mix)."""
        import numpy as np

        if self.actual_denominator is None or self.expected_denominator is None:
            return np.zeros(self.size)
        return (self.baseline() - self.expected
                - self.expected_kpi() * (self.actual_denominator - self.expected_denominator)
                ) / float(self.actual_denominator.sum())

    def count_model(self) -> tuple[Literal["poisson", "bounded"] | None, NDArray[np.float64]]:
        """How counted data vary at least, and the per-leaf quantity that sets it.

        Integer actual values are counts. An additive count varies at least like a
        Poisson count (variance = mean: ``"poisson"``, with the expected values). A ratio
        whose integer numerator never exceeds its denominator in size is a mean of unit
        scores in {-1, 0, 1} (a rate, NPS), and such a mean of ``n`` answers has
        variance at least ``n * |k| * (1 - |k|)`` at rate ``k`` (``"bounded"``, with the
        expected rates, shrunk towards the overall rate by one expected event so that a
        leaf with little history is not deemed exact). Other data: ``None``.
        """
        import numpy as np

        if not _whole(self.actual):
            return None, np.zeros(self.size)
        if self.actual_denominator is None or self.expected_denominator is None:
            return "poisson", np.abs(self.expected)
        if not _whole(self.actual_denominator) or (
                np.abs(self.actual) > self.actual_denominator).any():
            return None, np.zeros(self.size)
        overall = self.expected_kpi()
        prior = 1.0 / max(abs(overall), 1e-6)  # denominators worth one expected event
        rate = (self.expected + overall * prior) / (self.expected_denominator + prior)
        return "bounded", rate

    def segment(self, dimensions: tuple[int, ...], key: NDArray[np.int64]) -> dict[str, str]:
        """``{dimension: value}`` of one element."""
        return {self.dimensions[d]: self.labels[d][int(k)]
                for d, k in zip(dimensions, key, strict=True)}


def _whole(values: NDArray[np.float64]) -> bool:
    import numpy as np

    return bool(values.size) and bool(np.all(values == np.round(values)))


def _kpi(numerator: NDArray[np.float64], denominator: NDArray[np.float64] | None) -> float:
    total = float(numerator.sum())
    if denominator is None:
        return total
    return total / float(denominator.sum())


def read_leaves(frame: pd.DataFrame, dimensions: list[str], *, actual: str, expected: str,
                actual_denominator: str | None,
                expected_denominator: str | None) -> LeafTable:
    """Validate ``frame`` and turn it into a :class:`LeafTable`."""
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise LocalizeError(f"leaves must be a pandas DataFrame, not {type(frame).__name__}")
    if isinstance(dimensions, str) or not list(dimensions):
        raise LocalizeError("dimensions must be a non-empty list of column names")
    dimensions = list(dimensions)
    if len(set(dimensions)) != len(dimensions):
        raise LocalizeError(f"dimensions are repeated: {dimensions}")
    if (actual_denominator is None) != (expected_denominator is None):
        raise LocalizeError("a ratio KPI needs both actual_denominator and "
                            "expected_denominator (or neither, for an additive KPI)")
    value_columns = [actual, expected]
    if actual_denominator is not None and expected_denominator is not None:
        value_columns += [actual_denominator, expected_denominator]
    overlap = set(dimensions) & set(value_columns)
    if overlap:
        raise LocalizeError(f"columns used both as dimension and as value: {sorted(overlap)}")
    missing = [c for c in [*dimensions, *value_columns] if c not in frame.columns]
    if missing:
        raise LocalizeError(f"missing columns {missing}; the table has {list(frame.columns)}")
    repeated = frame.duplicated(subset=dimensions, keep=False)
    if repeated.any():
        example = frame.loc[repeated, dimensions].iloc[0].to_dict()
        raise LocalizeError(f"{int(repeated.sum())} rows repeat a leaf (one row per "
                            f"combination of {dimensions} is needed), e.g. {example}")

    values = [_numbers(frame, column) for column in value_columns]
    for column, array in zip(value_columns[2:], values[2:], strict=True):
        if (array < 0).any():
            raise LocalizeError(f"denominator column {column!r} has negative values")
    if len(values) == 4 and frame.shape[0] and (values[2].sum() <= 0 or values[3].sum() <= 0):
        raise LocalizeError("a ratio KPI needs positive total denominators, actual and "
                            "expected")

    codes = np.zeros((frame.shape[0], len(dimensions)), dtype=np.int64)
    labels = []
    for position, column in enumerate(dimensions):
        code, uniques = pd.factorize(frame[column], sort=True, use_na_sentinel=False)
        codes[:, position] = code
        labels.append(tuple(str(value) for value in uniques))
    return LeafTable(tuple(str(d) for d in dimensions), codes, tuple(labels), values[0],
                     values[1], values[2] if len(values) == 4 else None,
                     values[3] if len(values) == 4 else None)


def _numbers(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    import numpy as np
    import pandas as pd

    try:
        array = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise LocalizeError(f"column {column!r} must be numeric: {error}") from None
    bad = ~np.isfinite(array)
    if bad.any():
        raise LocalizeError(f"column {column!r} has {int(bad.sum())} missing or infinite "
                            "values; fill or drop them first")
    return array
