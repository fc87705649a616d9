"""Key drivers: what moves an outcome (NPS, CSAT, detractor yes/no, churn), and what to fix first.

>>> from smokejumper.drivers import key_drivers, importance_performance
>>> callable(key_drivers) and callable(importance_performance)
True
"""

from __future__ import annotations

from smokejumper.drivers.api import KeyDriverConfig, analyse_key_drivers, key_drivers
from smokejumper.drivers.quadrant import driver_performance, importance_performance
from smokejumper.drivers.themes import theme_impact
from smokejumper.errors import DriverError

__all__ = [
    "DriverError",
    "KeyDriverConfig",
    "analyse_key_drivers",
    "driver_performance",
    "importance_performance",
    "key_drivers",
    "theme_impact",
]
