"""The metric engine: definitions in, one aggregation per table out, intervals on top.

``ws.metrics.compute(["nps", "csat", "aht"], by=["touchpoint"], grain="week")`` plans one
query per table (responses: NPS and CSAT together; interactions: AHT), runs each on the
analytics engine (DuckDB, Spark or PostgreSQL), and computes values and 95% intervals from
the small aggregates in numpy. The result is long: one row per group, period and metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from smokejumper.errors import MetricError
from smokejumper.metrics.churn import ChurnQuery, build_churn
from smokejumper.metrics.cube import (
    GRAINS,
    PERIOD,
    RESULT_COLUMNS,
    CubeQuery,
    TimeLike,
    as_timestamp,
    build_cube,
    tidy_results,
)
from smokejumper.metrics.definitions import MetricDefinition, workspace_definitions

if TYPE_CHECKING:
    from smokejumper.config import WorkspaceConfig
    from smokejumper.store import AnalyticsStore

Query = CubeQuery | ChurnQuery


def plan_queries(tables: Mapping[str, Any], definitions: Mapping[str, MetricDefinition],
                 metrics: Sequence[str], by: Sequence[str] = (), grain: str | None = None,
                 filters: Mapping[str, Any] | None = None, start: TimeLike | None = None,
                 end: TimeLike | None = None) -> list[Query]:
    """The queries a request needs: one per table (churn apart), with no I/O.

    ``tables`` maps a table name to its Ibis expression (bound or unbound).

    >>> import ibis
    >>> from smokejumper.metrics.definitions import builtin_definitions
    >>> responses = ibis.table({"ts": "timestamp", "nps": "int64", "csat": "int64"},
    ...                        name="responses")
    >>> [q.table for q in plan_queries({"responses": responses}, builtin_definitions(),
    ...                                ["nps", "csat", "responses"])]
    ['responses']
    """
    names = list(dict.fromkeys([metrics] if isinstance(metrics, str) else metrics))
    if not names:
        raise MetricError(f"name at least one metric; available: {', '.join(definitions)}")
    unknown = [m for m in names if m not in definitions]
    if unknown:
        raise MetricError(f"unknown metric '{unknown[0]}'; available: "
                          f"{', '.join(definitions)}")
    if grain is not None and grain not in GRAINS:
        raise MetricError(f"unknown grain '{grain}'; choose one of {', '.join(GRAINS)}")
    by = list(dict.fromkeys(by))
    clash = [d for d in by if d in (PERIOD, *RESULT_COLUMNS)]
    if clash:
        raise MetricError(f"'{clash[0]}' cannot be a dimension: it is a column of the result")
    if start is not None and end is not None and as_timestamp(start) >= as_timestamp(end):
        raise MetricError(f"start {start} is not before end {end}")

    groups: dict[str, list[MetricDefinition]] = {}
    for name in names:
        definition = definitions[name]
        groups.setdefault(definition.table, []).append(definition)
    queries: list[Query] = []
    for table_name, group in groups.items():
        if table_name not in tables:
            raise MetricError(f"metric '{group[0].name}' reads table '{table_name}', which "
                              "the analytics store does not have")
        table = tables[table_name]
        for churn in (d for d in group if d.kind == "churn"):
            queries.append(build_churn(table, churn, by, grain, filters, start, end))
        plain = [d for d in group if d.kind != "churn"]
        if plain:
            queries.append(build_cube(table, plain, by, grain, filters, start, end))
    return queries


class MetricsEngine:
    """Metrics of one workspace over its analytics store.

    >>> from smokejumper.config import WorkspaceConfig
    >>> from smokejumper.store import AnalyticsStore
    >>> engine = MetricsEngine(AnalyticsStore("duckdb://"), WorkspaceConfig())
    >>> engine.definitions()["nps"].label
    'NPS'
    >>> list(engine.compute(["nps"]).columns)   # an empty store
    ['metric', 'value', 'n', 'low', 'high']
    """

    def __init__(self, store: AnalyticsStore, config: WorkspaceConfig) -> None:
        self.store = store
        self.config = config

    def definitions(self) -> dict[str, MetricDefinition]:
        """Built-in metrics, then the workspace's ``[metrics.*]`` (same name overrides)."""
        return workspace_definitions(self.config)

    def plan(self, metrics: Sequence[str], by: Sequence[str] = (), grain: str | None = None,
             filters: Mapping[str, Any] | None = None, start: TimeLike | None = None,
             end: TimeLike | None = None) -> list[Query]:
        """The queries :meth:`compute` would run (inspect ``query.expr``, compile it...)."""
        definitions = self.definitions()
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        needed = {definitions[m].table for m in names if m in definitions}
        tables = {name: self.table(name) for name in sorted(needed)}
        return plan_queries(tables, definitions, names, by, grain, filters, start, end)

    def table(self, name: str) -> Any:
        """A store table, or a derived one (``enriched_responses``,
        ``enriched_interactions``: see metrics.text)."""
        from smokejumper.metrics.text import (
            ENRICHED_INTERACTIONS,
            ENRICHED_RESPONSES,
            enriched_interactions,
            enriched_responses,
        )

        if name == ENRICHED_RESPONSES:
            return enriched_responses(self.store.table("responses"),
                                      self.store.table("enrichments"),
                                      self.store.table("enrichment_themes"),
                                      list(self.config.themes))
        if name == ENRICHED_INTERACTIONS:
            return enriched_interactions(self.store.table("interactions"),
                                         self.store.table("enrichments"))
        return self.store.table(name)

    def compute(self, metrics: Sequence[str], by: Sequence[str] = (), grain: str | None = None,
                filters: Mapping[str, Any] | None = None, start: TimeLike | None = None,
                end: TimeLike | None = None) -> pd.DataFrame:
        """Metrics by dimensions and period, long: ``*by, [period], metric, value, n, low,
        high``; sorted by dimensions, period, then metrics in the order asked.

        ``grain`` is day, week (ISO, from Monday), month, quarter, year or ``None`` (no
        time split); ``filters`` maps a column to a value or a list of values; ``start`` is
        included and ``end`` excluded. Groups with n = 0 are left out.
        """
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        by = list(dict.fromkeys(by))
        queries = self.plan(names, by, grain, filters, start, end)
        parts = [query.values(query.expr.execute()) for query in queries]
        return tidy_results(parts, by, grain, list(dict.fromkeys(names)))
