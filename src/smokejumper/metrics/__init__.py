"""Metrics: declarative definitions, one aggregation per table, honest intervals.

>>> from smokejumper.metrics import builtin_definitions
>>> sorted(builtin_definitions())[:4]
['aht', 'aov', 'ces', 'churn_rate']
"""

from smokejumper.metrics.churn import ChurnQuery, build_churn
from smokejumper.metrics.cube import GRAINS, CubeQuery, build_cube
from smokejumper.metrics.definitions import (
    MetricDefinition,
    builtin_definitions,
    workspace_definitions,
)
from smokejumper.metrics.engine import MetricsEngine, plan_queries

__all__ = [
    "GRAINS",
    "ChurnQuery",
    "CubeQuery",
    "MetricDefinition",
    "MetricsEngine",
    "build_churn",
    "build_cube",
    "builtin_definitions",
    "plan_queries",
    "workspace_definitions",
]
