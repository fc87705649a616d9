"""Where a load is written: one staging-and-classify path, three small writers.

Staging, validation and classification always run in an in-process DuckDB. On the
default DuckDB store that *is* the store's connection (temp tables, then one
``BEGIN .. COMMIT``); on PostgreSQL and Spark it is a private in-memory DuckDB into which
only the target's keys and row hashes are pulled, and the writer then sends the new and
changed rows: PostgreSQL in one transaction on the backend's connection, Spark (no
transactions) by rewriting the table through Ibis. Which writer an engine gets is data
(:data:`WRITERS`), keyed by the store's kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from smokejumper.errors import StoreError
from smokejumper.ingest.readers import sql_name, sql_string
from smokejumper.ingest.validate import hash_sql, parse_stored_hash, stored_hash
from smokejumper.schema import LOAD_ID, ROW_HASH, TableSpec
from smokejumper.store.analytics import LOADS_SCHEMA, LOADS_TABLE, REJECTS_TABLE, AnalyticsStore

#: staging tables the writers read (created by :mod:`.load`)
CHANGES = "_sj_changes"      # view: the rows to write, canonical columns + _row_hash
REPLACED = "_sj_replaced"    # view: keys of existing rows that a changed row replaces
REJECTS = "_sj_rejects"      # table: REJECTS_SCHEMA columns, plus _file and _values
LOADS = "_sj_loads"          # table: one row per file, LOADS_SCHEMA columns


@dataclass(frozen=True)
class WritePlan:
    """What to write, all of it already in the staging connection."""

    spec: TableSpec
    load_id: str
    workdir: Path
    has_changes: bool

    @property
    def columns(self) -> list[str]:
        return [*self.spec.column_names, ROW_HASH, LOAD_ID]


class Writer(Protocol):
    """How one engine receives a load."""

    def staging(self) -> duckdb.DuckDBPyConnection: ...

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give back the staging connection once the load is over."""
        ...

    def existing_sql(self, con: duckdb.DuckDBPyConnection, spec: TableSpec, keys_table: str) -> str:
        """A query giving, per key of ``keys_table`` already in the target, ``_existing_hash``."""
        ...

    def write(self, con: duckdb.DuckDBPyConnection, plan: WritePlan,
              before_commit: Any = None) -> None: ...


