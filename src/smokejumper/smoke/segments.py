"""Per-segment, per-period sufficient statistics for every single dimension and every pair.

One aggregation runs on the engine, at the finest grain the scan needs (every configured
dimension and the period), through :func:`smokejumper.metrics.cube.build_cube`; each
single dimension and each pair is then a roll-up of that small frame in pandas. A metric
is kept as *scores*: each response scores ``+100/0/-100`` for NPS, ``scale`` or 0 for a
share, ``scale * value`` for a mean, so that every metric is a mean of scores, with the
score's sum and sum of squares per period (what a detector needs to weigh sample size).

>>> frame = pd.DataFrame({"region": ["North", "North", "South"],
...                       "period": pd.to_datetime(["2025-01-06"] * 3),
...                       "nps:n": [10.0, 5.0, 8.0], "nps:sum": [100.0, 0.0, -100.0],
...                       "nps:squares": [1e4, 0.0, 1e4]})
>>> panel = build_panel(frame, ["region"], ["nps"], max_depth=1)
>>> panel.segments, panel.n["nps"].tolist()
([{'region': 'North'}, {'region': 'South'}], [[15.0], [8.0]])
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smokejumper.errors import SmokeError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from smokejumper.metrics.definitions import MetricDefinition

#: the value a missing dimension takes in leaves (never a scanned segment)
MISSING = "(none)"
#: metric kinds a scan can follow (each a mean of per-response scores)
SCANNABLE = ("nps", "share", "mean")


@dataclass(frozen=True)
class Panel:
    """Segments × periods matrices of score statistics, one set per metric.

    ``segments[i]`` is ``{dimension: value}``; ``n[metric][i, t]``, ``total[...]`` and
    ``squares[...]`` are the count, sum and sum of squares of scores in period ``t``.
    """

    periods: pd.DatetimeIndex
    segments: list[dict[str, str]]
    n: Mapping[str, np.ndarray]
    total: Mapping[str, np.ndarray]
    squares: Mapping[str, np.ndarray]

    def index_of(self, segment: Mapping[str, str]) -> int | None:
        """The row of ``segment`` (None when it was not scanned)."""
        wanted = dict(segment)
        for i, candidate in enumerate(self.segments):
            if candidate == wanted:
                return i
        return None


def check_scannable(definition: MetricDefinition) -> None:
    """A clear error for a metric the scan cannot follow."""
    if definition.kind not in SCANNABLE:
        raise SmokeError(f"metric '{definition.name}' is a {definition.kind}; a scan follows "
                         f"metrics of kind {', '.join(SCANNABLE)}")


def stats_query(table: ir.Table, definitions: Sequence[MetricDefinition],
                dimensions: Sequence[str], grain: str, end: Any = None) -> Any:
    """The one aggregation: every dimension and the period, all metrics' statistics."""
    from smokejumper.metrics.cube import build_cube

    for definition in definitions:
        check_scannable(definition)
    return build_cube(table, list(definitions), by=list(dimensions), grain=grain, end=end)


def score_frame(query: Any, raw: pd.DataFrame) -> pd.DataFrame:
    """The engine's frame as ``dimensions, period, METRIC:n, METRIC:sum, METRIC:squares``."""
    from smokejumper.metrics.cube import PERIOD, as_numbers

    out = raw[list(query.by)].astype(object).where(raw[list(query.by)].notna(), MISSING)
    out = out.astype(str)
    out[PERIOD] = pd.to_datetime(raw[PERIOD]).astype("datetime64[ns]")
    for definition in query.metrics:
        roles = {role: as_numbers(raw[column])
                 for role, column in query.roles[definition.name].items()}
        n, total, squares = scores(definition, roles)
        out[f"{definition.name}:n"] = n
        out[f"{definition.name}:sum"] = total
        out[f"{definition.name}:squares"] = squares
    return out


def scores(definition: MetricDefinition, roles: Mapping[str, np.ndarray]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum and sum of squares of per-response scores, in the metric's units.

    >>> from smokejumper.metrics.definitions import builtin_definitions
    >>> n, s, ss = scores(builtin_definitions()["nps"], {"n": np.array([10.0]),
    ...     "promoters": np.array([6.0]), "detractors": np.array([1.0])})
    >>> float(s[0] / n[0])
    50.0
    """
    kind, scale = definition.kind, definition.scale
    n = roles["n"]
    if kind == "nps":
        return n, 100.0 * (roles["promoters"] - roles["detractors"]), \
            1e4 * (roles["promoters"] + roles["detractors"])
    if kind == "share":
        return n, scale * roles["k"], scale * scale * roles["k"]
    if kind == "mean":
        return n, scale * roles["sum"], scale * scale * roles["squares"]
    raise SmokeError(f"metric '{definition.name}': kind '{kind}' cannot be scanned")


def groupings(dimensions: Sequence[str], max_depth: int = 2) -> list[tuple[str, ...]]:
    """Every combination of up to ``max_depth`` dimensions (singles first).

    >>> groupings(["a", "b", "c"])
    [('a',), ('b',), ('c',), ('a', 'b'), ('a', 'c'), ('b', 'c')]
    """
    return [combo for depth in range(1, max_depth + 1)
            for combo in itertools.combinations(dimensions, depth)]


def build_panel(frame: pd.DataFrame, dimensions: Sequence[str], metrics: Sequence[str],
                max_depth: int = 2, periods: pd.DatetimeIndex | None = None) -> Panel:
    """Roll the finest-grain score frame up to every single dimension and pair."""
    from smokejumper.metrics.cube import PERIOD

    if periods is None:
        periods = pd.DatetimeIndex(sorted(frame[PERIOD].unique()))
    period_code = periods.get_indexer(frame[PERIOD])
    columns = [f"{m}:{part}" for m in metrics for part in ("n", "sum", "squares")]
    segments: list[dict[str, str]] = []
    blocks: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    work = frame.assign(_t=period_code)
    work = work[work["_t"] >= 0]
    for grouping in groupings(dimensions, max_depth):
        keep = np.ones(len(work), dtype=bool)
        for dimension in grouping:
            keep &= (work[dimension] != MISSING).to_numpy()
        part = work[keep]
        if part.empty:
            continue
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(part[list(grouping)]))
        for values in uniques:
            segments.append(dict(zip(grouping, (str(v) for v in values), strict=True)))
        for column in columns:
            matrix = np.zeros((len(uniques), len(periods)))
            np.add.at(matrix, (codes, part["_t"].to_numpy()), part[column].to_numpy())
            blocks[column].append(matrix)
    if not segments:
        raise SmokeError("no segments to scan: the dimensions have no values in this data")

    def stack(metric: str, part: str) -> np.ndarray:
        return np.vstack(blocks[f"{metric}:{part}"])

    return Panel(periods=periods, segments=segments,
                 n={m: stack(m, "n") for m in metrics},
                 total={m: stack(m, "sum") for m in metrics},
                 squares={m: stack(m, "squares") for m in metrics})


def period_calendar(frame: pd.DataFrame, grain: str) -> pd.DatetimeIndex:
    """Every period from the first to the last seen, gaps included."""
    from smokejumper.metrics.cube import PERIOD

    if frame.empty:
        raise SmokeError("no data to scan")
    first, last = frame[PERIOD].min(), frame[PERIOD].max()
    frequency = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS",
                 "year": "YS"}[grain]
    return pd.date_range(first, last, freq=frequency)
