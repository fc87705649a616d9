"""Readers: a CSV, Parquet or JSON Lines file as one DuckDB relation of records.

Every reader gives the same shape, so validation is written once (:mod:`.validate`):
``_ord`` (the record's position, header records included), the file's columns as
``c0 .. cN`` and ``_source_error`` (set when the record itself is unreadable, e.g. a JSON
line that is not an object). Records DuckDB's CSV parser cannot split (wrong number of
columns, broken quoting, invalid UTF-8) never reach the relation: with
``store_rejects=true`` they land, with their line numbers, in a per-file rejects table,
and :mod:`.load` turns them into rejected rows. Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smokejumper.errors import IngestError
from smokejumper.ingest.encoding import blank_line_numbers, file_sha256, inspect_text_file

FORMATS = ("csv", "parquet", "jsonl")
EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
#: a byte that cannot occur in valid JSON text, used as the "delimiter" to read JSON lines
_JSONL_DELIMITER = "\x1f"
#: DuckDB CSV error types, in words a CX analyst understands
_READER_REASONS = {
    "INVALID ENCODING": "'unreadable characters (binary data, or text that is not UTF-8)'",
    "TOO MANY COLUMNS": "'wrong number of columns: ' || regexp_replace(error_message, "
                        "'Expected Number of Columns: (\\d+) Found: (\\d+).*', "
                        "'expected \\1, found \\2')",
    "MISSING COLUMNS": "'wrong number of columns: ' || regexp_replace(error_message, "
                       "'Expected Number of Columns: (\\d+) Found: (\\d+).*', "
                       "'expected \\1, found \\2')",
    "UNQUOTED VALUE": "'broken quoting: a quoted value is not closed properly'",
    "LINE SIZE OVER MAXIMUM": "'line too long: ' || error_message",
}


def sql_string(value: str) -> str:
    """A SQL string literal.

    >>> sql_string("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def detect_format(path: Path, override: str | None) -> str:
    """The file format: the mapping's ``format`` if it has one, else the extension."""
    if override:
        return override
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"{path.name}: cannot tell the format from the extension '{path.suffix}': use "
            ".csv, .parquet or .jsonl, or a mapping with format = \"csv\" | \"parquet\" | \"jsonl\""
        )
    return fmt


