"""Sentiment per theme mention: each theme gets the mood of the clauses that carry it."""

from __future__ import annotations

import pytest

from smokejumper.text.clauses import split_clauses
from smokejumper.text.mentions import CONTEXT_WEIGHT, Mention, theme_mentions
from smokejumper.text.sentiment import VaderSentimentModel
from smokejumper.text.themes import KeywordThemeTagger, Taxonomy

TAXONOMY = Taxonomy.from_mapping({
    "staff": {"description": "How staff treated the customer",
              "examples": ["The agent was very helpful and kind."],
              "keywords": ["staff", "agent", "advisor"]},
    "billing": {"description": "Bills, charges and refunds",
                "examples": ["I was charged twice this month."],
                "keywords": ["bill", "charge", "refund"]},
    "network": {"description": "Mobile signal, broadband speed and outages",
                "examples": ["No signal at home."], "keywords": ["signal", "broadband"]},
})
MIXED = ["The staff were lovely but the bill was wrong.",
         "Terrible signal at home, although the agent was really helpful.",
         "Glad the bill was correct. The broadband is awful and keeps dropping."]
EXPECTED = [{"staff": "positive", "billing": "negative"},
            {"network": "negative", "staff": "positive"},
            {"billing": "positive", "network": "negative"}]


@pytest.fixture(scope="module")
def vader() -> VaderSentimentModel:
    return VaderSentimentModel()


def labels(mentions: list[list[Mention]]) -> list[dict[str, str]]:
    return [{m.theme: m.label for m in text} for text in mentions]


def test_clauses_split_at_contrast_words() -> None:
    text = ("The staff were lovely but the bill was wrong; nobody could explain it. "
            "Quick and easy, never again.")
    # pieces under three words stay joined to their neighbour
    assert [text[a:b] for a, b in split_clauses(text)] == [
        "The staff were lovely", "but the bill was wrong", "nobody could explain it.",
        "Quick and easy, never again."]


def test_keyword_tagger_mixed_comments(vader) -> None:
    mentions = theme_mentions(MIXED, KeywordThemeTagger(TAXONOMY), vader)
    assert labels(mentions) == EXPECTED
    staff, billing = mentions[0]
    assert staff.evidence == ("The staff were lovely",)
    assert billing.evidence == ("but the bill was wrong.",)
    # the mention's score is VADER's score of its clause, exactly
    assert staff.sentiment == round(vader.score(["The staff were lovely"])[0].score, 4)
    assert staff.confidence == 1.0 and staff.to_dict()["evidence"] == ["The staff were lovely"]


def test_hybrid_tagger_mixed_comments(vader, embedder) -> None:
    from smokejumper.text.themes import HybridThemeTagger

    mentions = theme_mentions(MIXED, HybridThemeTagger(TAXONOMY, embedder), vader)
    assert labels(mentions) == EXPECTED
    assert all(0.5 <= m.confidence <= 1.0 for text in mentions for m in text)


def test_plain_statements_take_the_mood_around_them(vader) -> None:
    # the bill clause has no sentiment words; the comment around it is angry
    text = "Absolutely furious. My bill lists two lines when I only have one."
    (mention,), = theme_mentions([text], KeywordThemeTagger(TAXONOMY), vader)
    mood = vader.score(["Absolutely furious."])[0].score
    assert mention.sentiment == round(CONTEXT_WEIGHT * mood, 4) and mention.label == "negative"


def test_nothing_to_mention(vader) -> None:
    assert theme_mentions([], KeywordThemeTagger(TAXONOMY), vader) == []
    assert theme_mentions(["Lovely weather.", ""], KeywordThemeTagger(TAXONOMY), vader) == [[],
                                                                                            []]


def test_demo_mentions_beat_whole_comment_sentiment_on_mixed_comments(small_demo_path,
                                                                      vader) -> None:
    """On demo comments whose planted mentions differ in sentiment, per-mention VADER
    agrees with the planted per-theme sentiment more often than the whole comment's."""
    import pandas as pd

    from smokejumper.text.themes import load_taxonomy

    data = small_demo_path / "data"
    truth = pd.read_parquet(data / "comment_truth.parquet")
    comments = pd.read_parquet(data / "responses.parquet", columns=["response_id", "comment"])
    joined = truth.merge(comments, on="response_id")
    mixed = joined[joined["theme_sentiments"].map(lambda s: len(set(s)) > 1)].sample(
        1500, random_state=0)
    tagger = KeywordThemeTagger(load_taxonomy(small_demo_path / "smokejumper.toml"))
    texts = mixed["comment"].tolist()
    mentions = theme_mentions(texts, tagger, vader)
    whole = [s.label for s in vader.score(texts)]
    per_mention = overall = total = 0
    for found, themes, sentiments, label in zip(mentions, mixed["themes"],
                                                mixed["theme_sentiments"], whole, strict=True):
        planted = dict(zip(themes, sentiments, strict=True))
        for mention in found:
            if mention.theme in planted:
                total += 1
                per_mention += mention.label == planted[mention.theme]
                overall += label == planted[mention.theme]
    assert total > 1000
    assert per_mention / total >= overall / total + 0.05
