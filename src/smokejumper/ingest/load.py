"""``ingest_files``: load files into a canonical table so that nothing is lost.

The steps, all in DuckDB SQL (never row by row in Python):

1. **stage** each file: read it (:mod:`.readers`), type, check and hash every record in
   one query (:mod:`.validate`) into a temp table; unreadable records come back from the
   reader's rejects table. A file that is not what it claims raises :class:`IngestError`
   here, before anything is written.
2. **classify** the valid rows of all files against the target by key. When a key occurs
   more than once in one load (in one file or across files, in file order), the *last*
   occurrence wins. The winning row is *inserted* (new key), *updated* (its content
   differs from the stored row) or *duplicate* (same content). Earlier occurrences are
   *duplicate* if they have the winner's content or if the load leaves the key as it was,
   else *updated* (a version superseded within the load). Hence ``read == inserted +
   updated + duplicate + rejected``, the table grows by exactly ``inserted`` rows, and
   loading the same file again gives only duplicates.
3. **write** new and changed rows, the load log (``_loads``, with each file's SHA-256) and
   the rejected rows (``_rejects``) in one transaction (:mod:`.targets`); then move the
   rejects files (:mod:`.rejects`) into ``<workspace>/<rejects_dir>/``. Loading the same
   file twice changes nothing; a load killed midway leaves the store as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from smokejumper.errors import IngestError
from smokejumper.ingest.mappings import Mapping, plan_columns, resolve_mapping
from smokejumper.ingest.readers import (
    Source,
    detect_format,
    open_source,
    reader_rejects_sql,
    sql_name,
    sql_string,
)
from smokejumper.ingest.rejects import rejects_file_name, write_rejects_file
from smokejumper.ingest.summary import FileSummary, IngestSummary
from smokejumper.ingest.targets import (
    CHANGES,
    LOADS,
    REJECTS,
    REPLACED,
    WritePlan,
    Writer,
    writer_for,
)
from smokejumper.ingest.validate import WHOLE_LINE, stage_sql
from smokejumper.reporter import Reporter
from smokejumper.schema import TableSpec

if TYPE_CHECKING:
    from smokejumper.workspace import Workspace

#: a quote left open swallows the lines after it into one value: then rows cannot be told
#: apart any more and the file is refused (a bad quote within one line is a rejected row)
_MAX_SWALLOWED_LINES = 1
#: a file whose records are mostly unreadable is not the CSV / JSON Lines it claims to be
_UNREADABLE_SHARE = 0.5
_UNREADABLE_MINIMUM = 10


def new_load_id() -> str:
    """A sortable, unique load id: UTC time plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def _tracked(con: duckdb.DuckDBPyConnection, reporter: Reporter,
             description: str) -> Iterator[None]:
    """A progress bar fed by DuckDB's own progress of the running query."""
    done = threading.Event()
    with reporter.progress(description, total=100) as bar:
        shown = 0.0

        def poll() -> None:
            nonlocal shown
            while not done.wait(0.2):
                try:
                    value = float(con.query_progress())
                except Exception:  # no query running yet, or it just finished
                    continue
                if value > shown:
                    bar.advance(value - shown)
                    shown = value

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            if shown < 100:
                bar.advance(100 - shown)


