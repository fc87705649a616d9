"""Both stores are versioned: a new store is at the latest version, an upgrade is
idempotent, and a store newer than the code is refused."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from smokejumper.errors import StoreError
from smokejumper.store import AnalyticsStore, OperationalStore
from smokejumper.store.analytics_migrations import LATEST


def test_analytics_store_migrates_once(tmp_path) -> None:
    store = AnalyticsStore("duckdb:///a.duckdb", tmp_path)
    assert store.schema_version() == 0
    assert store.ensure_schema() == LATEST
    assert store.ensure_schema() == LATEST
    versions = store.backend.table("_schema_version").to_pandas()
    assert list(versions.version) == list(range(1, LATEST + 1))
    store.close()


def test_analytics_store_newer_than_code_is_refused(tmp_path) -> None:
    store = AnalyticsStore("duckdb:///a.duckdb", tmp_path)
    store.ensure_schema()
    store.backend.insert("_schema_version",
                         pd.DataFrame({"version": [LATEST + 1],
                                       "applied_at": [pd.Timestamp("2030-01-01")]}))
    with pytest.raises(StoreError, match="newer than this Smokejumper"):
        store.ensure_schema()
    store.close()


def test_operational_store_upgrades_to_head(tmp_path) -> None:
    store = OperationalStore("sqlite:///ops.db", tmp_path)
    assert store.revision() is None
    assert store.upgrade() == store.head() == "v0006"
    assert store.upgrade() == store.head()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"users", "audit_log", "alembic_version"} <= tables
    store.close()


def test_unsupported_analytics_url() -> None:
    with pytest.raises(StoreError, match="unsupported analytics store"):
        AnalyticsStore("mysql://db")
