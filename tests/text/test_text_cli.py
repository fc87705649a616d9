"""`smokejumper text eval`: JSON keys, exact figures on tiny labelled files, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import smokejumper.cli.text_cmd  # noqa: F401  (registers `text` until app.py imports it)
from smokejumper.cli.testing import invoke as run

SENTIMENT_CSV = """comment,feeling
"I love this place, the staff are wonderful",positive
"Terrible service, never again",negative
The shop opens at nine,neutral
Great food and friendly people,Positive
I waited forty minutes on hold,negative
I hate the new app,negative
"""

THEMES_TOML = """
[themes.delivery]
description = "Parcels, couriers and tracking"
keywords = ["parcel", "courier", "tracking"]

[themes.billing]
description = "Invoices, charges and refunds"
keywords = ["invoice", "refund", "charged"]
"""

THEMES_CSV = """text,theme
The courier lost my parcel,delivery
Tracking never updated,delivery
I was charged twice,billing
Still waiting for a refund,billing
The parcel came with the wrong invoice,billing
"""




@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"sentiment": tmp_path / "sentiment.csv", "themes_csv": tmp_path / "themes.csv",
             "themes": tmp_path / "themes.toml"}
    paths["sentiment"].write_text(SENTIMENT_CSV)
    paths["themes_csv"].write_text(THEMES_CSV)
    paths["themes"].write_text(THEMES_TOML)
    return paths


def test_sentiment_eval_json_is_exact(files, capsys) -> None:
    pytest.importorskip("vaderSentiment")
    code, out, err = run(["text", "eval", "--task", "sentiment", "--labels",
                          str(files["sentiment"]), "--text-column", "comment",
                          "--label-column", "feeling", "--model", "vader", "--format",
                          "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"task", "model", "model_version", "taught", "adapted", "n",
                           "accuracy", "macro_f1", "per_class_f1", "support", "training"}
    assert result["adapted"] is None  # the lexicon has nothing to learn from the texts
    # VADER reads "waited forty minutes on hold" as neutral: one miss in six.
    assert (result["model"], result["taught"], result["n"]) == ("vader", False, 6)
    assert result["accuracy"] == 0.8333
    assert result["per_class_f1"] == {"negative": 0.8, "neutral": 0.6667, "positive": 1.0}
    assert result["macro_f1"] == 0.8222
    assert result["support"] == {"negative": 3, "neutral": 1, "positive": 2}
    assert result["training"] is None


def test_untaught_embedding_sentiment_adapts_to_the_texts_unless_told_not_to(
        files, capsys, embedder) -> None:
    args = ["text", "eval", "--task", "sentiment", "--labels", str(files["sentiment"]),
            "--text-column", "comment", "--label-column", "feeling", "--format", "json"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    adapted = json.loads(out)
    assert (adapted["model"], adapted["adapted"], adapted["taught"]) == ("embedding", 6, False)
    assert ":adapted-" in adapted["model_version"]
    code, out, err = run([*args, "--no-adapt"], capsys)
    shipped = json.loads(out)
    assert shipped["adapted"] is None and shipped["model_version"].split(":")[-1][:5] == "head-"


def test_themes_eval_with_keywords(files, capsys) -> None:
    pytest.importorskip("sklearn")
    code, out, err = run(["text", "eval", "--task", "themes", "--labels",
                          str(files["themes_csv"]), "--label-column", "theme", "--themes",
                          str(files["themes"]), "--model", "keywords", "--format", "json"],
                         capsys)
    assert code == 0, err
    result = json.loads(out)
    # "The parcel came with the wrong invoice": both keywords hit, the tie goes to the
    # first theme (delivery), and the label says billing.
    assert (result["accuracy"], result["macro_f1"]) == (0.8, 0.8)
    assert result["per_class_f1"] == {"billing": 0.8, "delivery": 0.8}


def test_hybrid_themes_eval_adapts_to_the_texts_unless_told_not_to(files, tmp_path,
                                                                  capsys) -> None:
    pytest.importorskip("sentence_transformers")
    described = tmp_path / "described.toml"
    described.write_text("\n".join(line for line in THEMES_TOML.splitlines()
                                    if not line.startswith("keywords")))
    base = ["text", "eval", "--task", "themes", "--labels", str(files["themes_csv"]),
            "--label-column", "theme", "--themes", str(described), "--format", "json"]
    code, out, err = run(base, capsys)
    assert code == 0, err
    adapted = json.loads(out)
    assert adapted["model"] == "hybrid" and adapted["adapted"] == 5
    assert ":adapted-" in adapted["model_version"] and not adapted["taught"]
    code, out, err = run([*base, "--no-adapt"], capsys)
    assert code == 0, err
    plain = json.loads(out)
    assert plain["adapted"] is None and plain["model_version"].endswith(":zero-shot")
    code, out, err = run([*base, "--train", str(files["themes_csv"])], capsys)
    assert code == 0, err
    assert json.loads(out)["adapted"] is None  # taught: examples, not its own labels
    # themes with keywords keep what their author wrote, and the user is told
    code, out, err = run(["text", "eval", "--task", "themes", "--labels",
                          str(files["themes_csv"]), "--label-column", "theme", "--themes",
                          str(files["themes"]), "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["adapted"] is None
    assert "hybrid not adapted: every theme has examples or keywords" in err


def test_table_output(files, capsys) -> None:
    pytest.importorskip("sklearn")
    code, out, _ = run(["text", "eval", "--task", "themes", "--labels", str(files["themes_csv"]),
                        "--label-column", "theme", "--themes", str(files["themes"]),
                        "--model", "keywords"], capsys)
    assert code == 0
    assert "macro-F1 0.800" in out and "billing" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--labels", "{missing}"], "does not exist"),
    (["--labels", "{sentiment}", "--text-column", "body"],
     "column 'body' is not in .*; its columns are: comment, feeling"),
    (["--labels", "{themes_csv}", "--text-column", "text", "--label-column", "theme"],
     "row 2: unknown sentiment label 'delivery'"),
    (["--labels", "{sentiment}", "--text-column", "comment", "--label-column", "feeling",
      "--model", "bert"], "unknown sentiment model 'bert'"),
    (["--labels", "{sentiment}", "--text-column", "comment", "--label-column", "feeling",
      "--model", "vader", "--train", "{sentiment}"], "the 'vader' model cannot be taught"),
])
def test_sentiment_errors_are_one_line(files, capsys, tmp_path, args, message) -> None:
    pytest.importorskip("vaderSentiment")
    names = {**{k: str(v) for k, v in files.items()}, "missing": str(tmp_path / "nope.csv")}
    code, out, err = run(["text", "eval", "--task", "sentiment",
                          *[a.format(**names) for a in args]], capsys)
    assert code == 1 and out == ""
    assert err.startswith("error:") and err.strip().count("\n") == 0
    import re

    assert re.search(message, err), err


def test_themes_errors_are_one_line(files, capsys) -> None:
    code, _, err = run(["text", "eval", "--task", "themes", "--labels",
                        str(files["themes_csv"]), "--label-column", "theme"], capsys)
    assert code == 1 and "needs --themes FILE" in err
    code, _, err = run(["text", "eval", "--task", "themes", "--labels", str(files["sentiment"]),
                        "--text-column", "comment", "--label-column", "feeling", "--themes",
                        str(files["themes"]), "--model", "keywords"], capsys)
    assert code == 1 and "unknown theme 'positive'" in err and "row 2" in err


def test_taught_sentiment_reports_training_accuracy(files, capsys, tmp_path, embedder) -> None:
    rows = ["text,label"]
    for item in ("parcel", "sofa", "lamp", "bike", "kettle", "phone"):
        rows += [f"The {item} arrived crushed,negative", f"The {item} came early,positive",
                 f"The {item} was ordered on Tuesday,neutral"]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(rows) + "\n")
    # --no-adapt: the taught model alone (adapted, it would also read the shipped head and
    # each text's neighbours, which may overrule 18 examples)
    code, out, err = run(["text", "eval", "--task", "sentiment", "--labels", str(train),
                          "--train", str(train), "--folds", "3", "--no-adapt",
                          "--format", "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert (result["model"], result["taught"]) == ("setfit", True)  # the taught default
    assert result["training"]["n"] == 18 and result["training"]["folds"] == 3
    assert 0.0 <= result["training"]["accuracy"] <= 1.0
    assert result["accuracy"] == 1.0  # scored on its own training texts