@contextmanager
def _released(writer: Writer, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    try:
        yield
    finally:
        writer.release(con)


class _Staging:
    """Temp tables and session settings of one load, cleaned up whatever happens."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.tables: list[str] = []
        self.views: list[str] = []
        self._timezone: str | None = None

    def __enter__(self) -> _Staging:
        self._timezone = _one(self.con, "SELECT current_setting('TimeZone')")[0]
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        return self

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        self.tables.append(name)

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
        self.views.append(name)

    def timezone(self, zone: str) -> None:
        self.con.execute(f"SET TimeZone = {sql_string(zone)}")

    def __exit__(self, *exc: object) -> None:
        for name in reversed(self.views):
            self.con.execute(f"DROP VIEW IF EXISTS temp.{name}")
        for name in reversed(self.tables):
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")
        if self._timezone:
            self.con.execute(f"SET TimeZone = {sql_string(self._timezone)}")


class _StagedFile:
    """One file after staging: its source, plan and counts."""

    def __init__(self, source: Source, table: str, ignored: tuple[str, ...],
                 columns: dict[str, str]) -> None:
        self.source = source
        self.table = table
        self.ignored = ignored
        self.columns = columns
        self.read = 0
        self.rejected = 0
        self.counts: dict[str, int] = {}
        self.rejects_file: Path | None = None


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row a query returns (aggregates always return one)."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stage_file(staging: _Staging, index: int, path: Path, spec: TableSpec, mapping: Mapping,
                workspace_timezone: str, workdir: Path, reporter: Reporter) -> _StagedFile:
    con = staging.con
    fmt = detect_format(path, mapping.format)
    source = open_source(con, index, path, fmt, mapping.header_rows if fmt == "csv" else 0,
                         workdir)
    staging.tables.extend(source.temp_tables)
    plan = plan_columns(spec, source.names, mapping, workspace_timezone, path.name,
                        source.header_records)
    if plan.ignored:
        shown = ", ".join(plan.ignored[:10]) + (", ..." if len(plan.ignored) > 10 else "")
        reporter.warn(f"{path.name}: {len(plan.ignored)} column(s) not in table "
                      f"'{spec.name}' ignored: {shown}")
    staging.timezone(plan.timezone)
    stage = f"_sj_stage_{index}"
    relation = stage_sql(source, plan, spec)
    if source.format == "csv" and len(source.names) == 1:
        # a one-column CSV reads a blank line as an empty record: skip it like DuckDB
        # skips blank lines of wider files
        relation = f"SELECT * FROM ({relation}) WHERE NOT (_reject_reason IS NOT NULL AND " \
                   f"_raw[1] IS NULL)"
        source.blank_lines = []
    try:
        with _tracked(con, reporter, f"Reading {path.name}"):
            for statement in source.prepare:
                con.execute(statement)
        with _tracked(con, reporter, f"Checking {path.name}"):
            staging.table(stage, relation)
    except duckdb.Error as exc:
        raise IngestError(f"{path.name}: cannot be read as {fmt}: {_first_line(exc)}") \
            from None
    if source.prepare:  # the raw copy has served; free its memory now
        con.execute(f"DROP TABLE IF EXISTS temp._sj_raw_{index}")

    reader_sql = reader_rejects_sql(source)
    unreadable = f"_sj_unreadable_{index}"
    if reader_sql is None:
        staging.table(unreadable, "SELECT NULL::BIGINT AS line, NULL::VARCHAR AS reason, "
                      "NULL::VARCHAR AS raw WHERE false")
    else:
        staging.table(unreadable, reader_sql)
    _refuse_broken(con, source, stage, unreadable)
    columns = {c: n for c in spec.column_names if (n := plan.source_name(c)) is not None}
    staged = _StagedFile(source, spec.name, plan.ignored, columns)
    return staged


def _refuse_broken(con: duckdb.DuckDBPyConnection, source: Source, stage: str,
                   unreadable: str) -> None:
    """One clear error, before anything is written, for a file beyond recovery."""
    label = source.label
    header = _one(con, f"SELECT min(line), any_value(reason) FROM {unreadable} "
                       f"WHERE line <= {source.header_rows}")
    if header[0] is not None:
        raise IngestError(f"{label}: header line {header[0]} cannot be read ({header[1]}); "
                          "check the delimiter and quoting")
    swallowed = con.execute(
        f"SELECT line, length(raw) - length(replace(raw, chr(10), '')) AS breaks "
        f"FROM {unreadable} WHERE reason LIKE 'broken quoting%' OR reason LIKE 'line too long%'"
        f" ORDER BY breaks DESC LIMIT 1").fetchone()
    if swallowed is not None and swallowed[1] > _MAX_SWALLOWED_LINES:
        raise IngestError(f"{label}: broken quoting: the quote opened on line {swallowed[0]} "
                          f"is never closed where it should be, so the {swallowed[1]} lines "
                          "after it cannot be split into rows; fix the quote and load the "
                          "file again")
    bad_reader = _one(con, f"SELECT count(*) FROM {unreadable} "
                           f"WHERE line > {source.header_rows}")[0]
    total, bad_source = _one(
        con, f"SELECT count(*), count(*) FILTER (_reject_column = {sql_string(WHOLE_LINE)}) "
             f"FROM {stage}")
    bad, read = bad_reader + bad_source, total + bad_reader
    if read and (bad == read or (bad >= _UNREADABLE_MINIMUM and bad > read * _UNREADABLE_SHARE)):
        example = con.execute(f"SELECT reason FROM {unreadable} UNION ALL "
                              f"SELECT _reject_reason FROM {stage} WHERE _reject_column = "
                              f"{sql_string(WHOLE_LINE)} LIMIT 1").fetchone()
        what = {"csv": "CSV with the columns of its header", "jsonl": "JSON Lines"}.get(
            source.format, source.format)
        raise IngestError(f"{label}: {bad} of {read} records cannot be read, so this is not "
                          f"the {what} it claims to be (e.g. {example[0] if example else '?'})")


def _line_numbers(staging: _Staging, source: Source) -> str:
    """SQL: the file line of each rejected row of a staged file.

    DuckDB numbers the records it returns, skipping unreadable records and blank lines,
    which it still counts as lines. Record ``k`` is therefore on line ``k + #{skipped
    line s_i : s_i - i < k}`` (``s_i`` sorted), computed with an ASOF join.
    """
    i = source.index
    stage = f"_sj_stage_{i}"
    if source.format == "parquet":
        return f"SELECT _ord, _ord AS line FROM {stage} WHERE _reject_reason IS NOT NULL"
    skipped = f"_sj_skipped_{i}"
    blanks = ", ".join(str(n) for n in source.blank_lines) or "NULL"
    staging.table(skipped, f"""
        SELECT g, max(n) AS n FROM (
          SELECT line - row_number() OVER (ORDER BY line) AS g,
                 row_number() OVER (ORDER BY line) AS n
          FROM (SELECT DISTINCT line FROM (SELECT line FROM _sj_unreadable_{i} UNION ALL
                SELECT unnest([{blanks}]::BIGINT[])) WHERE line IS NOT NULL))
        GROUP BY g""")
    return (f"SELECT s._ord, s._ord + coalesce(k.n, 0) AS line FROM "
            f"(SELECT _ord FROM {stage} WHERE _reject_reason IS NOT NULL) s "
            f"ASOF LEFT JOIN {skipped} k ON s._ord > k.g")


def _collect_rejects(staging: _Staging, files: Sequence[_StagedFile], load_id: str) -> None:
    parts: list[str] = []
    for staged in files:
        source = staged.source
        i = source.index
        names = source.names if source.format != "jsonl" else []
        if names:
            pairs = ", ".join(f"{sql_string(n)}, _raw[{k + 1}]" for k, n in enumerate(names))
            raw_text = f"CAST(json_object({pairs}) AS VARCHAR)"
        else:
            raw_text = "_raw[1]"
        lines = _line_numbers(staging, source)
        parts.append(
            f"SELECT {i} AS _file, s._raw AS _values, l.line, s._reject_column AS column_name, "
            f"s._reject_reason AS reason, {raw_text} AS raw "
            f"FROM _sj_stage_{i} s JOIN ({lines}) l USING (_ord)")
        parts.append(
            f"SELECT {i}, NULL::VARCHAR[], line, {sql_string(WHOLE_LINE)}, reason, raw "
            f"FROM _sj_unreadable_{i} WHERE line > {source.header_rows}")
    union = " UNION ALL ".join(parts)
    staging.table(REJECTS, f"SELECT _file, _values, {sql_string(load_id)} AS load_id, "
                  f"{sql_string(files[0].table)} AS table_name, line, column_name, reason, raw "
                  f"FROM ({union})")


def _classify(staging: _Staging, files: Sequence[_StagedFile], spec: TableSpec,
              writer: Writer) -> None:
    """Give every valid row its outcome (see the module docstring) and pick what to write."""
    con = staging.con
    keys = ", ".join(sql_name(k) for k in spec.key)
    accepted = " UNION ALL ".join(
        f"SELECT {f.source.index} AS _file, _ord, {keys}, _row_hash FROM "
        f"_sj_stage_{f.source.index} WHERE _reject_reason IS NULL" for f in files)
    staging.table("_sj_accepted", accepted)
    staging.table("_sj_existing", writer.existing_sql(con, spec, "_sj_accepted"))
    position = "((_file::BIGINT << 40) + _ord)"      # file order, then record order
    a_position = "((a._file::BIGINT << 40) + a._ord)"
    staging.table("_sj_repeated", f"""
        SELECT r.*, e._found IS NOT NULL AS _existed,
          CASE WHEN e._found IS NULL THEN 'inserted'
               WHEN e._existing_hash = r._last_hash THEN 'duplicate' ELSE 'updated' END
            AS _last_outcome
        FROM (SELECT {keys}, max({position}) AS _last,
                     arg_max(_row_hash, {position}) AS _last_hash
              FROM _sj_accepted GROUP BY ALL HAVING count(*) > 1) r
        LEFT JOIN (SELECT *, true AS _found FROM _sj_existing) e USING ({keys})""")
    staging.table("_sj_classified", f"""
        SELECT a._file, a._ord, {keys}, e._found IS NOT NULL AS _existed,
          CASE WHEN e._found IS NULL THEN 'inserted'
               WHEN e._existing_hash = a._row_hash THEN 'duplicate' ELSE 'updated' END
            AS _outcome,
          a._row_hash IS DISTINCT FROM e._existing_hash AS _write
        FROM _sj_accepted a ANTI JOIN _sj_repeated r USING ({keys})
        LEFT JOIN (SELECT *, true AS _found FROM _sj_existing) e USING ({keys})
        UNION ALL
        SELECT a._file, a._ord, {keys}, r._existed,
          CASE WHEN r._last_outcome = 'duplicate' THEN 'duplicate'
               WHEN {a_position} = r._last THEN r._last_outcome
               WHEN a._row_hash = r._last_hash THEN 'duplicate' ELSE 'updated' END,
          {a_position} = r._last AND r._last_outcome <> 'duplicate'
        FROM _sj_accepted a JOIN _sj_repeated r USING ({keys})""")
    for staged in files:
        staged.counts = {"inserted": 0, "updated": 0, "duplicate": 0}
    for index, outcome, count in con.execute(
            "SELECT _file, _outcome, count(*) FROM _sj_classified GROUP BY ALL").fetchall():
        files[index].counts[outcome] = int(count)
    stages = " UNION ALL ".join(f"SELECT {f.source.index} AS _file, * EXCLUDE (_raw) "
                                f"FROM _sj_stage_{f.source.index}" for f in files)
    written, accepted = _one(con, "SELECT count(*) FILTER (_write), count(*) "
                                  "FROM _sj_classified")
    if written == accepted:  # every valid row is written (a first load): no join needed
        staging.view(CHANGES, f"SELECT * FROM ({stages}) WHERE _reject_reason IS NULL")
    else:
        staging.view(CHANGES, f"SELECT s.* FROM ({stages}) s SEMI JOIN "
                              f"(SELECT _file, _ord FROM _sj_classified WHERE _write) c "
                              "USING (_file, _ord)")
    staging.view(REPLACED, f"SELECT {keys} FROM _sj_classified WHERE _write AND _existed")


def _count_rejects(con: duckdb.DuckDBPyConnection, files: Sequence[_StagedFile]) -> None:
    for staged in files:
        staged.rejected = 0
    for index, count in con.execute(f"SELECT _file, count(*) FROM {REJECTS} "
                                    "GROUP BY ALL").fetchall():
        files[index].rejected = int(count)
    for staged in files:
        i = staged.source.index
        staged.read = sum(staged.counts.values()) + staged.rejected
        stage_rows = _one(con, f"SELECT count(*) FROM _sj_stage_{i}")[0]
        unreadable = _one(con, f"SELECT count(*) FROM _sj_unreadable_{i} "
                               f"WHERE line > {staged.source.header_rows}")[0]
        if staged.read != stage_rows + unreadable:  # pragma: no cover - a bug, not a user error
            raise AssertionError(f"{staged.source.label}: counts do not reconcile "
                                 f"({staged.read} != {stage_rows} + {unreadable})")


def _loads_rows(staging: _Staging, files: Sequence[_StagedFile], load_id: str,
                mapping: str | None, started_at: datetime) -> None:
    finished = _utcnow()
    rows = []
    for f in files:
        rows.append(
            f"({sql_string(load_id)}, {sql_string(f.table)}, "
            f"{sql_string(str(f.source.path.resolve()))}, {sql_string(f.source.sha256)}, "
            f"{sql_string(mapping) if mapping else 'NULL'}, "
            f"TIMESTAMP {sql_string(started_at.isoformat(sep=' '))}, "
            f"TIMESTAMP {sql_string(finished.isoformat(sep=' '))}, {f.read}, "
            f"{f.counts['inserted']}, {f.counts['updated']}, {f.counts['duplicate']}, "
            f"{f.rejected})")
    staging.table(LOADS, "SELECT * FROM (VALUES " + ", ".join(rows) + ") AS t(load_id, "
                  "table_name, source, source_sha256, mapping, started_at, finished_at, "
                  "read, inserted, updated, duplicate, rejected)")


def ingest_files(workspace: Workspace, files: Sequence[Path], table: str, *,
                 mapping: str | None = None,
                 before_commit: Callable[[], Any] | None = None) -> IngestSummary:
    """Load ``files`` into the canonical ``table`` in one transaction.

    Every row of every file ends as exactly one of inserted, updated, duplicate or
    rejected; the summary reconciles. ``before_commit`` is a test hook run inside the
    transaction, after everything is written and before it is committed.

    >>> import tempfile, pathlib, smokejumper
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "r.csv").write_text("response_id,ts,nps\\nr1,2024-05-01 10:00,9\\n"
    ...                                  "r2,2024-05-01 11:00,11\\n")
    >>> ws = smokejumper.Workspace.init(root / "ws")
    >>> s = ingest_files(ws, [root / "r.csv"], "responses")
    >>> s.read, s.inserted, s.rejected
    (2, 1, 1)
    """
    if not files:
        raise IngestError("no files to load")
    store = workspace.analytics  # opened (and migrated) before the clock starts
    started = time.perf_counter()
    started_at = _utcnow()
    spec = store.spec(table)
    resolved = resolve_mapping(workspace.config.mappings, mapping, table)
    load_id = new_load_id()
    writer = writer_for(store)
    reporter = workspace.reporter
    paths = [Path(f).expanduser() for f in files]
    for path in paths:
        if not path.exists():
            raise IngestError(f"{path}: no such file")
        if not path.is_file():
            raise IngestError(f"{path}: not a file")
    rejects_dir = workspace.root / workspace.config.ingest.rejects_dir
    con = writer.staging()
    with tempfile.TemporaryDirectory(prefix="smokejumper-ingest-") as tmp, \
            _released(writer, con), _Staging(con) as staging:
        workdir = Path(tmp)
        staged = [_stage_file(staging, i, p, spec, resolved, workspace.config.workspace.timezone,
                              workdir, reporter) for i, p in enumerate(paths)]
        _collect_rejects(staging, staged, load_id)
        _classify(staging, staged, spec, writer)
        _count_rejects(con, staged)
        _loads_rows(staging, staged, load_id, mapping, started_at)

        pending: list[tuple[Path, Path]] = []
        for f in staged:
            if f.rejected:
                temporary = workdir / rejects_file_name(f.source, load_id)
                write_rejects_file(con, f.source, temporary)
                f.rejects_file = rejects_dir / temporary.name
                pending.append((temporary, f.rejects_file))
        has_changes = _one(con, "SELECT count(*) FROM _sj_classified WHERE _write")[0] > 0
        plan = WritePlan(spec, load_id, workdir, has_changes)
        with _tracked(con, reporter, f"Writing {spec.name}"):
            writer.write(con, plan, before_commit)
        if pending:
            rejects_dir.mkdir(parents=True, exist_ok=True)
            for temporary, final in pending:
                shutil.move(os.fspath(temporary), os.fspath(final))

    summaries = tuple(
        FileSummary(
            path=str(f.source.path), format=f.source.format, read=f.read,
            inserted=f.counts["inserted"], updated=f.counts["updated"],
            duplicate=f.counts["duplicate"], rejected=f.rejected, sha256=f.source.sha256,
            encoding=f.source.encoding, delimiter=f.source.delimiter,
            rejects_file=f.rejects_file, ignored_columns=f.ignored, columns=f.columns)
        for f in staged)
    return IngestSummary.combine(spec.name, load_id, summaries, mapping,
                                 time.perf_counter() - started)
