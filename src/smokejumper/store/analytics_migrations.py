"""Numbered migrations of the analytical schema (one function per version, never edited
once released: a change is a new function). ``upgrade`` applies the pending ones in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from smokejumper.schema import TABLES

if TYPE_CHECKING:
    from smokejumper.store.analytics import AnalyticsStore


def v0001_baseline(store: AnalyticsStore) -> None:
    """The canonical tables of DESIGN.md, the load log and the rejects table."""
    import ibis

    from smokejumper.schema import TABLES as CANONICAL
    from smokejumper.store.analytics import (
        LOADS_SCHEMA,
        LOADS_TABLE,
        REJECTS_SCHEMA,
        REJECTS_TABLE,
        ibis_schema,
    )

    existing = set(store.backend.list_tables())
    for name, spec in CANONICAL.items():
        if name not in existing:
            store.backend.create_table(name, schema=ibis_schema(spec))
    if LOADS_TABLE not in existing:
        store.backend.create_table(LOADS_TABLE, schema=ibis.schema(LOADS_SCHEMA))
    if REJECTS_TABLE not in existing:
        store.backend.create_table(REJECTS_TABLE, schema=ibis.schema(REJECTS_SCHEMA))


def v0002_enrichments(store: AnalyticsStore) -> None:
    """Text enrichments (``smokejumper enrich``): ``enrichments`` and ``enrichment_themes``."""
    import ibis

    from smokejumper.store.analytics import (
        ENRICHMENT_THEMES_SCHEMA,
        ENRICHMENT_THEMES_TABLE,
        ENRICHMENTS_SCHEMA,
        ENRICHMENTS_TABLE,
    )

    existing = set(store.backend.list_tables())
    for name, schema in ((ENRICHMENTS_TABLE, ENRICHMENTS_SCHEMA),
                         (ENRICHMENT_THEMES_TABLE, ENRICHMENT_THEMES_SCHEMA)):
        if name not in existing:
            store.backend.create_table(name, schema=ibis.schema(schema))


MIGRATIONS: tuple[tuple[int, Callable[[AnalyticsStore], None]], ...] = (
    (1, v0001_baseline),
    (2, v0002_enrichments),
)
LATEST = MIGRATIONS[-1][0]


def upgrade(store: AnalyticsStore) -> int:
    """Apply every migration newer than the store's version; return the new version."""
    import ibis
    import pandas as pd

    from smokejumper.errors import StoreError
    from smokejumper.store.analytics import SCHEMA_TABLE

    assert set(TABLES)  # canonical tables are defined
    current = store.schema_version()
    if current > LATEST:
        raise StoreError(
            f"the analytics store is at schema version {current}, newer than this Smokejumper "
            f"understands ({LATEST}); upgrade smokejumper"
        )
    if SCHEMA_TABLE not in store.backend.list_tables():
        store.backend.create_table(
            SCHEMA_TABLE, schema=ibis.schema({"version": "int64", "applied_at": "timestamp"})
        )
    for version, migration in MIGRATIONS:
        if version > current:
            migration(store)
            row = pd.DataFrame({"version": [version],
                                "applied_at": [datetime.now(UTC).replace(tzinfo=None)]})
            store.backend.insert(SCHEMA_TABLE, row)
            current = version
    return current
