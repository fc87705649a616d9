"""The same ingest on a PostgreSQL analytics store (staged in DuckDB, one PG transaction)."""

from __future__ import annotations

import pytest

import smokejumper
from smokejumper.ingest import ingest_files

from .ingest_helpers import counts, csv_text, response_rows


@pytest.mark.postgres
def test_postgres_store(request, tmp_path, write) -> None:
    try:
        make_url = request.getfixturevalue("make_postgres_url")
    except pytest.FixtureLookupError:
        pytest.skip("no PostgreSQL test server fixture")
    root = tmp_path / "pg"
    smokejumper.Workspace.init(root).close()
    config = root / "smokejumper.toml"
    config.write_text(config.read_text().replace(
        'analytics = "duckdb:///analytics.duckdb"', f'analytics = "{make_url("ingest")}"'))
    ws = smokejumper.Workspace(root)

    rows = response_rows(40)
    rows[5]["nps"] = "42"
    first = write("a.csv", csv_text(rows))
    assert counts(ws.ingest([first], "responses")) == (40, 39, 0, 0, 1)
    assert counts(ws.ingest([first], "responses")) == (40, 0, 0, 39, 1)
    changed = write("b.csv", csv_text([dict(rows[0], comment="changed"),
                                       *response_rows(2, start=100)]))
    assert counts(ws.ingest([changed], "responses")) == (3, 2, 1, 0, 0)
    assert ws.analytics.row_count("responses") == 41
    assert ws.analytics.row_count("_loads") == 3
    assert ws.analytics.row_count("_rejects") == 2

    def boom() -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        ingest_files(ws, [write("c.csv", csv_text(response_rows(5, start=200)))],
                     "responses", before_commit=boom)
    assert ws.analytics.row_count("responses") == 41
    assert ws.analytics.row_count("_loads") == 3
    ws.close()