@dataclass
class Source:
    """One input file, ready to be staged."""

    index: int
    path: Path
    format: str
    sha256: str
    names: list[str]
    """the file's column names (the first header row), feeding c0 .. cN"""
    types: list[str]
    """DuckDB type of each column (VARCHAR for CSV and JSON Lines)"""
    relation: str
    """SQL query: ``_ord``, ``c0`` .. ``cN``, ``_source_error``, data records only"""
    header_records: list[list[str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    rejects_table: str | None = None
    """DuckDB's store_rejects table for this file's scan, if the reader has one"""
    blank_lines: list[int] = field(default_factory=list)
    """physical line numbers of blank lines (DuckDB skips them but counts them as lines)"""
    header_rows: int = 0
    prepare: list[str] = field(default_factory=list)
    """statements that read the file into temp tables, run before ``relation``"""
    temp_tables: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def raw_columns(self) -> list[str]:
        """SQL for what a rejects file shows of a record: each column as text, or for JSON
        Lines the line itself."""
        if self.format == "jsonl":
            return ["_json"]
        return [f"c{i}" if t == "VARCHAR" else f"CAST(c{i} AS VARCHAR)"
                for i, t in enumerate(self.types)]


def open_source(con: Any, index: int, path: Path, fmt: str, header_rows: int,
                workdir: Path) -> Source:
    """Inspect a file and describe it as a relation; one clear error if it cannot be read."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    if fmt == "parquet":
        return _parquet_source(con, index, path)
    if fmt == "jsonl":
        return _jsonl_source(con, index, path, workdir)
    return _csv_source(con, index, path, header_rows, workdir)


# -- CSV ---------------------------------------------------------------------------------------


def _sniff(con: Any, path: Path, encoding: str, label: str) -> tuple[str, str, str]:
    """Delimiter, quote and escape, as DuckDB's sniffer sees them."""
    try:
        row = con.execute(
            f"SELECT Delimiter, Quote, Escape FROM sniff_csv({sql_string(str(path))}, "
            f"ignore_errors=true, encoding={sql_string(encoding)}, sample_size=20480)"
        ).fetchone()
    except Exception as exc:  # duckdb.Error
        raise IngestError(f"{label}: cannot be read as CSV: {_first_line(exc)}") from None
    delimiter, quote, escape = row
    if not delimiter or delimiter == "(empty)":
        delimiter = ","
    if not quote or quote == "(empty)":
        quote = '"'
    if not escape or escape == "(empty)":
        escape = quote
    return delimiter, quote, escape


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _header_records(head: str, rows: int, delimiter: str, quote: str, escape: str,
                    label: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter, quotechar=quote,
                        doublequote=escape == quote,
                        escapechar=None if escape == quote else escape, strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            if not record:
                continue  # DuckDB skips blank lines too
            records.append(record)
            if len(records) == rows:
                break
    except csv.Error as exc:
        raise IngestError(f"{label}: the header cannot be read ({exc}); check its quoting") \
            from None
    if len(records) < rows:
        raise IngestError(f"{label}: expected {rows} header row(s), found {len(records)}")
    return records


def _column_names(record: list[str]) -> list[str]:
    names: list[str] = []
    for i, raw in enumerate(record):
        name = raw.strip().lstrip("\ufeff").strip() or f"column_{i + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _csv_source(con: Any, index: int, path: Path, header_rows: int, workdir: Path) -> Source:
    text = inspect_text_file(path, workdir)
    delimiter, quote, escape = _sniff(con, text.read_path, text.read_encoding, path.name)
    records = _header_records(text.head, header_rows, delimiter, quote, escape, path.name)
    names = _column_names(records[0])
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names)))
    rejects = f"_sj_reader_rejects_{index}"
    scan = (
        f"read_csv({sql_string(str(text.read_path))}, header=false, auto_detect=false, "
        f"delim={sql_string(delimiter)}, quote={sql_string(quote)}, "
        f"escape={sql_string(escape)}, columns={{{columns}}}, "
        f"encoding={sql_string(text.read_encoding)}, store_rejects=true, "
        f"rejects_table={sql_string(rejects)}, rejects_scan={sql_string(rejects + '_scan')}, "
        "strict_mode=true, null_padding=false)"
    )
    raw = f"_sj_raw_{index}"
    cols = ", ".join(f"c{i}" for i in range(len(names)))
    # the parallel scan keeps file order (preserve_insertion_order), so a record's rowid in
    # the raw table is its position in the file: no row_number() window, which would make
    # DuckDB run the whole read on one thread
    relation = (f"SELECT rowid + 1 AS _ord, {cols}, NULL::VARCHAR AS _source_error "
                f"FROM {raw} WHERE rowid >= {header_rows}")
    return Source(index, path, "csv", text.sha256, names, ["VARCHAR"] * len(names), relation,
                  header_records=records, encoding=text.encoding, delimiter=delimiter,
                  rejects_table=rejects,
                  blank_lines=blank_line_numbers(text.read_path) if text.has_blank_lines else [],
                  header_rows=header_rows,
                  prepare=[f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {scan}"],
                  temp_tables=[raw, rejects, rejects + "_scan"])


# -- JSON Lines --------------------------------------------------------------------------------


def _jsonl_source(con: Any, index: int, path: Path, workdir: Path) -> Source:
    text = inspect_text_file(path, workdir)
    if text.head.lstrip().startswith("["):
        raise IngestError(f"{path.name}: this is a JSON array, not JSON Lines (one object per "
                          "line); convert it, e.g. with `jq -c '.[]'`")
    lines = f"_sj_lines_{index}"
    rejects = f"_sj_reader_rejects_{index}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT * "
            f"FROM read_csv({sql_string(str(text.read_path))}, header=false, "
            f"auto_detect=false, columns={{'j': 'VARCHAR'}}, "
            f"delim={sql_string(_JSONL_DELIMITER)}, quote='', escape='', "
            f"encoding={sql_string(text.read_encoding)}, store_rejects=true, "
            f"rejects_table={sql_string(rejects)}, "
            f"rejects_scan={sql_string(rejects + '_scan')})"
        )
        keys = con.execute(
            f"SELECT key FROM (SELECT rowid AS _ord, unnest(json_keys(j)) AS key, "
            f"unnest(range(len(json_keys(j)))) AS pos FROM {lines} "
            f"WHERE json_valid(j) AND json_type(j) = 'OBJECT') "
            "GROUP BY key ORDER BY min(_ord), min(pos)"
        ).fetchall()
    except Exception as exc:  # duckdb.Error
        raise IngestError(f"{path.name}: cannot be read as JSON Lines: {_first_line(exc)}") \
            from None
    names = [k for (k,) in keys]
    if not names:
        raise IngestError(f"{path.name}: not JSON Lines: no line holds a JSON object")
    paths = "[" + ", ".join(sql_string('$."' + k.replace('"', '\\"') + '"')
                            for k in names) + "]"
    cols = ", ".join(f"_v[{i + 1}] AS c{i}" for i in range(len(names)))
    relation = (
        f"SELECT _ord, {cols}, CASE "
        "WHEN NOT json_valid(j) THEN 'not valid JSON' "
        "WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' END AS _source_error, "
        f"j AS _json FROM (SELECT rowid + 1 AS _ord, j, CASE WHEN json_valid(j) "
        f"AND json_type(j) = 'OBJECT' "
        f"THEN json_extract_string(j, {paths}) END AS _v FROM {lines} "
        "WHERE nullif(trim(j), '') IS NOT NULL)"
    )
    return Source(index, path, "jsonl", text.sha256, names, ["VARCHAR"] * len(names), relation,
                  encoding=text.encoding, rejects_table=rejects, header_rows=0,
                  temp_tables=[lines, rejects, rejects + "_scan"])


