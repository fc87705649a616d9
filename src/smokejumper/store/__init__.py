"""The two stores: analytical tables behind Ibis, operational state behind SQLAlchemy."""

from smokejumper.store.analytics import AnalyticsStore
from smokejumper.store.operational import OperationalStore

__all__ = ["AnalyticsStore", "OperationalStore"]
