"""Mappings: built-in Qualtrics and Zendesk exports, user mappings from smokejumper.toml."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime

import pytest

import smokejumper
from smokejumper.errors import IngestError

from .ingest_helpers import counts, csv_text, read_rejects, response_rows, rows_of

QUALTRICS_IDS = ["StartDate", "EndDate", "Status", "IPAddress", "Progress",
                 "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId",
                 "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                 "ExternalReference", "LocationLatitude", "LocationLongitude",
                 "DistributionChannel", "UserLanguage", "Q1", "Q1_NPS_GROUP", "Q2"]
QUALTRICS_TEXTS = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
                   "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
                   "Recipient Last Name", "Recipient First Name", "Recipient Email",
                   "External Data Reference", "Location Latitude", "Location Longitude",
                   "Distribution Channel", "User Language",
                   "How likely are you to recommend Acme Telecom to a friend or colleague?",
                   "How likely are you to recommend Acme Telecom to a friend or colleague? "
                   "- Group", "What is the main reason for your score?\n(please be specific)"]


def qualtrics_export(n: int, seed: int = 3, bad_score_row: int | None = None) -> str:
    """A legacy Qualtrics CSV export: ids, question texts, ImportId JSON, then responses."""
    rng = random.Random(seed)
    meta = []
    for column in QUALTRICS_IDS:
        import_id = {"StartDate": "startDate", "EndDate": "endDate",
                     "RecordedDate": "recordedDate", "ResponseId": "_recordId",
                     "Q1": "QID1", "Q1_NPS_GROUP": "QID1_NPS_GROUP", "Q2": "QID2_TEXT"}.get(
            column, column[0].lower() + column[1:])
        item = {"ImportId": import_id}
        if column in ("StartDate", "EndDate", "RecordedDate"):
            item["timeZone"] = "America/Denver"
        meta.append(json.dumps(item))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([QUALTRICS_IDS, QUALTRICS_TEXTS, meta])
    for i in range(n):
        score = rng.randint(0, 10) if i != bad_score_row else 11
        group = 1 if score <= 6 else 2 if score <= 8 else 3
        stamp = f"2024-03-{1 + i % 28:02d} {8 + i % 10:02d}:05:00"
        writer.writerow([stamp, stamp, "IP Address", "10.0.0.1", "100", "61", "True", stamp,
                         f"R_{i:012d}", "", "", "", f"C{rng.randint(1, 99):03d}", "", "",
                         "email", "EN", str(score), str(group),
                         rng.choice(["Fast help", "Too expensive", "Friendly, quick"])])
    return out.getvalue()


def with_mappings(ws, toml: str) -> smokejumper.Workspace:
    """The same workspace, reopened with extra mapping sections in its smokejumper.toml."""
    config = ws.root / "smokejumper.toml"
    config.write_text(config.read_text() + "\n" + toml)
    ws.close()
    return smokejumper.Workspace(ws.root)


def test_qualtrics_export(ws, write) -> None:
    path = write("qualtrics.csv", qualtrics_export(12, bad_score_row=4))
    summary = ws.ingest([path], "responses", mapping="qualtrics")
    assert counts(summary) == (12, 11, 0, 0, 1)
    assert summary.files[0].columns == {"response_id": "ResponseId", "ts": "RecordedDate",
                                        "customer_id": "ExternalReference", "nps": "Q1"}
    assert "Q1_NPS_GROUP" in summary.ignored_columns and "Q2" in summary.ignored_columns
    first = rows_of(ws, "responses", "response_id, ts, nps, source")[0]
    # 08:05 in America/Denver (the export's ImportId timeZone) is 15:05 UTC in March
    assert first[:2] == ("R_000000000000", datetime(2024, 3, 1, 15, 5))
    assert first[3] == "survey"
    reject = read_rejects(summary.rejects_file)[2:]  # after the two other header rows
    assert [(r["_line"], r["_column"], r["_reason"]) for r in reject] == [
        ("8", "nps", "out of range 0 to 10: '11'")]

    # the rejects file keeps the three header rows, so it loads with the same mapping
    lines = summary.rejects_file.read_text(encoding="utf-8")
    fixed = lines.replace(",11,3,", ",10,3,")
    assert fixed != lines
    summary.rejects_file.write_text(fixed, encoding="utf-8")
    again = ws.ingest([summary.rejects_file], "responses", mapping="qualtrics")
    assert counts(again) == (1, 1, 0, 0, 0)


def test_user_mapping_overrides_a_builtin_column_by_column(ws, write) -> None:
    ws = with_mappings(ws, '[mappings.qualtrics]\ntable = "responses"\n'
                           'timezone = "UTC"\n[mappings.qualtrics.columns]\ncomment = "Q2"\n')
    summary = ws.ingest([write("q.csv", qualtrics_export(3))], "responses",
                        mapping="qualtrics")
    assert counts(summary) == (3, 3, 0, 0, 0)
    assert summary.files[0].columns["comment"] == "Q2"
    assert summary.files[0].columns["nps"] == "Q1"  # still from the built-in
    assert rows_of(ws, "responses", "ts")[0] == (datetime(2024, 3, 1, 8, 5),)
    ws.close()


ZENDESK_COLUMNS = ["Id", "Requester", "Requester id", "Assignee", "Group", "Subject",
                   "Status", "Via", "Created at", "Solved at", "Satisfaction Score",
                   "Satisfaction Comment"]
ZENDESK_ROWS = [
    ["1001", "Ann", "501", "Bob", "Billing", "Refund", "solved", "Email",
     "2024-04-02T09:15:00Z", "2024-04-02T11:00:00Z", "Good", "Sorted quickly"],
    ["1002", "Cy", "502", "Dee", "Tech", "No signal", "open", "Phone",
     "2024-04-02 10:00:00 +0200", "", "Bad", "Still broken"],
    ["1003", "Eve", "503", "Bob", "Billing", "Invoice", "closed", "Web form",
     "2024-04-03T08:00:00Z", "2024-04-03T09:00:00Z", "Offered", ""],
    ["1004", "Fay", "504", "Dee", "Tech", "Router", "pending", "Chat",
     "2024-04-03T12:00:00Z", "", "GoodWithComment", "Lovely agent"],
    ["1005", "Gus", "505", "Bob", "Billing", "Price", "solved", "Email",
     "2024-04-04T12:00:00Z", "2024-04-04T13:00:00Z", "Amazing", ""],
]


def zendesk_export() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ZENDESK_COLUMNS)
    writer.writerows(ZENDESK_ROWS)
    return out.getvalue()


def test_zendesk_satisfaction_as_responses(ws, write) -> None:
    summary = ws.ingest([write("zendesk.csv", zendesk_export())], "responses",
                        mapping="zendesk")
    assert counts(summary) == (5, 4, 0, 0, 1)
    assert [(r["_line"], r["_column"], r["_reason"])
            for r in read_rejects(summary.rejects_file)] == [
        ("6", "csat", "not a whole number: 'Amazing'")]
    assert rows_of(ws, "responses", "response_id, interaction_id, ts, customer_id, source, "
                   "touchpoint, channel, agent_id, team_id, csat, comment") == [
        ("1001", "1001", datetime(2024, 4, 2, 9, 15), "501", "ticket", "support", "Email",
         "Bob", "Billing", 5, "Sorted quickly"),
        ("1002", "1002", datetime(2024, 4, 2, 8, 0), "502", "ticket", "support", "Phone",
         "Dee", "Tech", 1, "Still broken"),
        ("1003", "1003", datetime(2024, 4, 3, 8, 0), "503", "ticket", "support", "Web form",
         "Bob", "Billing", None, None),
        ("1004", "1004", datetime(2024, 4, 3, 12, 0), "504", "ticket", "support", "Chat",
         "Dee", "Tech", 5, "Lovely agent"),
    ]


def test_zendesk_tickets_as_interactions(ws, write) -> None:
    summary = ws.ingest([write("zendesk.csv", zendesk_export())], "interactions",
                        mapping="zendesk")
    assert counts(summary) == (5, 5, 0, 0, 0)
    assert rows_of(ws, "interactions", "interaction_id, touchpoint, channel, resolved, "
                   "agent_id") == [
        ("1001", "support", "Email", True, "Bob"), ("1002", "support", "Phone", False, "Dee"),
        ("1003", "support", "Web form", True, "Bob"), ("1004", "support", "Chat", False, "Dee"),
        ("1005", "support", "Email", True, "Bob")]


def test_user_mapping_columns_values_defaults_and_formats(ws, write) -> None:
    ws = with_mappings(ws, """
