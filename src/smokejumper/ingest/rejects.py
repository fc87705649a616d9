"""Rejects files: every rejected row, in a file the user can fix and load again.

A CSV source gives a CSV with the same delimiter and header rows (a Qualtrics export keeps
its three), the original columns, then ``_line``, ``_column``, ``_reason`` and ``_raw``
(the unreadable line itself, for rows the parser could not split; such rows also get a
best-effort split into the original columns). A JSON Lines source gives JSON Lines: the
original object plus those keys. A Parquet source gives a CSV. Loading the fixed file with
the same command works: the four bookkeeping columns are ignored on the way in.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb

from smokejumper.ingest.readers import Source
from smokejumper.ingest.targets import REJECTS

EXTRA_COLUMNS = ("_line", "_column", "_reason", "_raw")


def rejects_file_name(source: Source, load_id: str) -> str:
    suffix = ".jsonl" if source.format == "jsonl" else ".csv"
    return f"{source.path.stem}.{load_id}.rejects{suffix}"


def _rows(con: duckdb.DuckDBPyConnection, index: int) -> list[tuple[Any, ...]]:
    return con.execute(
        f"SELECT line, column_name, reason, raw, _values FROM {REJECTS} "
        f"WHERE _file = {index} ORDER BY line"
    ).fetchall()


def write_rejects_file(con: duckdb.DuckDBPyConnection, source: Source, path: Path) -> int:
    """Write the rejected rows of one source file; returns how many were written."""
    rows = _rows(con, source.index)
    if source.format == "jsonl":
        _write_jsonl(rows, path)
    else:
        _write_csv(rows, source, path)
    return len(rows)


def _split(raw: str | None, source: Source, width: int) -> list[str]:
    """Best-effort split of an unreadable line into the file's columns."""
    if not raw:
        return [""] * width
    try:
        fields = next(csv.reader(io.StringIO(raw), delimiter=source.delimiter or ",",
                                 strict=False), [])
    except csv.Error:
        fields = []
    fields = fields[:width]
    return fields + [""] * (width - len(fields))


def _write_csv(rows: list[tuple[Any, ...]], source: Source, path: Path) -> None:
    width = len(source.names)
    headers = source.header_records or [source.names]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=source.delimiter or ",")
        for i, record in enumerate(headers):
            record = list(record[:width]) + [""] * (width - len(record))
            writer.writerow(record + (list(EXTRA_COLUMNS) if i == 0 else [""] * 4))
        for line, column, reason, raw, values in rows:
            if values is not None:
                cells = ["" if v is None else v for v in values]
                unreadable = ""
            else:
                cells = _split(raw, source, width)
                unreadable = raw or ""
            writer.writerow(cells + [line, column, reason, unreadable])


def _write_jsonl(rows: list[tuple[Any, ...]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for line, column, reason, raw, values in rows:
            text = values[0] if values else raw
            try:
                record = json.loads(text) if text else None
            except ValueError:
                record = None
            if isinstance(record, dict):
                record = {k: v for k, v in record.items() if k not in EXTRA_COLUMNS}
            else:
                record = {"_raw": text}
            record.update({"_line": line, "_column": column, "_reason": reason})
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
