"""Parquet and JSON Lines go through the same validation, classification and rejects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from .ingest_helpers import counts, csv_text, read_rejects, response_rows, rows_of


def test_parquet_with_native_types(ws, tmp_path) -> None:
    table = pa.table({
        "response_id": ["P1", "P2", "P3", "P4", "P1"],
        "ts": pa.array([datetime(2024, 5, 1, 10), datetime(2024, 5, 2, 11), None,
                        datetime(2024, 5, 4, 9), datetime(2024, 5, 1, 10)],
                       type=pa.timestamp("us")),
        "nps": pa.array([9, 12, 7, 0, 9], type=pa.int32()),
        "rating": [4.5, 3.0, 2.0, float("nan"), 4.5],
        "comment": ["great", None, "ok", "meh", "great"],
        "unused": [1, 2, 3, 4, 5],
    })
    path = tmp_path / "responses.parquet"
    pq.write_table(table, path)
    summary = ws.ingest([path], "responses")
    # P1 twice, same content: one inserted, one duplicate
    assert counts(summary) == (5, 2, 0, 1, 2)
    assert summary.ignored_columns == ("unused",)
    rejects = read_rejects(summary.rejects_file)
    assert summary.rejects_file.suffix == ".csv"
    assert [(r["_line"], r["_column"], r["_reason"]) for r in rejects] == [
        ("2", "nps", "out of range 0 to 10: '12'"),
        ("3", "ts", "required value is missing"),
    ]
    assert rows_of(ws, "responses", "response_id, ts, nps, rating, comment") == [
        ("P1", datetime(2024, 5, 1, 10), 9, 4.5, "great"),
        ("P4", datetime(2024, 5, 4, 9), 0, None, "meh"),
    ]
    assert counts(ws.ingest([path], "responses")) == (5, 0, 0, 3, 2)


def test_parquet_zoned_timestamps_and_text_columns(tmp_path) -> None:
    import smokejumper

    ws = smokejumper.Workspace.init(tmp_path / "ny", timezone="America/New_York")
    table = pa.table({
        "interaction_id": ["A", "B"],
        "ts": pa.array([datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
                        datetime(2024, 1, 1, 12, tzinfo=UTC)], type=pa.timestamp("us", "UTC")),
        "local": pa.array([datetime(2024, 1, 1, 12), datetime(2024, 7, 1, 12)],
                          type=pa.timestamp("ms")),
        "customer_id": pa.array([101, 102], type=pa.int64()),  # numbers, stored as text
        "touchpoint": ["web", "app"],
        "resolved": ["yes", "no"],
    })
    path = tmp_path / "i.parquet"
    pq.write_table(table, path)
    summary = ws.ingest([path], "interactions")
    assert counts(summary) == (2, 2, 0, 0, 0)
    assert rows_of(ws, "interactions", "ts, customer_id, resolved") == [
        (datetime(2024, 1, 1, 10), "101", True), (datetime(2024, 1, 1, 12), "102", False)]
    # a naive Parquet timestamp gets the workspace time zone
    table = table.drop_columns(["ts"]).rename_columns(
        ["interaction_id", "ts", "customer_id", "touchpoint", "resolved"])
    pq.write_table(table, path)
    ws.ingest([path], "interactions")
    assert rows_of(ws, "interactions", "ts") == [(datetime(2024, 1, 1, 17),),
                                                 (datetime(2024, 7, 1, 16),)]
    ws.close()


def test_jsonl_lines_objects_and_rejects(ws, write) -> None:
    lines = [
        json.dumps({"response_id": "J1", "ts": "2024-02-01T08:00:00Z", "nps": 10,
                    "comment": "love it", "meta": {"browser": "x"}}),
        "",
        json.dumps({"response_id": "J2", "ts": "2024-02-01 09:00", "nps": 6.0, "csat": "4"}),
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"response_id": "J3", "ts": "2024-02-01", "nps": 11}),
        json.dumps({"ts": "2024-02-03", "nps": 8}),
        json.dumps({"response_id": "J1", "ts": "2024-02-01T08:00:00Z", "nps": 10,
                    "comment": "love it"}),
    ]
    path = write("r.jsonl", "\n".join(lines) + "\n")
    summary = ws.ingest([path], "responses")
    assert counts(summary) == (7, 2, 0, 1, 4)
    assert summary.ignored_columns == ("meta",)
    assert summary.rejects_file.suffix == ".jsonl"
    rejects = [json.loads(line) for line in summary.rejects_file.read_text().splitlines()]
    assert [(r["_line"], r["_column"], r["_reason"]) for r in rejects] == [
        (4, "(line)", "not valid JSON"),
        (5, "(line)", "not a JSON object"),
        (6, "nps", "out of range 0 to 10: '11'"),
        (7, "response_id", "required value is missing"),
    ]
    assert rejects[0]["_raw"] == "{not json"
    assert rejects[2]["response_id"] == "J3"  # the original object, for fixing
    assert rows_of(ws, "responses", "response_id, nps, csat, comment") == [
        ("J1", 10, None, "love it"), ("J2", 6, 4, None)]

    # the fixed rejects file loads with the same command
    fixed = [dict(r, nps=10) if r.get("response_id") == "J3" else r for r in rejects]
    fixed = [dict(r, response_id="J4") if r["_line"] == 7 else r for r in fixed]
    summary.rejects_file.write_text("\n".join(json.dumps(r) for r in fixed if "_raw" not in r))
    again = ws.ingest([summary.rejects_file], "responses")
    assert counts(again) == (2, 2, 0, 0, 0)
    assert again.ignored_columns == ()


def test_mapping_format_overrides_the_extension(ws, write, tmp_path) -> None:
    text = csv_text(response_rows(3))
    path = write("export.dat", text)
    (ws.root / "smokejumper.toml").write_text(
        (ws.root / "smokejumper.toml").read_text()
        + '\n[mappings.dat]\ntable = "responses"\nformat = "csv"\n')
    import smokejumper

    ws2 = smokejumper.Workspace(ws.root)
    assert counts(ws2.ingest([path], "responses", mapping="dat")) == (3, 3, 0, 0, 0)
    ws2.close()
