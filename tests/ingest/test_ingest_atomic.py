"""A file that is not what it claims gets one clear error; a load is all or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import smokejumper
from smokejumper.errors import IngestError

from .ingest_helpers import csv_line, csv_text, response_rows, store_state


@pytest.fixture
def loaded(ws, write):
    """A workspace holding 20 responses, and its state."""
    ws.ingest([write("base.csv", csv_text(response_rows(20)))], "responses")
    return ws


def _parquet_bytes(tmp_path) -> bytes:
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"response_id": ["X1"], "ts": ["2024-01-01"]}), path)
    return path.read_bytes()


BROKEN = {
    "binary.csv": (lambda tmp: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
                   "binary file"),
    "noise.csv": (lambda tmp: bytes((i * 7919) % 256 for i in range(5000)),
                  "binary file"),
    "empty.csv": (lambda tmp: b"", "the file is empty"),
    "blank.csv": (lambda tmp: b"\n \n\n", "the file is empty"),
    "truncated.parquet": (lambda tmp: _parquet_bytes(tmp)[:-40], "truncated"),
    "csv.parquet": (lambda tmp: csv_text(response_rows(3)).encode(), "not a Parquet file"),
    "array.json": (lambda tmp: b'[{"response_id": "A"}]', "a JSON array, not JSON Lines"),
    "words.jsonl": (lambda tmp: b"hello\nworld\n", "no line holds a JSON object"),
    "broken_quote.csv": (
        lambda tmp: (csv_text(response_rows(3)) + 'R9,"2024-01-01,C1,web,5,5,5,oops\n'
                     + csv_text(response_rows(60, start=10)).split("\n", 1)[1]).encode(),
        "broken quoting: the quote opened on line 5 is never closed"),
    "mostly_bad.csv": (
        lambda tmp: (csv_text(response_rows(5)) + "a,b\n" * 15).encode(),
        "15 of 20 records cannot be read"),
    "header_broken.csv": (lambda tmp: b'response_id,"ts,nps\nR1,2024-01-01,5\n',
                          "cannot be read"),
    "export.xlsx": (lambda tmp: b"PK\x03\x04 not really", "cannot tell the format"),
    "pretend.csv": (lambda tmp: b"PK\x03\x04" + bytes(200), "binary file"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_file_not_what_it_claims(loaded, write, tmp_path, name) -> None:
    content, message = BROKEN[name]
    path = write(name, content(tmp_path))
    before = store_state(loaded)
    with pytest.raises(IngestError, match=message) as caught:
        loaded.ingest([path], "responses")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(name)
    assert store_state(loaded) == before
    assert not (loaded.root / "rejects").exists()


def test_missing_file_and_folder(loaded, tmp_path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        loaded.ingest([tmp_path / "nope.csv"], "responses")
    with pytest.raises(IngestError, match="not a file"):
        loaded.ingest([tmp_path], "responses")


def test_one_bad_file_stops_the_whole_load(loaded, write) -> None:
    good = write("good.csv", csv_text(response_rows(5, start=100)))
    bad = write("bad.csv", b"")
    before = store_state(loaded)
    with pytest.raises(IngestError, match="bad.csv: the file is empty"):
        loaded.ingest([good, bad], "responses")
    assert store_state(loaded) == before


def test_failure_inside_the_transaction_rolls_back(loaded, write) -> None:
    from smokejumper.ingest import ingest_files

    rows = response_rows(30, start=1)
    rows[0]["nps"] = "99"
    path = write("next.csv", csv_text(rows))
    before = store_state(loaded)

    def boom() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        ingest_files(loaded, [path], "responses", before_commit=boom)
    assert store_state(loaded) == before
    assert not (loaded.root / "rejects").exists()
    # the connection is usable again and the load goes through afterwards
    summary = loaded.ingest([path], "responses")
    assert (summary.inserted, summary.rejected) == (10, 1)


KILLED_LOAD = textwrap.dedent("""
    import os, signal, sys, threading, time
    from pathlib import Path
    import smokejumper
    from smokejumper.ingest import targets

    ws = smokejumper.Workspace(sys.argv[1])
    con = ws.analytics.raw
    original = targets.DuckDBWriter.write

    class Killing:
        def __init__(self, con):
            self.con = con
        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO main."):
                # die while DuckDB is writing the rows, wherever that has got to
                threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGKILL)).start()
            if sql == "COMMIT":
                time.sleep(60)  # never commit: wait for the kill
            return self.con.execute(sql, *args)
        def __getattr__(self, name):
            return getattr(self.con, name)

    def write(self, con, plan, before_commit=None):
        print("writing", flush=True)
        return original(self, Killing(con), plan, before_commit)

    targets.DuckDBWriter.write = write
    ws.ingest([Path(sys.argv[2])], "responses")
    print("committed", flush=True)
""")


@pytest.mark.slow
def test_load_killed_midway_leaves_the_store_as_it_was(loaded, tmp_path) -> None:
    big = tmp_path / "big.csv"
    loaded.analytics.raw.execute(
        f"COPY (SELECT 'K' || i AS response_id, TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND "
        f"AS ts, 'C' || (i % 977) AS customer_id, 'web' AS touchpoint, i % 11 AS nps, "
        f"'comment number ' || i AS comment FROM range(300000) t(i)) TO '{big}' (HEADER)")
    # one row also changes a stored response, so the load deletes as well as inserts
    with big.open("a") as handle:
        handle.write(csv_line(["R00001", "2024-06-01 00:00:00", "C1", "web", "0", "changed"]))
    before = store_state(loaded)
    loaded.close()

    scratch = tmp_path / "scratch"  # a killed process cannot clean up its temporary files
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(loaded.root), str(big)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    out, err = process.communicate(timeout=240)
    assert process.returncode == -signal.SIGKILL, err
    assert "writing" in out and "committed" not in out

    after = smokejumper.Workspace(loaded.root)
    assert store_state(after) == before
    assert not (after.root / "rejects").exists()
    # and the same load then goes through
    summary = after.ingest([big], "responses")
    assert (summary.inserted, summary.updated) == (300000, 1)
    after.close()
