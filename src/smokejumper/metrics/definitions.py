"""Metric definitions: the built-ins and the user's ``[metrics.*]``, as frozen config objects.

A :class:`MetricDefinition` says *what* a metric is (kind, table, column, condition...);
:mod:`smokejumper.metrics.cube` does the work. Kinds:

========== ====================================================================== ==========
kind       value                                                                  interval
========== ====================================================================== ==========
nps        % promoters (9-10) - % detractors (0-6) of ``column``, in -100..100     multinomial
share      share of rows meeting ``condition`` among rows where ``column`` is set  Wilson
mean       mean of ``column`` (over rows meeting ``condition``, if any)           t
ratio      ``numerator`` / ``denominator``, e.g. ``sum(order_value)`` / ``count(*)`` delta method
count      number of rows (meeting ``condition``, if any)                         Poisson
repeat     share of interactions followed by another of the same customer within  Wilson
           ``window_days`` days
churn      customers churned / customers at risk (see :mod:`.churn`)              Wilson
========== ====================================================================== ==========

Every kind but ``share`` reads ``condition`` as a row filter; ``share`` reads it as the
event counted. ``scale`` multiplies value and interval (built-in shares use 100: percent).

>>> defs = builtin_definitions()
>>> defs["nps"].kind, defs["nps"].table, defs["csat"].condition
('nps', 'responses', 'csat >= 4')
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from smokejumper.errors import MetricError
from smokejumper.metrics.conditions import Condition, parse_condition

if TYPE_CHECKING:
    from smokejumper.config import MetricConfig, WorkspaceConfig

MetricKind = Literal["nps", "share", "mean", "ratio", "count", "repeat", "churn"]

#: the interval each kind comes with
INTERVALS: dict[str, str] = {
    "nps": "nps", "share": "wilson", "mean": "t", "ratio": "delta", "count": "poisson",
    "repeat": "wilson", "churn": "wilson",
}


@dataclass(frozen=True)
class MetricDefinition:
    """One metric, declaratively: serialisable with :meth:`to_dict`, stored beside results."""

    name: str
    kind: MetricKind
    table: str
    label: str
    description: str = ""
    column: str | None = None
    condition: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    window_days: int | None = None
    higher_is_better: bool = True
    scale: float = 1.0
    builtin: bool = False

    @property
    def interval(self) -> str:
        """The interval method: ``nps``, ``wilson``, ``t``, ``delta`` or ``poisson``."""
        return INTERVALS[self.kind]

    @property
    def parsed_condition(self) -> Condition | None:
        """The condition as a tree (``None`` when the metric has none)."""
        return parse_condition(self.condition, self.name) if self.condition else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, e.g. for JSON.

        >>> builtin_definitions()["aht"].to_dict()["column"]
        'handle_time_s'
        """
        return {**asdict(self), "interval": self.interval}


def builtin_definitions(repeat_window_days: int = 7) -> dict[str, MetricDefinition]:
    """The metrics every workspace has; ``[metrics.NAME]`` in the toml overrides or adds."""
    d = MetricDefinition
    metrics = [
        d("nps", "nps", "responses", "NPS", column="nps", builtin=True,
          description="Net Promoter Score: % promoters (9-10) minus % detractors (0-6)."),
        d("csat", "share", "responses", "CSAT %", column="csat", condition="csat >= 4",
          scale=100, builtin=True,
          description="Top-2-box satisfaction: % of CSAT answers that are 4 or 5."),
        d("csat_mean", "mean", "responses", "CSAT mean", column="csat", builtin=True,
          description="Mean CSAT answer (1-5)."),
        d("ces", "mean", "responses", "CES", column="ces", higher_is_better=False,
          builtin=True, description="Mean customer effort score (1-7, lower is easier)."),
        d("responses", "count", "responses", "Responses", builtin=True,
          description="Number of responses (interval: exact Poisson, for the rate)."),
        d("fcr", "share", "interactions", "FCR %", column="resolved", condition="resolved",
          scale=100, builtin=True,
          description="First-contact resolution: % of interactions marked resolved."),
        d("repeat_rate", "repeat", "interactions", "Repeat contact %",
          window_days=repeat_window_days, scale=100, higher_is_better=False, builtin=True,
          description=f"% of interactions followed by another interaction of the same "
          f"customer within {repeat_window_days} days (any touchpoint)."),
        d("churn_rate", "churn", "customers", "Churn %", scale=100, higher_is_better=False,
          builtin=True,
          description="% of customers at risk who churned: without a grain, customers "
          "active at the start (joined before it, not yet churned) who churned before the "
          "end; with a grain, per period, churned in the period / active at its start."),
        d("aht", "mean", "interactions", "AHT (s)", column="handle_time_s",
          higher_is_better=False, builtin=True,
          description="Average handle time in seconds."),
        d("aov", "mean", "interactions", "AOV", column="order_value",
          condition="order_value > 0", builtin=True,
          description="Average order value over interactions with an order."),
        d("upsell_rate", "share", "interactions", "Upsell %", column="upsell",
          condition="upsell", scale=100, builtin=True,
          description="% of interactions with an upsell."),
        d("contacts", "count", "interactions", "Contacts", higher_is_better=False,
          builtin=True, description="Number of interactions (interval: exact Poisson)."),
        d("sentiment", "mean", "enriched_responses", "Sentiment", column="sentiment",
          builtin=True,
          description="Mean sentiment (-1..1) of responses' comments, from their latest "
          "enrichment (smokejumper enrich)."),
        d("conversation_score", "mean", "enriched_interactions", "Conversation score",
          column="conversation_score", builtin=True,
          description="Mean conversation quality (0..1) of chat and call transcripts: "
          "customer sentiment at the end, effort, empathy, stated resolution; from their "
          "latest enrichment (smokejumper enrich --source interactions)."),
    ]
    return {m.name: m for m in metrics}


