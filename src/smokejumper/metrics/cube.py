"""The metric cube: many metrics over one table in ONE aggregation pushed down to the engine.

:func:`build_cube` takes an Ibis table expression and returns a :class:`CubeQuery`: the
aggregation expression (sufficient statistics per group and period: counts, sums, sums of
squares, promoter and detractor counts), and :meth:`CubeQuery.finish`, which turns the small
frame the engine returns into values and intervals. It opens no connection, so the same
expression can be compiled (``ibis.to_sql(query.expr)``), benchmarked or run anywhere.

>>> import ibis
>>> from smokejumper.metrics.definitions import builtin_definitions
>>> responses = ibis.table({"ts": "timestamp", "touchpoint": "string", "nps": "int64",
...                         "csat": "int64"}, name="responses")
>>> defs = builtin_definitions()
>>> query = build_cube(responses, [defs["nps"], defs["csat"]], by=["touchpoint"], grain="month")
>>> query.expr.columns
('touchpoint', 'period', '_s0', '_s1', '_s2', '_s3', '_s4')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from smokejumper.errors import MetricError
from smokejumper.metrics import intervals
from smokejumper.metrics.conditions import (
    Compare,
    Condition,
    IsTrue,
    NotNull,
    bind_condition,
    condition_columns,
    conjunction,
)
from smokejumper.metrics.definitions import MetricDefinition, parse_aggregate

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: the grains a request may ask for, and the Ibis truncation unit of each
GRAINS: dict[str, str] = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
#: the time column of the tables that have one
TIME_COLUMN = "ts"
#: the columns of the long result besides the dimensions and the period
RESULT_COLUMNS = ("metric", "value", "n", "low", "high")
PERIOD = "period"

Filters: TypeAlias = Mapping[str, Any]
#: a date or time: ISO text, ``date``, ``datetime`` or ``pandas.Timestamp`` (a datetime)
TimeLike: TypeAlias = str | date | datetime


@dataclass(frozen=True)
class Stat:
    """One aggregate column of the cube: rows / non-null count / sum / sum of products."""

    kind: Literal["rows", "count", "sum", "sumprod"]
    column: str | None = None
    other: str | None = None
    where: Condition | None = None


@dataclass(frozen=True)
class CubeQuery:
    """One aggregation over one table, and how to turn its rows into metric values."""

    table: str
    expr: ir.Table
    metrics: tuple[MetricDefinition, ...]
    by: tuple[str, ...]
    grain: str | None
    roles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """metric name → statistic role (n, promoters, sum...) → column of ``expr``"""

    @property
    def keys(self) -> list[str]:
        return [*self.by, PERIOD] if self.grain else list(self.by)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Values, n and intervals in long format from the frame ``expr`` returned."""
        return tidy_results([self.values(frame)], self.by, self.grain,
                            [m.name for m in self.metrics])

    def values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Like :meth:`finish`, unsorted and with groups of n = 0 still in."""
        parts = []
        keys = frame[self.keys]
        for definition in self.metrics:
            columns = {role: as_numbers(frame[name])
                       for role, name in self.roles[definition.name].items()}
            value, n, low, high = metric_values(definition, columns)
            parts.append(keys.assign(metric=definition.name, value=value, n=n, low=low,
                                     high=high))
        return pd.concat(parts, ignore_index=True)


def build_cube(table: ir.Table, metrics: Sequence[MetricDefinition], by: Sequence[str] = (),
               grain: str | None = None, filters: Filters | None = None,
               start: TimeLike | None = None, end: TimeLike | None = None) -> CubeQuery:
    """The one aggregation that computes ``metrics`` (all over the same table) by ``by``
    and ``grain``, after ``filters`` (column → value or list) and ``start <= ts < end``."""
    if not metrics:
        raise MetricError("no metrics to compute")
    name = metrics[0].table
    if any(m.table != name for m in metrics):
        raise MetricError("build_cube computes metrics of one table at a time")
    if any(m.kind == "churn" for m in metrics):
        raise MetricError("churn metrics have their own query: use metrics.churn.build_churn")
    label = ", ".join(m.name for m in metrics)
    check_columns(table, by, label, name, "dimension")
    base = flag_repeats(table, metrics)
    predicates = filter_predicates(base, filters, label, name)
    predicates += time_predicates(base, start, end, label, name)
    if predicates:
        base = base.filter(*predicates)
    keys: list[Any] = [base[d] for d in by]
    if grain is not None:
        keys.append(period_expr(base, grain, label, name))

    stats: dict[Stat, str] = {}
    roles: dict[str, dict[str, str]] = {}
    for definition in metrics:
        roles[definition.name] = {
            role: stats.setdefault(stat, f"_s{len(stats)}")
            for role, stat in metric_stats(definition).items()
        }
    aggregates = {column: stat_expr(stat, base, _owner(stat, metrics, roles, stats))
                  for stat, column in stats.items()}
    expr = base.group_by(keys).aggregate(**aggregates) if keys else base.aggregate(**aggregates)
    return CubeQuery(name, expr, tuple(metrics), tuple(by), grain, roles)


def _owner(stat: Stat, metrics: Sequence[MetricDefinition],
           roles: Mapping[str, Mapping[str, str]], stats: Mapping[Stat, str]) -> str:
    """The first metric needing ``stat`` (to name it in an error)."""
    column = stats[stat]
    return next(m.name for m in metrics if column in roles[m.name].values())


# -- statistics per kind ----------------------------------------------------------------------

def metric_stats(definition: MetricDefinition) -> dict[str, Stat]:
    """The sufficient statistics a metric needs, by role.

    >>> from smokejumper.metrics.definitions import builtin_definitions
    >>> sorted(metric_stats(builtin_definitions()["nps"]))
    ['detractors', 'n', 'promoters']
    """
    kind = definition.kind
    condition = definition.parsed_condition
    column = definition.column
    if kind == "nps":
        assert column is not None
        return {"n": Stat("count", column, where=condition),
                "promoters": Stat("rows", where=conjunction(condition,
                                                            Compare(column, ">=", 9))),
                "detractors": Stat("rows", where=conjunction(condition,
                                                             Compare(column, "<=", 6)))}
    if kind == "share":
        assert condition is not None
        if column is None:
            return {"n": Stat("rows"), "k": Stat("rows", where=condition)}
        # a condition reading only `column` is never true where `column` is missing
        needs_value = condition_columns(condition) != {column}
        return {"n": Stat("count", column),
                "k": Stat("rows", where=conjunction(NotNull(column) if needs_value else None,
                                                    condition))}
    if kind == "mean":
        assert column is not None
        return {"n": Stat("count", column, where=condition),
                "sum": Stat("sum", column, where=condition),
                "squares": Stat("sumprod", column, column, where=condition)}
    if kind == "count":
        return {"n": Stat("rows", where=condition)}
    if kind == "repeat":
        return {"n": Stat("rows", where=condition),
                "k": Stat("rows", where=conjunction(condition, repeat_flag(definition)))}
    if kind == "ratio":
        return _ratio_stats(definition, condition)
    raise MetricError(f"metric '{definition.name}': kind '{kind}' has no cube statistics")


def ratio_components(definition: MetricDefinition
                     ) -> tuple[list[tuple[str, str]], list[int], int]:
    """A ratio as ``n**n_power * prod(mean_j ** exponent_j)`` over per-row components
    (``("sum", column)``: the column's value; ``("count", column)``: 1 where it is set).

    >>> from smokejumper.metrics.definitions import MetricDefinition
    >>> d = MetricDefinition("x", "ratio", "interactions", "x", numerator="mean(order_value)",
    ...                      denominator="count(*)")
    >>> ratio_components(d)
    ([('sum', 'order_value'), ('count', 'order_value')], [1, -1], -1)
    """
    exponents: dict[tuple[str, str], int] = {}
    n_power = 0
    for text, sign in ((definition.numerator or "", 1), (definition.denominator or "", -1)):
        function, column = parse_aggregate(text, definition.name)
        if column is None:  # count(*)
            n_power += sign
        elif function == "mean":
            exponents[("sum", column)] = exponents.get(("sum", column), 0) + sign
            exponents[("count", column)] = exponents.get(("count", column), 0) - sign
        else:
            exponents[(function, column)] = exponents.get((function, column), 0) + sign
            n_power += sign
    components = [c for c, e in exponents.items() if e != 0]
    return components, [exponents[c] for c in components], n_power


def _ratio_stats(definition: MetricDefinition, condition: Condition | None) -> dict[str, Stat]:
    components, _, _ = ratio_components(definition)
    stats = {"n": Stat("rows", where=condition)}
    for j, (kind_j, column_j) in enumerate(components):
        stats[f"s{j}"] = Stat(kind_j, column_j, where=condition)  # type: ignore[arg-type]
        for k in range(j, len(components)):
            kind_k, column_k = components[k]
            stats[f"c{j}_{k}"] = _cross(kind_j, column_j, kind_k, column_k, condition)
    return stats


def _cross(kind_a: str, a: str, kind_b: str, b: str, condition: Condition | None) -> Stat:
    """The sum over rows of the product of two components."""
    if kind_a == "count" and kind_b == "sum":
        kind_a, a, kind_b, b = kind_b, b, kind_a, a
    if kind_a == "sum" and kind_b == "sum":
        return Stat("sumprod", a, b, where=condition)
    if kind_a == "sum":  # sum × indicator
        return Stat("sum", a, where=condition if a == b else conjunction(condition, NotNull(b)))
    return Stat("count", a, where=condition if a == b else conjunction(condition, NotNull(b)))


def metric_values(definition: MetricDefinition, columns: Mapping[str, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(value, n, low, high) from a metric's statistics (one array element per group)."""
    kind = definition.kind
    n = columns["n"]
    if kind == "nps":
        value, low, high = intervals.nps_interval(columns["promoters"], columns["detractors"], n)
    elif kind in ("share", "repeat"):
        value, low, high = intervals.wilson_interval(columns["k"], n)
    elif kind == "mean":
        value, low, high = intervals.mean_interval(columns["sum"], columns["squares"], n)
    elif kind == "count":
        value, low, high = intervals.poisson_interval(n)
    elif kind == "ratio":
        components, exponents, n_power = ratio_components(definition)
        size = len(components)
        sums = np.column_stack([columns[f"s{j}"] for j in range(size)]) if size \
            else np.ones((len(n), 0))
        cross = np.zeros((len(n), size, size))
        for j in range(size):
            for k in range(j, size):
                cross[:, j, k] = cross[:, k, j] = columns[f"c{j}_{k}"]
        value, low, high = intervals.monomial_delta_interval(n, sums, cross, exponents, n_power)
    else:
        raise MetricError(f"metric '{definition.name}': unknown kind '{kind}'")
    value, low, high = scaled(value, low, high, definition.scale)
    return value, n, low, high


def scaled(value: np.ndarray, low: np.ndarray, high: np.ndarray, scale: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value and interval times ``scale`` (a negative scale swaps the ends).

    >>> scaled(np.array([0.5]), np.array([0.4]), np.array([0.6]), 100)[2]
    array([60.])
    """
    low, high = low * scale, high * scale
    return value * scale, np.fmin(low, high), np.fmax(low, high)


# -- expressions ------------------------------------------------------------------------------

def stat_expr(stat: Stat, table: ir.Table, metric: str = "") -> ir.Scalar:
    """The Ibis aggregate of one statistic (``COUNT(*) FILTER (WHERE ...)``, ``SUM(x)``...)."""
    where = bind_condition(stat.where, table, metric) if stat.where is not None else None
    check_columns(table, [c for c in (stat.column, stat.other) if c], metric, "", "column")
    if stat.kind == "rows":
        return table.count(where=where)
    assert stat.column is not None
    column = table[stat.column]
    if stat.kind == "count":
        return column.count(where=where)
    _check_numeric(column, stat.column, metric)
    if stat.kind == "sum":
        return column.sum(where=where)
    assert stat.other is not None
    other = table[stat.other]
    _check_numeric(other, stat.other, metric)
    return (column * other).sum(where=where)


def _check_numeric(column: ir.Value, name: str, metric: str) -> None:
    if not column.type().is_numeric() or column.type().is_boolean():
        raise MetricError(f"metric '{metric}': column '{name}' is {column.type()}, not a number"
                          "; a share (kind = \"share\") counts true/false or text values")


def repeat_column(days: int) -> str:
    return f"_repeat_{days}d"


def repeat_flag(definition: MetricDefinition) -> Condition:
    """A repeat metric's flag: the contact is followed by another within its window (the
    column :func:`flag_repeats` adds)."""
    return IsTrue(repeat_column(definition.window_days or 0))


def flag_repeats(table: ir.Table, metrics: Iterable[MetricDefinition]) -> ir.Table:
    """``table`` with the flags the repeat metrics among ``metrics`` read
    (:func:`with_repeat_flags`); ``table`` itself when there are none."""
    windows = sorted({m.window_days or 0 for m in metrics if m.kind == "repeat"})
    return with_repeat_flags(table, windows) if windows else table


NEXT_CONTACT = "_next_contact"


def with_repeat_flags(table: ir.Table, windows: Sequence[int]) -> ir.Table:
    """``table`` with a flag per window: the same customer's next interaction (any
    touchpoint) comes within that many days (NULL, not counted, when there is none).

    Computed over the whole table, before any filter, so that a follow-up outside the
    filtered slice still counts. Ties in ``ts`` are ordered by the table key
    (``interaction_id``) so every engine picks the same "next" row. One window function
    (LEAD) serves every window length.
    """
    import ibis

    order = [TIME_COLUMN, *(c for c in ("interaction_id",) if c in table.columns)]
    window = ibis.window(group_by=table.customer_id, order_by=[table[c] for c in order])
    table = table.mutate(**{NEXT_CONTACT: table[TIME_COLUMN].lead().over(window)})
    return table.mutate(**{
        repeat_column(days): table[NEXT_CONTACT] <= table[TIME_COLUMN] + ibis.interval(days=days)
        for days in windows
    })


def period_expr(table: ir.Table, grain: str, metric: str = "", name: str = "") -> ir.Value:
    """The start of the period each row falls in (weeks start on Monday, ISO)."""
    if grain not in GRAINS:
        raise MetricError(f"unknown grain '{grain}'; choose one of {', '.join(GRAINS)}")
    if TIME_COLUMN not in table.columns:
        raise MetricError(f"{subject(metric, name)} no time column '{TIME_COLUMN}', so it "
                          f"cannot be split by {grain}")
    return table[TIME_COLUMN].truncate(GRAINS[grain]).name(PERIOD)


def subject(metric: str, table: str = "") -> str:
    """The start of an error: ``metric 'nps' (table responses) has`` or, for several,
    ``metrics 'nps', 'csat' (table responses) have``.

    >>> subject("nps, csat", "responses")
    "metrics 'nps', 'csat' (table responses) have"
    """
    names = [m.strip() for m in metric.split(",") if m.strip()]
    where = f" (table {table})" if table else ""
    if len(names) > 1:
        return "metrics " + ", ".join(f"'{m}'" for m in names) + f"{where} have"
    return f"metric '{metric}'{where} has"


def check_columns(table: ir.Table, columns: Sequence[str], metric: str, name: str,
                  what: str) -> None:
    """A clear error for a column the table lacks, listing the ones it has."""
    known = table.columns
    for column in columns:
        if column not in known:
            available = ", ".join(c for c in known if not c.startswith("_"))
            raise MetricError(f"{subject(metric, name)} no {what} '{column}'; "
                              f"available: {available}")


def filter_predicates(table: ir.Table, filters: Filters | None, metric: str = "",
                      name: str = "") -> list[ir.BooleanValue]:
    """``column == value`` or ``column IN (values)`` per filter, values coerced to the
    column's type (so ``resolved=true`` from a command line works); ``None`` means missing."""
    predicates = []
    for column, wanted in (filters or {}).items():
        check_columns(table, [column], metric, name, "filter column")
        values = list(wanted) if isinstance(wanted, list | tuple | set | frozenset) \
            else [wanted]
        expr = table[column]
        coerced = [coerce_value(expr.type(), v, column) for v in values]
        present = [v for v in coerced if v is not None]
        parts = []
        if present:
            parts.append(expr == present[0] if len(present) == 1 else expr.isin(present))
        if len(present) < len(coerced):
            parts.append(expr.isnull())
        if not parts:
            raise MetricError(f"filter '{column}' has no values")
        predicates.append(parts[0] if len(parts) == 1 else parts[0] | parts[1])
    return predicates


