"""What frontline staff are measured on, and the one aggregation pushed to the engine.

A :class:`Measure` turns each row of a canonical table into a number (an NPS response
into +100/0/-100, a contact into 100 when resolved...). :func:`cell_statistics` builds the
Ibis expression that reduces a table to n, sum and sum of squares per unit (agent, team,
agent × area) and case-mix cell, which is all the statistics need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from smokejumper.errors import FrontlineError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

MeasureKind = Literal["nps", "share", "mean", "repeat"]
MISSING = "(none)"


@dataclass(frozen=True)
class Measure:
    """One outcome per row: ``nps`` (+100 promoter, -100 detractor), ``share`` (100 when
    ``column >= threshold`` or true), ``mean`` (the column times ``scale``) or ``repeat``
    (100 when the customer contacts again within ``window_days``)."""

    name: str
    table: str
    kind: MeasureKind
    column: str
    threshold: float | None = None
    scale: float = 1.0
    higher_is_better: bool = True
    window_days: int = 7
    label: str = ""


BUILTIN_MEASURES: dict[str, Measure] = {
    m.name: m for m in (
        Measure("nps", "responses", "nps", "nps", label="NPS (points)"),
        Measure("csat", "responses", "share", "csat", threshold=4, scale=100,
                label="CSAT, % satisfied (4-5)"),
        Measure("fcr", "interactions", "share", "resolved", scale=100,
                label="First-contact resolution %"),
        Measure("aht", "interactions", "mean", "handle_time_s", scale=1 / 60,
                higher_is_better=False, label="Average handle time (minutes)"),
        Measure("repeats", "interactions", "repeat", "customer_id", scale=100,
                higher_is_better=False, label="Repeat contacts within 7 days %"),
        # transcripts scored by `smokejumper enrich --source interactions` (issue 4)
        Measure("conversation", "enriched_interactions", "mean", "conversation_score",
                scale=100, label="Conversation score (0-100)"),
    )
}

#: chosen on the demo company: CSAT and handle time add more noise than signal about skill
DEFAULT_WEIGHTS: dict[str, float] = {"nps": 1.0, "fcr": 2.0}
DEFAULT_CASE_MIX: tuple[str, ...] = ("contact_reason", "channel", "segment")


@dataclass(frozen=True)
class RankConfig:
    """How to rank: a measure name or ``composite`` (weights over measures, each in
    between-agent standard deviations), the case-mix cells, the minimum n, the level."""

    measure: str = "composite"
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    case_mix: tuple[str, ...] = DEFAULT_CASE_MIX
    min_n: int = 30
    level: float = 0.95
    top_fraction: float = 0.1
    draws: int = 400
    seed: int = 0
    adjust: bool = True
    shrink: bool = True

    def measures(self) -> dict[str, float]:
        """The measures this ranking uses, with their weights (1 for a single measure)."""
        if self.measure != "composite":
            return {resolve_measure(self.measure).name: 1.0}
        chosen = {name: float(w) for name, w in self.weights.items() if w}
        if not chosen:
            raise FrontlineError("a composite needs at least one measure with a weight")
        for name in chosen:
            resolve_measure(name)
        return chosen


def resolve_measure(name: str) -> Measure:
    """The built-in measure called ``name``.

    >>> resolve_measure("fcr").table
    'interactions'
    """
    try:
        return BUILTIN_MEASURES[name]
    except KeyError:
        raise FrontlineError(f"unknown measure '{name}': choose one of "
                             f"{', '.join(BUILTIN_MEASURES)} or composite") from None


def outcome_expr(table: ir.Table, measure: Measure) -> ir.NumericValue:
    """The per-row outcome of ``measure`` as an Ibis expression (NULL when not measured)."""
    import ibis

    if measure.column not in table.columns:
        raise FrontlineError(f"measure '{measure.name}' needs column '{measure.column}' in "
                             f"the {measure.table} table")
    column = table[measure.column]
    if measure.kind == "nps":
        return _nps(column)
    if measure.kind == "share":
        hit = column >= measure.threshold if measure.threshold is not None else column
        return ibis.ifelse(column.isnull(), ibis.null("float64"),
                           ibis.ifelse(hit, measure.scale, 0.0))
    if measure.kind == "repeat":
        from smokejumper.metrics.cube import repeat_column

        flag = table[repeat_column(measure.window_days)]
        return ibis.ifelse(flag.isnull(), ibis.null("float64"),
                           ibis.ifelse(flag, measure.scale, 0.0))
    return column.cast("float64") * measure.scale


def _nps(column: ir.NumericValue) -> ir.NumericValue:
    import ibis

    return ibis.ifelse(column.isnull(), ibis.null("float64"),
                       ibis.ifelse(column >= 9, 100.0, ibis.ifelse(column <= 6, -100.0, 0.0)))


def cell_statistics(table: ir.Table, measure: Measure, units: Sequence[str],
                    cells: Sequence[str], extra: Mapping[str, ir.Value] | None = None
                    ) -> ir.Table:
    """Per unit × cell (× ``extra`` keys): ``n``, ``total`` and ``squares`` of the outcome.

    Rows with no unit or no outcome are left out; a missing cell value is its own cell.
    """
    missing = [c for c in (*units, *cells) if c not in table.columns]
    if missing:
        raise FrontlineError(f"the {measure.table} table has no column(s) "
                             f"{', '.join(missing)}")
    if measure.kind == "repeat":
        from smokejumper.metrics.cube import with_repeat_flags

        table = with_repeat_flags(table, [measure.window_days])
    outcome = outcome_expr(table, measure)
    keyed = table.mutate(
        _y=outcome,
        **{c: table[c].cast("string").fill_null(MISSING) for c in cells},
        **(dict(extra) if extra else {}),
    )
    keyed = keyed.filter(keyed._y.notnull(), *(keyed[u].notnull() for u in units))
    return keyed.group_by([*units, *cells, *(extra or {})]).aggregate(
        n=keyed._y.count(), total=keyed._y.sum(), squares=(keyed._y * keyed._y).sum())


def fetch(expression: ir.Table) -> pd.DataFrame:
    """Run an aggregate on its engine and return it as a DataFrame."""
    return expression.to_pandas()
