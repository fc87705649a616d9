"""The SemEval-2014 reader and the sentence-label rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from smokejumper.errors import TextError
from smokejumper.text.semeval import (
    AspectCategory,
    AspectTerm,
    SemEvalSentence,
    category_examples,
    read_semeval,
    sentence_sentiment,
    sentiment_examples,
)


def _sentence(terms: list[str], categories: list[str] = ()) -> SemEvalSentence:
    return SemEvalSentence("1", "text", tuple(AspectTerm("t", p, 0, 1) for p in terms),
                           tuple(AspectCategory("food", p) for p in categories))


@pytest.mark.parametrize(("terms", "categories", "expected"), [
    (["positive"], [], "positive"),
    (["positive", "neutral"], [], "positive"),
    (["negative", "neutral"], [], "negative"),
    (["neutral"], [], "neutral"),
    ([], [], "neutral"),
    (["positive", "negative"], [], None),
    (["conflict"], [], None),
    ([], ["negative"], "negative"),
    (["positive"], ["negative"], None),
])
def test_sentence_label_rule(terms, categories, expected) -> None:
    assert sentence_sentiment(_sentence(terms, categories)) == expected


def test_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(TextError, match="does not exist"):
        read_semeval(tmp_path / "missing.xml")
    (tmp_path / "bad.xml").write_text("<sentences><sentence>")
    with pytest.raises(TextError, match="not valid XML"):
        read_semeval(tmp_path / "bad.xml")


def test_real_training_sets(semeval_dir: Path) -> None:
    restaurants = read_semeval(semeval_dir / "Restaurants_Train_v2.xml")
    laptops = read_semeval(semeval_dir / "Laptop_Train_v2.xml")
    assert (len(restaurants), len(laptops)) == (3041, 3045)
    first = restaurants[0]
    assert first.text == "But the staff was so horrible to us."
    assert first.aspect_terms == (AspectTerm("staff", "negative", 8, 13),)
    assert first.text[8:13] == "staff"
    texts, labels = sentiment_examples(semeval_dir / "Restaurants_Train_v2.xml")
    assert {label: labels.count(label) for label in set(labels)} == {
        "positive": 1675, "negative": 631, "neutral": 411}
    texts, labels = category_examples(semeval_dir / "Restaurants_Train_v2.xml")
    assert len(texts) == 2465 and labels.count("price") == 108
