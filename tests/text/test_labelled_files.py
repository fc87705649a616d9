"""Labelled CSV files as analysts write them: quoted commas, apostrophes, newlines,
semicolons."""

from __future__ import annotations

from pathlib import Path

from smokejumper.text.tasks import read_labelled_csv


def test_quoted_commas_apostrophes_and_newlines_stay_in_the_text(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text('text,label\n"Great food, but the waiter\'s attitude, awful",negative\n'
                    '"Two lines,\nstill one text",neutral\nNice,positive\n', encoding="utf-8")
    found = read_labelled_csv(path, "text", "label")
    assert found.texts == ("Great food, but the waiter's attitude, awful",
                           "Two lines,\nstill one text", "Nice")
    assert found.labels == ("negative", "neutral", "positive")


def test_a_semicolon_file_is_read_by_its_header(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("label;text\npositive;Fast, friendly, done\n", encoding="utf-8")
    assert read_labelled_csv(path, "text", "label").texts == ("Fast, friendly, done",)