[mappings.survey_tool]
table = "responses"
timezone = "Asia/Tokyo"
timestamp_format = "%d/%m/%Y %H:%M"
defaults = { source = "survey", channel = "email" }
[mappings.survey_tool.columns]
response_id = "Resp #"
ts = "Submitted"
nps = "Recommend?"
[mappings.survey_tool.values]
touchpoint = { "WEB" = "web", "Shop" = "store", "n/a" = "" }
""")
    text = ("Resp #,Submitted,Recommend?,Touchpoint,Channel\n"
            "S1,31/01/2024 09:00,9,WEB,\n"
            "S2,01/02/2024 18:30,3,shop,sms\n"
            "S3,2024-02-01 18:30,5,n/a,\n")
    summary = ws.ingest([write("tool.csv", text)], "responses", mapping="survey_tool")
    assert counts(summary) == (3, 2, 0, 0, 1)
    assert read_rejects(summary.rejects_file)[0]["_reason"] == \
        "not a date/time in the format %d/%m/%Y %H:%M: '2024-02-01 18:30'"
    assert rows_of(ws, "responses", "response_id, ts, nps, touchpoint, channel, source") == [
        ("S1", datetime(2024, 1, 31, 0, 0), 9, "web", "email", "survey"),
        ("S2", datetime(2024, 2, 1, 9, 30), 3, "store", "sms", "survey"),
    ]
    ws.close()


def test_mapping_with_two_header_rows(ws, write) -> None:
    ws = with_mappings(ws, '[mappings.two]\ntable = "responses"\nheader_rows = 2\n')
    rows = response_rows(4)
    lines = csv_text(rows).splitlines()
    text = "\n".join([lines[0], "labels,for,people,,,,,"] + lines[1:]) + "\n"
    summary = ws.ingest([write("two.csv", text)], "responses", mapping="two")
    assert counts(summary) == (4, 4, 0, 0, 0)
    ws.close()


def test_unknown_mapping_lists_the_available_ones(ws, write) -> None:
    path = write("a.csv", csv_text(response_rows(1)))
    with pytest.raises(IngestError, match="unknown mapping 'qualtrix': available mappings "
                                          "are qualtrics, zendesk"):
        ws.ingest([path], "responses", mapping="qualtrix")


def test_mapping_for_another_table_is_refused(ws, write) -> None:
    ws = with_mappings(ws, '[mappings.crm]\ntable = "customers"\n')
    path = write("a.csv", csv_text(response_rows(1)))
    with pytest.raises(IngestError, match="mapping 'crm' is for table 'customers', not "
                                          "'responses'"):
        ws.ingest([path], "responses", mapping="crm")
    with pytest.raises(IngestError, match="'qualtrics' loads responses, not 'customers'"):
        ws.ingest([path], "customers", mapping="qualtrics")
    ws.close()


def test_mapping_naming_a_column_the_file_lacks(ws, write) -> None:
    ws = with_mappings(ws, '[mappings.m]\ntable = "responses"\n'
                           '[mappings.m.columns]\nnps = "Likelihood"\n')
    with pytest.raises(IngestError, match="reads nps from column 'Likelihood', which the file "
                                          "lacks; columns found: response_id, ts"):
        ws.ingest([write("a.csv", csv_text(response_rows(1)))], "responses", mapping="m")
    ws.close()


def test_every_builtin_mapping_is_documented() -> None:
    from pathlib import Path

    from smokejumper.ingest import BUILTIN_MAPPINGS

    text = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    assert [name for name in BUILTIN_MAPPINGS if f"`{name}`" not in text] == []
