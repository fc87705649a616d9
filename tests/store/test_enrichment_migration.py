"""Migration v0002: the enrichment tables, created on a new store and on an old one."""

from __future__ import annotations

import pandas as pd

from smokejumper.store import AnalyticsStore
from smokejumper.store.analytics import ENRICHMENT_THEMES_SCHEMA, ENRICHMENTS_SCHEMA
from smokejumper.store.analytics_migrations import LATEST, MIGRATIONS, upgrade


def _columns(store: AnalyticsStore, name: str) -> dict[str, str]:
    return {column: str(kind).removesuffix("(6)").rstrip("!")
            for column, kind in store.backend.table(name).schema().items()}


def test_new_store_has_the_enrichment_tables(tmp_path) -> None:
    store = AnalyticsStore(f"duckdb:///{tmp_path / 'a.duckdb'}")
    assert store.ensure_schema() == LATEST >= 2
    assert _columns(store, "enrichments") == ENRICHMENTS_SCHEMA
    assert _columns(store, "enrichment_themes") == ENRICHMENT_THEMES_SCHEMA
    assert store.row_count("enrichments") == 0
    store.close()


def test_a_version_1_store_upgrades_on_open(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    old = AnalyticsStore(f"duckdb:///{path}")
    old.backend.create_table("_schema_version", schema=__import__("ibis").schema(
        {"version": "int64", "applied_at": "timestamp"}))
    dict(MIGRATIONS)[1](old)
    old.backend.insert("_schema_version", pd.DataFrame(
        {"version": [1], "applied_at": [pd.Timestamp("2025-01-01")]}))
    assert old.schema_version() == 1
    assert "enrichments" not in old.backend.list_tables()
    old.close()

    store = AnalyticsStore(f"duckdb:///{path}")
    assert upgrade(store) == LATEST
    assert {"enrichments", "enrichment_themes"} <= set(store.backend.list_tables())
    versions = store.backend.table("_schema_version").to_pandas().version.tolist()
    assert versions == list(range(1, LATEST + 1))
    store.close()


def test_enrichment_pipeline_on_every_engine(engine_store, canonical_data, monkeypatch) -> None:
    """Engine hash, paging, anti-join and the per-engine writer: the touchpoint column
    stands in for a comment (the seeded responses have none)."""
    from smokejumper.text import enrich_store
    from smokejumper.text.enrich import EnrichmentModels, EnrichmentRequest, run_enrichment
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.sentiment import VaderSentimentModel

    monkeypatch.setitem(enrich_store.SOURCES, "responses", ("response_id", "touchpoint"))
    store = engine_store
    responses = store.table("responses")
    hashed = responses.filter(responses.touchpoint.notnull()).select(
        "touchpoint", digest=enrich_store.text_hash_expr(responses.touchpoint, store.kind)
    ).distinct().to_pandas()
    assert all(enrich_store.sha256_hex(t) == d for t, d in zip(hashed.touchpoint,
                                                                hashed.digest, strict=True))
    # the sample `enrich --adapt N` keeps, found again by its texts' hashes on every engine
    sample = enrich_store.sample_texts(store, ("responses",), 3)
    assert sample == sorted(hashed.touchpoint, key=enrich_store.sha256_hex)[:3]
    kept = [enrich_store.sha256_hex(text) for text in sample] + ["0" * 64]  # one text gone
    assert enrich_store.texts_with_hashes(store, ("responses",), kept) == sample
    expected = int(canonical_data["responses"].touchpoint.notna().sum())
    models = EnrichmentModels(VaderSentimentModel(), None, RedactionConfig())
    request = EnrichmentRequest(source="responses", batch_size=250)
    try:
        first = run_enrichment(enrich_store.StoreTextReader(store),
                               enrich_store.appender_for(store), models, request)
        again = run_enrichment(enrich_store.StoreTextReader(store),
                               enrich_store.appender_for(store), models, request)
        rows = store.table("enrichments").to_pandas()
    finally:
        store.execute_sql("TRUNCATE TABLE enrichments")
    assert (first.enriched, first.computed) == (expected, 4)  # four touchpoints
    assert (again.enriched, again.cached) == (0, expected)
    assert len(rows) == expected and rows.text_id.is_unique
