"""CSV ingest: every row ends inserted, updated, duplicate or rejected, and says why."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

import smokejumper
from smokejumper.errors import IngestError

from .ingest_helpers import counts, csv_line, csv_text, read_rejects, response_rows, rows_of

BINARY_LINE = b"\x00\xff\xfe\x01\x9c garbage \x00\n"


def bad_rows_file(write) -> Path:
    """30 data lines: 20 good rows, then every kind of trouble, each on a known line."""
    good = response_rows(20)
    text = csv_text(good)                                                     # lines 1-21
    base = dict(good[0], response_id="R00021")
    bad = [
        dict(base, nps="11"),                                                 # 22
        dict(base, response_id="R00022", csat="0"),                           # 23
        dict(base, response_id="R00023", ces="8"),                            # 24
        dict(base, response_id="R00024", ts="2024-13-45 10:00"),              # 25
        dict(base, response_id="R00025", ts="yesterday"),                     # 26
        good[0],                                                              # 27 duplicate
        dict(good[2], nps="0" if good[2]["nps"] != "0" else "1"),             # 28 changed
        dict(base, response_id=""),                                           # 29
        dict(base, response_id="R00027", ts=""),                              # 30
    ]
    for row in bad:
        text += csv_line([row[c] for c in response_rows(1)[0]])
    data = text.encode() + BINARY_LINE                                        # 31
    data += csv_line([dict(base, response_id="R00026")[c]                     # 32
                      for c in response_rows(1)[0]]).encode()
    return write("bad_rows.csv", data)


EXPECTED_REJECTS = [
    ("22", "nps", "out of range 0 to 10: '11'"),
    ("23", "csat", "out of range 1 to 5: '0'"),
    ("24", "ces", "out of range 1 to 7: '8'"),
    ("25", "ts", "not a date/time: '2024-13-45 10:00'"),
    ("26", "ts", "not a date/time: 'yesterday'"),
    ("29", "response_id", "required value is missing"),
    ("30", "ts", "required value is missing"),
    ("31", "(line)", "unreadable characters (binary data, or text that is not UTF-8)"),
]


def test_bad_rows_are_counted_and_explained(ws, write) -> None:
    path = bad_rows_file(write)
    summary = ws.ingest([path], "responses")

    # R00001..R00020 + R00026 new; line 4 is superseded by line 28 (same id, changed);
    # line 2 is repeated unchanged on line 27
    assert counts(summary) == (31, 21, 1, 1, 8)
    assert summary.reconciles
    assert ws.analytics.row_count("responses") == 21
    rejects = read_rejects(summary.rejects_file)
    assert [(r["_line"], r["_column"], r["_reason"]) for r in rejects] == EXPECTED_REJECTS
    assert rejects[0]["response_id"] == "R00021" and rejects[0]["nps"] == "11"
    assert rejects[-1]["_raw"] and "garbage" in rejects[-1]["_raw"]
    assert summary.rejects_file.parent == ws.root / "rejects"
    # the rejects table holds the same explanations, with the raw record
    stored = ws.analytics.raw.execute(
        "SELECT line, column_name, reason, raw FROM _rejects ORDER BY line").fetchall()
    assert [(str(a), b, c) for a, b, c, _ in stored] == EXPECTED_REJECTS
    assert '"nps":"11"' in stored[0][3]
    # the last occurrence of a repeated id is what the store keeps
    good = response_rows(20)
    changed = "0" if good[2]["nps"] != "0" else "1"
    assert rows_of(ws, "responses", "nps", "response_id")[2] == (int(changed),)


def test_load_log_records_the_file_and_counts(ws, write) -> None:
    path = bad_rows_file(write)
    summary = ws.ingest([path], "responses")
    import hashlib

    log = ws.analytics.raw.execute(
        "SELECT load_id, table_name, source, source_sha256, read, inserted, updated, "
        "duplicate, rejected FROM _loads").fetchall()
    assert log == [(summary.load_id, "responses", str(path.resolve()),
                    hashlib.sha256(path.read_bytes()).hexdigest(), 31, 21, 1, 1, 8)]
    loaded = ws.analytics.raw.execute("SELECT DISTINCT _load_id FROM responses").fetchall()
    assert loaded == [(summary.load_id,)]


def test_loading_the_same_file_twice_changes_nothing(ws, write) -> None:
    path = bad_rows_file(write)
    ws.ingest([path], "responses")
    before = rows_of(ws, "responses")
    again = ws.ingest([path], "responses")
    assert counts(again) == (31, 0, 0, 23, 8)
    assert rows_of(ws, "responses") == before


def test_fixed_rejects_file_loads_with_the_same_command(ws, write) -> None:
    summary = ws.ingest([bad_rows_file(write)], "responses")
    rejects = read_rejects(summary.rejects_file)
    fixes = {"22": {"nps": "10"}, "23": {"csat": "1"}, "24": {"ces": "7"},
             "25": {"ts": "2024-12-15 10:00"}, "26": {"ts": "2024-12-16"},
             "29": {"response_id": "R00029"}, "30": {"ts": "2024-12-17 08:30"}}
    template = response_rows(1)[0]
    for row in rejects:
        if row["_line"] == "31":  # the binary line: typed in again by hand
            row.update(dict(template, response_id="R00028"))
        row.update(fixes.get(row["_line"], {}))
    with summary.rejects_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rejects[0]))
        writer.writeheader()
        writer.writerows(rejects)

    again = ws.ingest([summary.rejects_file], "responses")
    assert counts(again) == (8, 8, 0, 0, 0)
    assert again.ignored_columns == ()  # _line, _column, _reason, _raw are expected
    assert ws.analytics.row_count("responses") == 29


def test_update_versus_duplicate(ws, write) -> None:
    rows = response_rows(10)
    ws.ingest([write("base.csv", csv_text(rows))], "responses")
    changed = dict(rows[1], comment="changed my mind")
    new = response_rows(1, seed=7, start=11)[0]
    summary = ws.ingest([write("next.csv", csv_text([rows[0], changed, new]))], "responses")
    assert counts(summary) == (3, 1, 1, 1, 0)
    assert ws.analytics.row_count("responses") == 11
    assert rows_of(ws, "responses", "comment", "response_id")[1] == ("changed my mind",)
    load_ids = dict(ws.analytics.raw.execute(
        "SELECT response_id, _load_id FROM responses WHERE response_id IN "
        "('R00001', 'R00002')").fetchall())
    assert load_ids["R00002"] == summary.load_id != load_ids["R00001"]


def test_repeated_key_in_one_load_last_occurrence_wins(ws, write) -> None:
    a = response_rows(1)[0]
    b = dict(a, nps="3")
    c = dict(a, nps="4")
    # a, b, a, c: the winner c is inserted; a, a differ from it, b too: superseded updates
    summary = ws.ingest([write("x.csv", csv_text([a, b, a, c, c]))], "responses")
    assert counts(summary) == (5, 1, 3, 1, 0)
    assert rows_of(ws, "responses", "nps") == [(4,)]
    # loading it again leaves the key as it is: every occurrence is a duplicate
    assert counts(ws.ingest([write("x.csv", csv_text([a, b, a, c, c]))], "responses")) == \
        (5, 0, 0, 5, 0)


def test_several_files_are_one_load_in_file_order(ws, write) -> None:
    rows = response_rows(6)
    first = write("one.csv", csv_text(rows[:4]))
    second = write("two.csv", csv_text([dict(rows[0], nps="0"), *rows[4:]]))
    summary = ws.ingest([first, second], "responses")
    assert counts(summary) == (7, 6, 1, 0, 0)
    assert [(f.read, f.inserted, f.updated) for f in summary.files] == [(4, 3, 1), (3, 3, 0)]
    assert rows_of(ws, "responses", "nps")[0] == (0,)
    assert len({r[0] for r in ws.analytics.raw.execute("SELECT load_id FROM _loads")
                .fetchall()}) == 1


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "comment", "found"),
    [
        ("bom.csv", "utf-8-sig", ",", "café crème – très bien", "utf-8-sig"),
        ("latin1.csv", "latin-1", ",", "café crème, très bien", "latin-1"),
        ("cp1252.csv", "cp1252", ",", "café – 5 € de remise “super”", "cp1252"),
        ("utf16.csv", "utf-16", ",", "naïve résumé ✓", "utf-16"),
        ("semicolon.csv", "utf-8", ";", "ça va; merci", "utf-8"),
        ("tabs.tsv", "utf-8", "\t", "tab\tinside", "utf-8"),
    ],
)
def test_encodings_and_delimiters_are_detected(ws, write, name, encoding, delimiter, comment,
                                               found) -> None:
    rows = response_rows(30)
    rows[7]["comment"] = comment
    path = write(name, csv_text(rows, delimiter=delimiter), encoding=encoding)
    summary = ws.ingest([path], "responses")
    assert counts(summary) == (30, 30, 0, 0, 0)
    assert summary.files[0].encoding == found
    assert summary.files[0].delimiter == delimiter
    assert rows_of(ws, "responses", "comment")[7] == (comment,)


def test_semicolon_files_accept_decimal_commas(ws, write) -> None:
    text = "interaction_id;ts;customer_id;touchpoint;handle_time_s;order_value\n" \
           "I1;2024-03-01 10:00;C1;store;125,5;19,99\n"
    summary = ws.ingest([write("eu.csv", text)], "interactions")
    assert counts(summary) == (1, 1, 0, 0, 0)
    assert rows_of(ws, "interactions", "handle_time_s, order_value") == [(125.5, 19.99)]


def test_types_ranges_and_booleans(ws, write) -> None:
    header = "interaction_id,ts,customer_id,touchpoint,handle_time_s,resolved,upsell,order_value\n"
    lines = [
        "I1,2024-03-01 10:00,C1,web,60,yes,no,10",
        "I2,2024-03-01 10:00,C1,web,60.5,TRUE,0,0",
        "I3,2024-03-01 10:00,C1,web,-5,yes,no,10",
        "I4,2024-03-01 10:00,C1,web,60,maybe,no,10",
        "I5,2024-03-01 10:00,C1,web,sixty,1,no,10",
        "I6,2024-03-01 10:00,C1,,60,1,no,10",
        "I7,2024-03-01 10:00,C1,web,  ,N,Y,",
        "I8,0024-03-01 10:00,C1,web,60,N,Y,1",
    ]
    summary = ws.ingest([write("i.csv", header + "\n".join(lines) + "\n")], "interactions")
    assert counts(summary) == (8, 3, 0, 0, 5)
    rejects = [(r["_line"], r["_column"], r["_reason"])
               for r in read_rejects(summary.rejects_file)]
    assert rejects == [
        ("4", "handle_time_s", "below the minimum 0: '-5'"),
        ("5", "resolved", "not a yes/no value: 'maybe'"),
        ("6", "handle_time_s", "not a number: 'sixty'"),
        ("7", "touchpoint", "required value is missing"),
        ("9", "ts", "implausible date: '0024-03-01 10:00'"),
    ]
    assert rows_of(ws, "interactions", "interaction_id, handle_time_s, resolved, upsell, "
                   "order_value") == [("I1", 60.0, True, False, 10.0),
                                      ("I2", 60.5, True, False, 0.0),
                                      ("I7", None, False, True, None)]


def test_whole_numbers_only_for_scores(ws, write) -> None:
    rows = response_rows(3)
    rows[0]["nps"], rows[1]["nps"], rows[2]["nps"] = "7.0", "7.5", " 8 "
    summary = ws.ingest([write("n.csv", csv_text(rows))], "responses")
    assert counts(summary) == (3, 2, 0, 0, 1)
    assert read_rejects(summary.rejects_file)[0]["_reason"] == "not a whole number: '7.5'"
    assert [n for (n,) in rows_of(ws, "responses", "nps")] == [7, 8]


def test_time_zones_are_converted_to_utc(tmp_path, write) -> None:
    ws = smokejumper.Workspace.init(tmp_path / "paris", timezone="Europe/Paris")
    stamps = ["2024-07-01 12:00:00", "2024-07-01T12:00:00+02:00", "2024-07-01T12:00:00Z",
              "2024-01-15", "2024-01-15 09:30:00 +0100", "2024-07-01 12:00:00.250",
              " 2024-07-01 12:00 "]
    rows = [dict(response_rows(1)[0], response_id=f"R{i}", ts=s) for i, s in enumerate(stamps)]
    summary = ws.ingest([write("tz.csv", csv_text(rows))], "responses")
    assert counts(summary) == (7, 7, 0, 0, 0)
    assert [t for (t,) in rows_of(ws, "responses", "ts")] == [
        datetime(2024, 7, 1, 10, 0), datetime(2024, 7, 1, 10, 0), datetime(2024, 7, 1, 12, 0),
        datetime(2024, 1, 14, 23, 0), datetime(2024, 1, 15, 8, 30),
        datetime(2024, 7, 1, 10, 0, 0, 250000), datetime(2024, 7, 1, 10, 0)]
    # the session time zone of the store is left as it was
    assert ws.analytics.raw.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    ws.close()


def test_unknown_columns_are_ignored_and_reported(ws, write) -> None:
    rows = response_rows(2)
    columns = ("response_id", "Loyalty Tier", "ts", "nps", "internal note")
    summary = ws.ingest([write("extra.csv", csv_text(rows, columns))], "responses")
    assert counts(summary) == (2, 2, 0, 0, 0)
    assert summary.ignored_columns == ("Loyalty Tier", "internal note")
    assert any(kind == "warn" and "Loyalty Tier" in text for kind, text in ws.reporter.messages)


def test_column_names_match_loosely(ws, write) -> None:
    text = "Response ID,TS,Customer-ID,NPS\nR1,2024-02-02 10:00,C1,9\n"
    summary = ws.ingest([write("loose.csv", text)], "responses")
    assert counts(summary) == (1, 1, 0, 0, 0)
    assert summary.files[0].columns == {"response_id": "Response ID", "ts": "TS",
                                        "customer_id": "Customer-ID", "nps": "NPS"}


def test_missing_required_column_is_one_clear_error(ws, write) -> None:
    path = write("no_ts.csv", "response_id,nps\nR1,9\n")
    with pytest.raises(IngestError, match=r"no_ts.csv: required column 'ts' not found .*"
                                          r"columns found: response_id, nps"):
        ws.ingest([path], "responses")
    assert ws.analytics.row_count("responses") == 0


def test_line_numbers_count_blank_lines(ws, write) -> None:
    rows = response_rows(5)
    rows[3]["nps"] = "12"
    lines = csv_text(rows).splitlines()
    text = "\n".join(lines[:2] + [""] + lines[2:4] + ["", ""] + lines[4:]) + "\n"
    summary = ws.ingest([write("blank.csv", text)], "responses")
    assert counts(summary) == (5, 4, 0, 0, 1)
    # physical lines: 1 header, 2 R1, 3 blank, 4 R2, 5 R3, 6-7 blank, 8 R4 (bad), 9 R5
    assert read_rejects(summary.rejects_file)[0]["_line"] == "8"


def test_multiline_values_and_line_numbers(ws, write) -> None:
    rows = response_rows(4)
    rows[1]["comment"] = "first line\nsecond line, with a comma"
    rows[2]["ces"] = "9"
    summary = ws.ingest([write("multi.csv", csv_text(rows))], "responses")
    assert counts(summary) == (4, 3, 0, 0, 1)
    # a record spanning several lines counts as one
    assert read_rejects(summary.rejects_file)[0]["_line"] == "4"
    assert rows_of(ws, "responses", "comment")[1] == ("first line\nsecond line, with a comma",)


def test_wrong_column_count_is_a_rejected_line(ws, write) -> None:
    text = csv_text(response_rows(3)) + "R9,2024-01-01,C1,web,5,5,5,too,many\nR8,2024-01-01\n"
    summary = ws.ingest([write("cols.csv", text)], "responses")
    assert counts(summary) == (5, 3, 0, 0, 2)
    rejects = read_rejects(summary.rejects_file)
    assert [(r["_line"], r["_column"], r["_reason"]) for r in rejects] == [
        ("5", "(line)", "wrong number of columns: expected 8, found 9"),
        ("6", "(line)", "wrong number of columns: expected 8, found 2"),
    ]
    # a best-effort split into the original columns, and the line itself
    assert rejects[1]["response_id"] == "R8" and rejects[1]["_raw"] == "R8,2024-01-01"


def test_header_only_file_loads_nothing(ws, write) -> None:
    summary = ws.ingest([write("empty.csv", "response_id,ts,nps\n")], "responses")
    assert counts(summary) == (0, 0, 0, 0, 0)
    assert summary.rejects_file is None


def test_composite_keys_and_other_tables(ws, write) -> None:
    outcomes = ("customer_id,ts,kind,value\n"
                "C1,2024-01-01,churn,\n"
                "C1,2024-02-01,purchase,20\n"
                "C1,2024-01-01,renewal,100\n"
                "C1,2024-02-01,purchase,25\n"
                "C2,,churn,\n")
    summary = ws.ingest([write("outcomes.csv", outcomes)], "outcomes")
    # (C1, 2024-02-01, purchase) twice: the second, different, wins; the first is superseded
    assert counts(summary) == (5, 3, 1, 0, 1)
    assert rows_of(ws, "outcomes", "kind, value", "ts, kind") == [
        ("churn", None), ("renewal", 100.0), ("purchase", 25.0)]
    customers = ("customer_id,segment,region,tenure_months,revenue,joined_at\n"
                 "C1,gold,north,12.5,1200,2023-01-05\n"
                 "C2,silver,south,-1,300,2023-02-01\n")
    summary = ws.ingest([write("customers.csv", customers)], "customers")
    assert counts(summary) == (2, 1, 0, 0, 1)
    assert rows_of(ws, "customers", "customer_id, tenure_months, joined_at") == [
        ("C1", 12.5, datetime(2023, 1, 5))]