# -- Parquet -----------------------------------------------------------------------------------


def _parquet_source(con: Any, index: int, path: Path) -> Source:
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{path.name}: the file is empty")
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(max(0, size - 4))
        end = handle.read(4)
    if start != b"PAR1":
        raise IngestError(f"{path.name}: not a Parquet file (it does not start with PAR1)")
    if end != b"PAR1" or size < 12:
        raise IngestError(f"{path.name}: the Parquet file is truncated (no footer); "
                          "export it again")
    scan = f"read_parquet({sql_string(str(path))}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except Exception as exc:  # duckdb.Error
        raise IngestError(f"{path.name}: the Parquet file cannot be read: {_first_line(exc)}") \
            from None
    described = [(name, type_) for name, type_, *_ in described if name != "file_row_number"]
    names = [name for name, _ in described]
    types = [str(type_) for _, type_ in described]
    cols = ", ".join(f"{sql_name(n)} AS c{i}" for i, n in enumerate(names))
    relation = (f"SELECT file_row_number + 1 AS _ord, {cols}, NULL::VARCHAR AS _source_error "
                f"FROM {scan}")
    return Source(index, path, "parquet", file_sha256(path), names, types, relation,
                  header_rows=0)


# -- rejects of the reader ---------------------------------------------------------------------


def reader_rejects_sql(source: Source) -> str | None:
    """One row per unreadable record: ``line``, ``reason``, ``raw`` (DuckDB's rejects)."""
    if source.rejects_table is None:
        return None
    cases = " ".join(f"WHEN {sql_string(k)} THEN {v}" for k, v in _READER_REASONS.items())
    return (
        f"SELECT line, CASE error_type {cases} ELSE lower(error_type) || ': ' || "
        f"error_message END AS reason, trim(csv_line, chr(13) || chr(10)) AS raw FROM "
        f"(SELECT *, row_number() OVER (PARTITION BY line ORDER BY "
        f"(error_type = 'INVALID ENCODING') DESC, column_idx) AS _n "
        f"FROM {source.rejects_table}) WHERE _n = 1"
    )
