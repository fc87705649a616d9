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

    out = pd.DataFrame(index=raw.index)
    for column in query.by:  # categories: a few codes per row, not millions of strings
        values = raw[column].astype("category")
        values = values.cat.rename_categories([str(c) for c in values.cat.categories])
        if values.isna().any():
            if MISSING not in values.cat.categories:
                values = values.cat.add_categories([MISSING])
            values = values.fillna(MISSING)
        out[column] = values
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
    return PanelBuilder(frame, dimensions, metrics, max_depth, periods).panel


class PanelBuilder:
    """The roll-up of a finest-grain score frame, kept so that parts of it can be rolled
    up again onto the same segments (:meth:`sums`: e.g. the rows of an incident, to take
    them out of every segment at once).

    Dimension values are integer codes (``MISSING`` is -1, never a segment); a grouping's
    cell is the mixed-radix number of its codes, and its statistics one ``bincount``.
    """

    def __init__(self, frame: pd.DataFrame, dimensions: Sequence[str],
                 metrics: Sequence[str], max_depth: int = 2,
                 periods: pd.DatetimeIndex | None = None) -> None:
        from smokejumper.metrics.cube import PERIOD

        if periods is None:
            periods = pd.DatetimeIndex(sorted(frame[PERIOD].unique()))
        self.periods = periods
        self.metrics = list(metrics)
        self.columns = [f"{m}:{part}" for m in metrics for part in ("n", "sum", "squares")]
        period_code = periods.get_indexer(frame[PERIOD])
        self.keep = period_code >= 0
        self.t = period_code[self.keep]
        self.values = {c: frame[c].to_numpy(dtype=np.float64)[self.keep] for c in self.columns}
        self.codes: dict[str, np.ndarray] = {}
        self.labels: dict[str, np.ndarray] = {}
        for dimension in dimensions:
            if isinstance(frame[dimension].dtype, pd.CategoricalDtype):
                code = frame[dimension].cat.codes.to_numpy()[self.keep]
                uniques = np.asarray(frame[dimension].cat.categories, dtype=object)
            else:
                code, uniques = pd.factorize(frame[dimension].to_numpy()[self.keep])
            missing = np.flatnonzero(uniques == MISSING)
            if missing.size:
                code = np.where(code == missing[0], -1, code - (code > missing[0]))
                uniques = np.delete(uniques, missing[0])
            self.codes[dimension], self.labels[dimension] = code.astype(np.int64), uniques
        self.groupings: list[tuple[tuple[str, ...], np.ndarray, int]] = []
        self._lookups: list[np.ndarray | None] = []
        segments: list[dict[str, str]] = []
        for grouping in groupings(dimensions, max_depth):
            combined, valid = self._cells(grouping, np.ones(len(self.t), dtype=bool), True)
            if not valid.any():
                continue
            present = np.unique(combined[valid])
            self.groupings.append((grouping, present, len(segments)))
            self._lookups.append(_lookup(present))
            for value in present.tolist():
                parts = []
                for dimension in reversed(grouping):
                    value, code = divmod(value, len(self.labels[dimension]))
                    parts.append(str(self.labels[dimension][code]))
                segments.append(dict(zip(grouping, reversed(parts), strict=True)))
        if not segments:
            raise SmokeError("no segments to scan: the dimensions have no values in this data")
        self.segments = segments
        sums = self.sums(np.ones(len(frame), dtype=bool))
        self.panel = Panel(periods=periods, segments=segments,
                           n={m: sums[m][0] for m in metrics},
                           total={m: sums[m][1] for m in metrics},
                           squares={m: sums[m][2] for m in metrics})

    def _cells(self, grouping: tuple[str, ...], rows: np.ndarray, every: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        combined = np.zeros(len(rows) if every else int(rows.sum()), dtype=np.int64)
        valid = np.ones(len(combined), dtype=bool)
        for dimension in grouping:
            code = self.codes[dimension] if every else self.codes[dimension][rows]
            valid &= code >= 0
            combined = combined * len(self.labels[dimension]) + code
        return combined, valid

    def row_mask(self, segment: Mapping[str, str]) -> np.ndarray:
        """The frame's rows (of the periods scanned) inside ``segment``."""
        mask = np.ones(len(self.t), dtype=bool)
        for dimension, value in segment.items():
            found = np.flatnonzero(self.labels[dimension].astype(str) == value)
            mask &= self.codes[dimension] == (found[0] if found.size else -2)
        return mask

    def _index(self, k: int, combined: np.ndarray) -> np.ndarray:
        """Row of each cell code within grouping ``k`` (a look-up table when the codes'
        range is small, else a binary search)."""
        lookup = self._lookups[k]
        if lookup is not None:
            return lookup[combined]
        return np.searchsorted(self.groupings[k][1], combined)

    def flat_sums(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Like :meth:`sums` for part of the rows, flat (``segment * periods + period``):
        one ``bincount`` per statistic over every grouping's cells at once."""
        size = len(self.periods)
        t = self.t[rows]
        cells: list[np.ndarray] = []
        picks: list[np.ndarray] = []
        for k, (grouping, _present, offset) in enumerate(self.groupings):
            combined, valid = self._cells(grouping, rows)
            cells.append((self._index(k, combined[valid]) + offset) * size + t[valid])
            picks.append(np.flatnonzero(valid))
        cell = np.concatenate(cells)
        pick = np.concatenate(picks)
        length = len(self.segments) * size
        return {c: np.bincount(cell, weights=v[rows][pick], minlength=length)
                for c, v in self.values.items()}

    def sums(self, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per metric, ``(n, total, squares)`` (segments × periods) of the selected rows
        (a mask over the frame's rows of the periods scanned, or over the whole frame)."""
        if len(rows) != len(self.t):
            rows = rows[self.keep]
        size = len(self.periods)
        blocks: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        every = bool(rows.all())
        t = self.t if every else self.t[rows]
        values = self.values if every else {c: v[rows] for c, v in self.values.items()}
        for k, (grouping, present, _offset) in enumerate(self.groupings):
            combined, valid = self._cells(grouping, rows, every)
            whole = bool(valid.all())
            cells = self._index(k, combined if whole else combined[valid])
            cell = cells * size + (t if whole else t[valid])
            for column in self.columns:
                weights = values[column] if whole else values[column][valid]
                total = np.bincount(cell, weights=weights, minlength=len(present) * size)
                blocks[column].append(total.reshape(len(present), size))
        return {m: tuple(np.vstack(blocks[f"{m}:{part}"])  # type: ignore[misc]
                         for part in ("n", "sum", "squares")) for m in self.metrics}


def _lookup(present: np.ndarray, limit: int = 20_000_000) -> np.ndarray | None:
    """A dense table from cell code to row, when the codes' range is small enough."""
    if present.size == 0 or int(present[-1]) >= limit:
        return None
    table = np.full(int(present[-1]) + 1, -1, dtype=np.int64)
    table[present] = np.arange(present.size)
    return table


def period_calendar(frame: pd.DataFrame, grain: str) -> pd.DatetimeIndex:
    """Every period from the first to the last seen, gaps included."""
    from smokejumper.metrics.cube import PERIOD

    if frame.empty:
        raise SmokeError("no data to scan")
    first, last = frame[PERIOD].min(), frame[PERIOD].max()
    frequency = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS",
                 "year": "YS"}[grain]
    return pd.date_range(first, last, freq=frequency)


def remove_weekday_effects(frame: pd.DataFrame, dimensions: Sequence[str],
                           metrics: Sequence[str], prior: float = 50.0) -> pd.DataFrame:
    """Daily series without their weekday pattern: each leaf's (every dimension's) scores
    are taken relative to that leaf's mean on the same weekday, plus the overall mean.

    A Monday in the call centre is then compared with what Mondays in the call centre
    usually score, and a segment whose weekday mix changes (more store visits on
    Saturdays) does not look like a shift. Leaf means are shrunk towards the overall
    mean, and weekday means towards the leaf's, by ``prior`` responses, so that thin
    leaves keep their scores. Counts are unchanged; sums and sums of squares move with
    the per-response adjustment.

    >>> frame = pd.DataFrame({"tp": ["a"] * 14, "period": pd.date_range("2025-01-06",
    ...     periods=14), "nps:n": [100.0] * 14, "nps:squares": [0.0] * 14,
    ...     "nps:sum": [100.0 * (20 if d % 7 == 5 else 0) for d in range(14)]})
    >>> out = remove_weekday_effects(frame, ["tp"], ["nps"], prior=0.0)
    >>> (out["nps:sum"] / out["nps:n"]).round(6).unique().tolist()   # Saturdays flattened
    [2.857143]
    """
    from smokejumper.metrics.cube import PERIOD

    out = frame.copy()
    weekday = pd.to_datetime(frame[PERIOD]).dt.weekday.to_numpy()
    leaf = pd.MultiIndex.from_frame(frame[list(dimensions)]).factorize()[0] \
        if dimensions else np.zeros(len(frame), dtype=np.int64)
    leaves = int(leaf.max()) + 1 if len(leaf) else 0
    cell = leaf * 7 + weekday
    for metric in metrics:
        n = frame[f"{metric}:n"].to_numpy(dtype=np.float64)
        total = frame[f"{metric}:sum"].to_numpy(dtype=np.float64)
        squares = frame[f"{metric}:squares"].to_numpy(dtype=np.float64)
        overall = total.sum() / max(n.sum(), 1.0)
        leaf_n = np.bincount(leaf, weights=n, minlength=leaves)
        leaf_mean = (np.bincount(leaf, weights=total, minlength=leaves) + prior * overall) \
            / (leaf_n + prior) if leaves else np.zeros(0)
        cell_n = np.bincount(cell, weights=n, minlength=leaves * 7)
        cell_total = np.bincount(cell, weights=total, minlength=leaves * 7)
        base = np.repeat(leaf_mean, 7)
        with np.errstate(divide="ignore", invalid="ignore"):
            cell_mean = np.where(cell_n + prior > 0,
                                 (cell_total + prior * base) / (cell_n + prior), base)
        shift = cell_mean[cell] - overall  # per response, for each row
        out[f"{metric}:sum"] = total - n * shift
        out[f"{metric}:squares"] = squares - 2 * shift * total + n * shift * shift
    return out