_AGGREGATE = re.compile(r"^\s*(sum|count|mean|avg)\s*\(\s*(\*|[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$",
                        re.IGNORECASE)


def parse_aggregate(text: str, metric: str = "") -> tuple[str, str | None]:
    """``sum(x)``, ``count(*)``, ``count(x)``, ``mean(x)``/``avg(x)`` → (function, column).

    >>> parse_aggregate("sum(order_value)"), parse_aggregate("count(*)")
    (('sum', 'order_value'), ('count', None))
    """
    match = _AGGREGATE.match(text or "")
    if match is None:
        raise MetricError(f"metric '{metric}': aggregate {text!r} is not one of sum(COLUMN), "
                          "count(*), count(COLUMN), mean(COLUMN)")
    function = match.group(1).lower().replace("avg", "mean")
    column = None if match.group(2) == "*" else match.group(2)
    if column is None and function != "count":
        raise MetricError(f"metric '{metric}': {function}(*) is not defined; "
                          "use count(*) or name a column")
    return function, column


def definition_from_config(name: str, config: MetricConfig) -> MetricDefinition:
    """Turn a validated ``[metrics.NAME]`` into a definition, checking what its kind needs."""
    where = f"smokejumper.toml: metrics.{name}"
    if config.kind == "share" and not config.condition:
        raise MetricError(f"{where}: a share needs condition = \"...\" (e.g. \"csat >= 4\")")
    if config.kind == "mean" and not config.column:
        raise MetricError(f"{where}: a mean needs column = \"...\"")
    if config.kind == "ratio" and not (config.numerator and config.denominator):
        raise MetricError(f"{where}: a ratio needs numerator and denominator "
                          "(e.g. \"sum(order_value)\" and \"count(*)\")")
    definition = MetricDefinition(
        name=name, kind=config.kind, table=config.table, label=config.label or name,
        description=config.description,
        column=config.column or ("nps" if config.kind == "nps" else None),
        condition=config.condition, numerator=config.numerator,
        denominator=config.denominator, higher_is_better=config.higher_is_better,
        scale=config.scale,
    )
    validate_definition(definition)
    return definition


def validate_definition(definition: MetricDefinition) -> None:
    """Parse the condition and aggregates now, so a mistake surfaces before any query."""
    try:
        definition.parsed_condition  # noqa: B018 - parsing is the check
        if definition.kind == "ratio":
            parse_aggregate(definition.numerator or "", definition.name)
            parse_aggregate(definition.denominator or "", definition.name)
    except MetricError as exc:
        raise MetricError(f"smokejumper.toml: metrics.{definition.name}: "
                          f"{str(exc).split(': ', 1)[1]}") from None


def workspace_definitions(config: WorkspaceConfig) -> dict[str, MetricDefinition]:
    """Built-ins, then the workspace's own (same name overrides the built-in)."""
    from smokejumper.metrics.text import theme_definitions

    definitions = builtin_definitions(config.analysis.repeat_window_days)
    definitions.update(theme_definitions(config.themes))
    for name, metric in config.metrics.items():
        definitions[name] = definition_from_config(name, metric)
    return definitions