def coerce_value(dtype: Any, value: Any, column: str) -> Any:
    """A filter value as the column's type: '3' → 3 for numbers, 'yes' → True for booleans.

    >>> import ibis.expr.datatypes as dt
    >>> coerce_value(dt.boolean, "yes", "upsell"), coerce_value(dt.int64, "9", "nps")
    (True, 9)
    """
    if value is None:
        return None
    try:
        if dtype.is_boolean():
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "t", "yes", "y", "1"):
                return True
            if text in ("false", "f", "no", "n", "0"):
                return False
            raise ValueError(value)
        if dtype.is_integer():
            return int(value)
        if dtype.is_numeric():
            return float(value)
        if dtype.is_timestamp():
            return as_timestamp(value)
        if dtype.is_date():
            return pd.Timestamp(value).date()
        return str(value)
    except (TypeError, ValueError):
        raise MetricError(f"filter {column}={value!r}: not a valid {dtype} value") from None


def as_timestamp(value: TimeLike) -> datetime:
    """A naive UTC ``datetime`` (the stores keep UTC without a zone).

    >>> as_timestamp("2025-01-31T10:00:00+01:00")
    datetime.datetime(2025, 1, 31, 9, 0)
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise MetricError(f"not a date or time: {value!r}") from None
    if stamp is pd.NaT:
        raise MetricError(f"not a date or time: {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def time_predicates(table: ir.Table, start: TimeLike | None, end: TimeLike | None,
                    metric: str = "", name: str = "") -> list[ir.BooleanValue]:
    """``start <= ts`` and ``ts < end`` (end excluded)."""
    if start is None and end is None:
        return []
    if TIME_COLUMN not in table.columns:
        raise MetricError(f"{subject(metric, name)} no time column '{TIME_COLUMN}' to "
                          "restrict to a start or end")
    ts = table[TIME_COLUMN]
    predicates = []
    if start is not None:
        predicates.append(ts >= as_timestamp(start))
    if end is not None:
        predicates.append(ts < as_timestamp(end))
    return predicates


# -- results ----------------------------------------------------------------------------------

def as_numbers(values: pd.Series) -> np.ndarray:
    """Engine numbers (DuckDB HUGEINT objects, PostgreSQL numerics, NULL sums) as floats."""
    return pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0).to_numpy()


def tidy_results(parts: Sequence[pd.DataFrame], by: Sequence[str], grain: str | None,
                 order: Sequence[str]) -> pd.DataFrame:
    """Concatenate long results, drop groups with n = 0, normalise types, sort."""
    columns = [*by, *([PERIOD] if grain else []), *RESULT_COLUMNS]
    frames = [p for p in parts if len(p)]
    if not frames:
        return empty_result(by, grain)
    frame = pd.concat(frames, ignore_index=True)[columns]
    frame = frame[frame["n"] > 0]
    frame["n"] = frame["n"].round().astype("int64")
    for column in ("value", "low", "high"):
        frame[column] = frame[column].astype("float64")
    if grain and frame[PERIOD].dtype != "datetime64[ns]":
        period = frame[PERIOD]
        frame[PERIOD] = (period if period.dtype.kind == "M" else pd.to_datetime(period)
                         ).astype("datetime64[ns]")
    rank = {name: i for i, name in enumerate(order)}
    frame = frame.assign(_order=frame["metric"].map(rank))
    keys = [*by, *([PERIOD] if grain else []), "_order"]
    frame = frame.sort_values(keys, na_position="last", kind="mergesort")
    return frame.drop(columns="_order").reset_index(drop=True)


def empty_result(by: Sequence[str], grain: str | None) -> pd.DataFrame:
    """The result of a request that matched no rows: the right columns, no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in by})
    if grain:
        frame[PERIOD] = pd.Series(dtype="datetime64[ns]")
    frame["metric"] = pd.Series(dtype=object)
    frame["n"] = pd.Series(dtype="int64")
    for column in ("value", "low", "high"):
        frame[column] = pd.Series(dtype="float64")
    return frame[[*by, *([PERIOD] if grain else []), *RESULT_COLUMNS]]