def _key_join(spec: TableSpec, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{sql_name(k)} = {right}.{sql_name(k)}" for k in spec.key)


def _select_changes(plan: WritePlan) -> str:
    cols = ", ".join(sql_name(c) for c in plan.spec.column_names)
    return (f"SELECT {cols}, {stored_hash(ROW_HASH)} AS {ROW_HASH}, "
            f"{sql_string(plan.load_id)} AS {LOAD_ID} FROM {CHANGES}")


class DuckDBWriter:
    """The default store: stage in its own connection, write in one transaction."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store

    def staging(self) -> duckdb.DuckDBPyConnection:
        return self.store.raw

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        return None  # the store's own connection stays open

    def existing_sql(self, con: duckdb.DuckDBPyConnection, spec: TableSpec,
                     keys_table: str) -> str:
        keys = ", ".join(f"t.{sql_name(k)}" for k in spec.key)
        # hashed from the stored content in the same query: no stored hash to trust
        digest = hash_sql(spec, lambda n: f"t.{sql_name(n)}")
        return (f"SELECT {keys}, any_value({digest}) AS _existing_hash "
                f"FROM main.{sql_name(spec.name)} t SEMI JOIN {keys_table} k "
                f"ON {_key_join(spec, 't', 'k')} GROUP BY ALL")

    def write(self, con: duckdb.DuckDBPyConnection, plan: WritePlan,
              before_commit: Any = None) -> None:
        table = f"main.{sql_name(plan.spec.name)}"
        columns = ", ".join(sql_name(c) for c in plan.columns)
        con.execute("BEGIN TRANSACTION")
        try:
            if plan.has_changes:
                con.execute(f"DELETE FROM {table} t USING {REPLACED} r "
                            f"WHERE {_key_join(plan.spec, 't', 'r')}")
                con.execute(f"INSERT INTO {table} ({columns}) {_select_changes(plan)}")
            con.execute(f"INSERT INTO main.{LOADS_TABLE} BY NAME SELECT * FROM {LOADS}")
            con.execute(f"INSERT INTO main.{REJECTS_TABLE} BY NAME "
                        f"SELECT * EXCLUDE (_file, _values) FROM {REJECTS}")
            if before_commit is not None:
                before_commit()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _pull_existing(store: AnalyticsStore, con: duckdb.DuckDBPyConnection, spec: TableSpec,
                   keys_table: str) -> str:
    """Copy the target's keys and hashes into staging (nothing else leaves the target)."""
    try:
        keys = store.table(spec.name).select(*spec.key, ROW_HASH).to_pyarrow()
    except Exception as exc:  # engine errors
        raise StoreError(f"cannot read the keys of '{spec.name}': {exc}") from None
    con.register("_sj_existing_keys", keys)
    key_list = ", ".join(f"t.{sql_name(k)}" for k in spec.key)
    return (f"SELECT {key_list}, any_value({parse_stored_hash('t.' + ROW_HASH)}) "
            "AS _existing_hash "
            f"FROM _sj_existing_keys t SEMI JOIN {keys_table} k "
            f"ON {_key_join(spec, 't', 'k')} GROUP BY ALL")


class _StagedWriter:
    """Stores other than DuckDB: stage and classify in an in-memory DuckDB; only keys and
    hashes are pulled from the target."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store

    def staging(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        con.close()

    def existing_sql(self, con: duckdb.DuckDBPyConnection, spec: TableSpec,
                     keys_table: str) -> str:
        return _pull_existing(self.store, con, spec, keys_table)


class PostgresWriter(_StagedWriter):
    """PostgreSQL: stage in memory, then COPY and swap rows in one transaction."""

    def write(self, con: duckdb.DuckDBPyConnection, plan: WritePlan,
              before_commit: Any = None) -> None:
        changes = plan.workdir / "changes.csv"
        rejects = plan.workdir / "rejects.csv"
        con.execute(f"COPY ({_select_changes(plan)}) TO {sql_string(str(changes))} "
                    "(FORMAT csv, HEADER false)")
        con.execute(f"COPY (SELECT load_id, table_name, line, column_name, reason, raw "
                    f"FROM {REJECTS}) TO {sql_string(str(rejects))} (FORMAT csv, HEADER false)")
        loads = con.execute(f"SELECT {', '.join(LOADS_SCHEMA)} FROM {LOADS}").fetchall()
        pg = self.store.raw
        table = sql_name(plan.spec.name)
        columns = ", ".join(sql_name(c) for c in plan.columns)
        keys = " AND ".join(f"t.{sql_name(k)} = n.{sql_name(k)}" for k in plan.spec.key)
        try:
            with pg.transaction(), pg.cursor() as cursor:
                if plan.has_changes:
                    cursor.execute(f"CREATE TEMP TABLE _sj_new (LIKE {table}) ON COMMIT DROP")
                    _copy_file(cursor, f"COPY _sj_new ({columns}) FROM STDIN (FORMAT csv)",
                               changes)
                    cursor.execute(f"DELETE FROM {table} t USING _sj_new n WHERE {keys}")
                    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} "
                                   "FROM _sj_new")
                placeholders = ", ".join(["%s"] * len(LOADS_SCHEMA))
                cursor.executemany(f"INSERT INTO {LOADS_TABLE} ({', '.join(LOADS_SCHEMA)}) "
                                   f"VALUES ({placeholders})", loads)
                _copy_file(cursor, f"COPY {REJECTS_TABLE} (load_id, table_name, line, "
                           "column_name, reason, raw) FROM STDIN (FORMAT csv)", rejects)
                if before_commit is not None:
                    before_commit()
        except Exception as exc:
            if not type(exc).__module__.startswith("psycopg"):
                raise
            raise StoreError(f"PostgreSQL refused the load (nothing was written): {exc}") \
                from None


def _copy_file(cursor: Any, statement: str, path: Path) -> None:
    with cursor.copy(statement) as copy, path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)


class SparkWriter(_StagedWriter):
    """Spark has no transactions: write the new content beside the table, then over it."""

    def write(self, con: duckdb.DuckDBPyConnection, plan: WritePlan,
              before_commit: Any = None) -> None:
        import ibis

        from smokejumper.store.analytics import ibis_schema

        backend = self.store.backend
        name = plan.spec.name
        schema = ibis_schema(plan.spec)
        loads = con.execute(f"SELECT * FROM {LOADS}").to_arrow_table()
        rejects = con.execute(f"SELECT * EXCLUDE (_file, _values) FROM {REJECTS}").to_arrow_table()
        if plan.has_changes:
            changes_file = plan.workdir / "changes.parquet"
            con.execute(f"COPY ({_select_changes(plan)}) TO {sql_string(str(changes_file))} "
                        "(FORMAT parquet)")
            changes = backend.read_parquet(str(changes_file)).cast(schema)
            current = backend.table(name)
            keys: Sequence[str] = plan.spec.key
            kept = current.anti_join(changes.select(*keys), list(keys))
            # the new content is written beside the table, then over it; INSERT OVERWRITE
            # keeps the table itself (managed, or registered from the warehouse folder)
            staged = "_sj_new_" + name + "_" + plan.load_id.replace("-", "_").lower()
            backend.create_table(staged, kept.union(changes).select(*schema.names))
            try:
                if before_commit is not None:
                    before_commit()
                columns = ", ".join(f"`{c}`" for c in current.columns)
                self.store.raw.sql(f"INSERT OVERWRITE TABLE `{name}` SELECT {columns} "
                                   f"FROM `{staged}`")
            finally:
                backend.drop_table(staged, force=True)
        backend.insert(LOADS_TABLE, ibis.memtable(loads).cast(ibis.schema(LOADS_SCHEMA)))
        if rejects.num_rows:
            backend.insert(REJECTS_TABLE, ibis.memtable(rejects))


WRITERS: dict[str, type[DuckDBWriter] | type[PostgresWriter] | type[SparkWriter]] = {
    "duckdb": DuckDBWriter,
    "postgres": PostgresWriter,
    "spark": SparkWriter,
}


def writer_for(store: AnalyticsStore) -> Writer:
    """The writer for the store's engine."""
    return WRITERS[store.kind](store)
