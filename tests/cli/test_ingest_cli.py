"""``smokejumper ingest``: a reconciling summary, JSON for scripts, one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from smokejumper.cli.testing import invoke as run

HEADER = "response_id,ts,customer_id,touchpoint,nps,csat,ces,comment\n"
GOOD = [f"R{i},2024-05-{i:02d} 10:00,C{i},web,{i % 11},{1 + i % 5},{1 + i % 7},fine\n"
        for i in range(1, 11)]
BAD = [
    "R11,2024-05-11 10:00,C11,web,11,3,3,too high\n",        # out-of-range NPS
    "R12,31/02/2024,C12,web,8,3,3,bad date\n",               # not a date
    "R1,2024-05-01 10:00,C1,web,1,2,2,fine\n",               # duplicate id, same content
    "R2,2024-05-02 10:00,C2,web,9,3,3,changed\n",            # duplicate id, new content
    ",2024-05-13 10:00,C13,web,8,3,3,no id\n",               # missing key
]
BINARY = b"\x00\x01\xfe\xff binary junk \x00\n"




@pytest.fixture
def workspace(tmp_path: Path, capsys) -> Path:
    assert run(["init", str(tmp_path / "ws")], capsys)[0] == 0
    return tmp_path / "ws"


def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "survey.csv"
    path.write_bytes((HEADER + "".join(GOOD + BAD)).encode() + BINARY)
    return path


def test_ingest_json_reconciles_and_rejects_explain(workspace, tmp_path, capsys) -> None:
    code, out, err = run(["-w", str(workspace), "ingest", str(bad_file(tmp_path)),
                          "--table", "responses", "--format", "json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {k: data[k] for k in ("read", "inserted", "updated", "duplicate", "rejected")} == \
        {"read": 16, "inserted": 10, "updated": 1, "duplicate": 1, "rejected": 4}
    assert data["read"] == data["inserted"] + data["updated"] + data["duplicate"] + \
        data["rejected"]
    rejects = Path(data["rejects_file"])
    assert rejects.parent == workspace / "rejects"
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["_line"], r["_column"], r["_reason"]) for r in rows] == [
        ("12", "nps", "out of range 0 to 10: '11'"),
        ("13", "ts", "not a date/time: '31/02/2024'"),
        ("16", "response_id", "required value is missing"),
        ("17", "(line)", "unreadable characters (binary data, or text that is not UTF-8)"),
    ]

    # again: nothing new
    code, out, _ = run(["-w", str(workspace), "ingest", str(bad_file(tmp_path)),
                        "--table", "responses", "-f", "json"], capsys)
    again = json.loads(out)
    assert (again["inserted"], again["updated"], again["duplicate"], again["rejected"]) == \
        (0, 0, 12, 4)


def test_ingest_table_output_reconciles_in_words(workspace, tmp_path, capsys) -> None:
    code, out, _ = run(["-w", str(workspace), "ingest", str(bad_file(tmp_path)),
                        "--table", "responses"], capsys)
    assert code == 0
    assert "16 rows read = 10 inserted + 1 updated + 1 duplicate + 4 rejected" in out
    assert "rejects" in out


def test_ingest_error_is_one_line_and_exit_1(workspace, tmp_path, capsys) -> None:
    path = tmp_path / "no_ts.csv"
    path.write_text("response_id,score\nR1,9\n")
    code, out, err = run(["-w", str(workspace), "ingest", str(path), "--table", "responses",
                          "-f", "json"], capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("error: no_ts.csv: required column 'ts' not found")
    assert err.strip().count("\n") == 0


def test_ingest_unknown_mapping(workspace, tmp_path, capsys) -> None:
    code, _, err = run(["-w", str(workspace), "ingest", str(bad_file(tmp_path)), "--table",
                        "responses", "--mapping", "nope"], capsys)
    assert code == 1
    assert "unknown mapping 'nope': available mappings are qualtrics, zendesk" in err
