"""The analytical store: canonical tables behind Ibis, on DuckDB, Spark or PostgreSQL.

One code path for every engine; where engines differ (DDL, raw connections) the
difference is data in :data:`ENGINES`, not a second implementation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokejumper.errors import MissingDependencyError, StoreError
from smokejumper.schema import LOAD_ID, ROW_HASH, TABLES, ColumnType, TableSpec, table_spec

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

IBIS_TYPES: dict[ColumnType, str] = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class EngineTraits:
    """What differs between engines, as data."""

    name: str
    string_sql_type: str
    add_column_sql: str  # format with table, column, type
    supports_transactions: bool
    extra: str  # the pip extra that brings the engine


ENGINES: dict[str, EngineTraits] = {
    "duckdb": EngineTraits("duckdb", "VARCHAR", "ALTER TABLE {table} ADD COLUMN {column} {type}",
                           True, "duckdb"),
    "postgres": EngineTraits("postgres", "TEXT", "ALTER TABLE {table} ADD COLUMN {column} {type}",
                             True, "postgres"),
    "spark": EngineTraits("spark", "STRING", "ALTER TABLE {table} ADD COLUMNS ({column} {type})",
                          False, "spark"),
}

SCHEMA_TABLE = "_schema_version"
LOADS_TABLE = "_loads"
REJECTS_TABLE = "_rejects"


def ibis_schema(spec: TableSpec) -> ibis.Schema:
    """The Ibis schema of a canonical table, bookkeeping columns included."""
    import ibis

    fields = {c.name: IBIS_TYPES[c.type] for c in spec.columns}
    fields[ROW_HASH] = "string"
    fields[LOAD_ID] = "string"
    return ibis.schema(fields)


LOADS_SCHEMA = {
    "load_id": "string",
    "table_name": "string",
    "source": "string",
    "source_sha256": "string",
    "mapping": "string",
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "read": "int64",
    "inserted": "int64",
    "updated": "int64",
    "duplicate": "int64",
    "rejected": "int64",
}
REJECTS_SCHEMA = {
    "load_id": "string",
    "table_name": "string",
    "line": "int64",
    "column_name": "string",
    "reason": "string",
    "raw": "string",
}

#: text enrichments (``smokejumper enrich``): one row per enriched text and model version
ENRICHMENTS_TABLE = "enrichments"
ENRICHMENTS_SCHEMA = {
    "text_id": "string",          # response_id or interaction_id
    "source_table": "string",     # responses | interactions
    "text_hash": "string",        # sha256 (hex) of the raw text
    "model_version": "string",
    "enriched_at": "timestamp",
    "redacted_text": "string",
    "sentiment": "float64",       # [-1, 1]
    "sentiment_label": "string",  # negative | neutral | positive
    "conversation_score": "float64",  # transcripts only, [0, 1]
    "details": "string",          # JSON
}
#: one row per theme found in an enriched text; ``text_hash`` and ``model_version`` say
#: which enrichment row it belongs to (a text can be enriched by several model versions)
ENRICHMENT_THEMES_TABLE = "enrichment_themes"
ENRICHMENT_THEMES_SCHEMA = {
    "text_id": "string",
    "source_table": "string",
    "theme": "string",
    "confidence": "float64",
    "sentiment": "float64",       # of the sentences mentioning the theme, [-1, 1]
    "text_hash": "string",
    "model_version": "string",
}


#: a DuckDB memory size: a number and a unit
MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
#: engine threads while a job streams small appends (:meth:`AnalyticsStore.streaming_appends`)
STREAMING_THREADS = 2


def _restorable(shown: str) -> str:
    """DuckDB's limit as it shows it ("18.8 GiB", truncated), as a value to set again.

    ``RESET memory_limit`` is not an option: in DuckDB 1.5 it changes the shown setting
    but leaves the cap in force. Half the shown precision is added, so setting it again
    shows the same figure (2.7 GiB set as such shows 2.6: bytes are truncated).

    >>> _restorable("18.8 GiB"), _restorable("32.0 MiB"), _restorable("512 bytes")
    ('18.85 GiB', '32.05 MiB', '512 bytes')
    """
    match = re.fullmatch(r"(\d+)\.(\d)\s*(\S+)", shown.strip())
    return f"{match[1]}.{match[2]}5 {match[3]}" if match else shown


_UNITS = {"bytes": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(shown: str) -> float:
    """A size as DuckDB shows it, in bytes.

    >>> _bytes("16.0 MiB"), _bytes("512 bytes")
    (16777216.0, 512.0)
    """
    number, unit = shown.split()
    return float(number) * _UNITS[unit.lower()]


def _engine_kind(url: str) -> str:
    scheme = url.split(":", 1)[0]
    return {"postgresql": "postgres"}.get(scheme, scheme)


class AnalyticsStore:
    """Canonical analytical tables of one workspace.

    >>> store = AnalyticsStore("duckdb://")          # in memory
    >>> store.ensure_schema()                        # the schema version now in force
    2
    >>> sorted(store.table("responses").schema().names)[:3]
    ['_load_id', '_row_hash', 'agent_id']
    """

    def __init__(self, url: str, root: Path | None = None,
                 dimensions: tuple[str, ...] | list[str] = ()) -> None:
        self.url = url
        self.root = root or Path.cwd()
        self.dimensions = tuple(dimensions)
        self.kind = _engine_kind(url)
        if self.kind not in ENGINES:
            raise StoreError(f"unsupported analytics store '{url}'")
        self.traits = ENGINES[self.kind]

    # -- connection -------------------------------------------------------------------------
    @cached_property
    def backend(self) -> BaseBackend:
        """The Ibis backend, connected on first use."""
        try:
            if self.kind == "duckdb":
                return self._connect_duckdb()
            if self.kind == "spark":
                return self._connect_spark()
            return self._connect_postgres()
        except ModuleNotFoundError as exc:
            raise MissingDependencyError(exc.name or self.kind, self.traits.extra) from None

    def _connect_duckdb(self) -> BaseBackend:
        import ibis

        path = self.url.removeprefix("duckdb://").removeprefix("/")
        if not path or path == ":memory:":
            return ibis.duckdb.connect()
        file = Path(path) if Path(path).is_absolute() else self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            return ibis.duckdb.connect(str(file))
        except Exception as exc:  # duckdb.IOException: locked by another process
            raise StoreError(f"cannot open analytics store {file}: {exc}") from None

    def _connect_spark(self) -> BaseBackend:
        import ibis

        from smokejumper.store.spark import register_warehouse_tables, spark_session

        master = self.url.removeprefix("spark://") or "local[2]"
        warehouse = self.root / "spark-warehouse"
        session = spark_session(master, warehouse)
        register_warehouse_tables(session, self._known_schemas())
        return ibis.pyspark.connect(session)

    def _connect_postgres(self) -> BaseBackend:
        import ibis

        url = self.url.replace("postgres://", "postgresql://", 1)
        try:
            return ibis.connect(url)
        except Exception as exc:
            raise StoreError(f"cannot connect to PostgreSQL analytics store: {exc}") from None

    def _known_schemas(self) -> dict[str, dict[str, str]]:
        """Every table this version creates, with its columns (for engines that must be told)."""
        schemas = {name: {col: str(kind) for col, kind in ibis_schema(self.spec(name)).items()}
                   for name in TABLES}
        schemas[LOADS_TABLE] = dict(LOADS_SCHEMA)
        schemas[REJECTS_TABLE] = dict(REJECTS_SCHEMA)
        schemas[ENRICHMENTS_TABLE] = dict(ENRICHMENTS_SCHEMA)
        schemas[ENRICHMENT_THEMES_TABLE] = dict(ENRICHMENT_THEMES_SCHEMA)
        schemas[SCHEMA_TABLE] = {"version": "int64", "applied_at": "timestamp"}
        return schemas

    @property
    def raw(self) -> Any:
        """The engine's own connection (DuckDB connection, SparkSession, psycopg connection)."""
        return self.backend.con if self.kind != "spark" else self.backend._session  # type: ignore[attr-defined]

    @contextmanager
    def engine_memory(self, limit: str | None) -> Iterator[None]:
        """Cap the embedded engine's memory (DuckDB ``memory_limit``, e.g. ``"64MB"``) for
        the duration of the block, then restore the setting it had.

        DuckDB keeps every table block it has read or written cached up to its limit
        (80 % of RAM by default), so a long streaming job that writes as it reads would
        otherwise grow with its input; under a cap the engine evicts (and spills, if a
        query ever needs more). Other engines manage their own memory: no-op. The limit
        in force before is restored as DuckDB shows it, to 0.05 of its unit.
        """
        if limit is not None and not MEMORY_LIMIT.fullmatch(limit):
            raise StoreError(f"invalid memory limit {limit!r}; expected e.g. 64MB or 1GB")
        if limit is None or self.kind != "duckdb":
            yield
            return
        con = self.raw
        before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        con.execute(f"SET memory_limit = '{limit}'")
        self._limit_before = _restorable(before)
        try:
            yield
        finally:
            self._limit_before = None
            con.execute(f"SET memory_limit = '{_restorable(before)}'")

    _limit_before: str | None = None

    @contextmanager
    def streaming_appends(self, checkpoint_every: str = "4MiB",
                          threads: int = STREAMING_THREADS) -> Iterator[None]:
        """For a job that appends to a table in many small transactions: let the embedded
        engine checkpoint every ``checkpoint_every`` of log (or at its own threshold if
        lower), write the new rows as row groups of their own, without merging them into
        the table's earlier row groups, and run on at most ``threads`` threads; then
        restore the three settings.

        DuckDB (1.4 on) puts rows appended after a checkpoint in a new row group, and each
        checkpoint's vacuum merges the table's trailing small row groups again, rewriting
        (and compressing, in memory outside its buffer manager) up to a full row group of
        122,880 rows: a streaming job's peak memory then grows with its output until it has
        written that many rows. With vacuum tasks off (``max_vacuum_tasks = 0``) a
        checkpoint writes only what was appended since the last one, which the lower
        ``checkpoint_threshold`` keeps small. Deleted rows are not vacuumed meanwhile
        either; a later checkpoint does it. On many cores the peak still grew with the
        output (16 cores, one process, lexicon enrichment: 59 MB at 12,500 comments, 95 MB
        at 100,000), and no longer with two threads (52 and 72 MB, as on 2 cores), so the
        job's small pages run on ``threads``. Other engines, or a DuckDB without the
        settings: no-op.
        """
        if not MEMORY_LIMIT.fullmatch(checkpoint_every):
            raise StoreError(f"invalid log size {checkpoint_every!r}; expected e.g. 4MiB")
        if self.kind != "duckdb":
            yield
            return
        con = self.raw
        found = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('max_vacuum_tasks', 'checkpoint_threshold', 'threads')").fetchall())
        if len(found) < 3:
            yield
            return
        try:
            con.execute(f"SET threads = {max(1, min(threads, int(found['threads'])))}")
            con.execute("SET max_vacuum_tasks = 0")
            con.execute(f"SET checkpoint_threshold = '{checkpoint_every}'")
            now = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
            if _bytes(now) > _bytes(found["checkpoint_threshold"]):  # it was lower: keep it
                con.execute(f"SET checkpoint_threshold = "
                            f"'{_restorable(found['checkpoint_threshold'])}'")
            yield
        finally:
            restore = [f"SET checkpoint_threshold = "
                       f"'{_restorable(found['checkpoint_threshold'])}'",
                       f"SET max_vacuum_tasks = {int(found['max_vacuum_tasks'])}",
                       f"SET threads = {int(found['threads'])}"]
            for statement in restore:  # each one even if another fails (a lost database)
                with suppress(Exception):
                    con.execute(statement)

    def lift_engine_memory(self) -> bool:
        """Inside :meth:`engine_memory`: give the engine back the limit it had (for the rest
        of the block), e.g. when a statement ran out of memory under the cap. Returns
        whether there was a cap to lift."""
        if self._limit_before is None:
            return False
        self.raw.execute(f"SET memory_limit = '{self._limit_before}'")
        self._limit_before = None
        return True

    def close(self) -> None:
        if "backend" in self.__dict__:
            if self.kind != "spark":
                self.backend.disconnect()
            del self.__dict__["backend"]

    # -- tables ------------------------------------------------------------------------------
    def spec(self, name: str) -> TableSpec:
        return table_spec(name, self.dimensions)

    def table(self, name: str) -> ir.Table:
        """An Ibis table expression over a canonical (or bookkeeping) table."""
        if name not in self.backend.list_tables():
            if name in TABLES or name in (ENRICHMENTS_TABLE, ENRICHMENT_THEMES_TABLE):
                self.ensure_schema()
            else:
                raise StoreError(f"table '{name}' does not exist in the analytics store")
        return self.backend.table(name)

    def row_count(self, name: str) -> int:
        return int(self.table(name).count().execute())

    def execute_sql(self, sql: str) -> None:
        """Run one DDL/DML statement on the engine (used by migrations)."""
        if self.kind == "spark":
            self.raw.sql(sql)
        elif self.kind == "duckdb":
            self.raw.execute(sql)
        else:
            with self.raw.cursor() as cursor:
                cursor.execute(sql)
            self.raw.commit()

    # -- schema versions -----------------------------------------------------------------------
    def schema_version(self) -> int:
        if SCHEMA_TABLE not in self.backend.list_tables():
            return 0
        versions = self.backend.table(SCHEMA_TABLE).version.max().execute()
        return int(versions) if versions is not None else 0

    def ensure_schema(self) -> int:
        """Apply pending numbered migrations and add configured dimension columns.

        Returns the schema version now in force.
        """
        from smokejumper.store.analytics_migrations import upgrade

        version = upgrade(self)
        self._add_dimension_columns()
        return version

    def _add_dimension_columns(self) -> None:
        for name in ("responses", "interactions"):
            existing = set(self.backend.table(name).schema().names)
            for column in self.spec(name).extra_columns:
                if column not in existing:
                    self.execute_sql(self.traits.add_column_sql.format(
                        table=name, column=column, type=self.traits.string_sql_type))
