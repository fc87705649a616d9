"""What sentiment models read: web and social noise taken out, clean text left alone."""

from __future__ import annotations

import pytest

from smokejumper.text.social import model_text


@pytest.mark.parametrize(("raw", "read"), [
    ("RT @VirginAmerica: you're the best!!", "you're the best!!"),
    ("@united @AmericanAir lost my bag again", "lost my bag again"),
    ("thanks to @jo for the help", "thanks to @user for the help"),
    ("Fish &amp; chips were cold &lt;3", "Fish & chips were cold <3"),
    ("so slow https://t.co/AbC123 and www.example.com/x again", "so slow and again"),
    ("#worstflightever with #delays", "worstflightever with delays"),
    ("cars_\ufffd_.no thank you", "cars_ _.no thank you"),
    ("Order #12345, e-mail ann@example.com", "Order 12345, e-mail ann@example.com"),
])
def test_noise_is_taken_out(raw: str, read: str) -> None:
    assert model_text(raw) == read


def test_clean_text_is_left_exactly_as_it_is() -> None:
    transcript = "Customer: my bill is wrong.\n  Agent: sorry, let me check.\n"
    assert model_text(transcript) == transcript
    assert model_text("") == ""


def test_the_lexicon_reads_through_entities_and_handles() -> None:
    pytest.importorskip("vaderSentiment")
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from smokejumper.text.sentiment import VaderSentimentModel

    text = "@Lovely_Airways I &lt;3 the new seats"
    assert SentimentIntensityAnalyzer().polarity_scores(text)["compound"] == 0.0  # plain VADER
    [score] = VaderSentimentModel().score([text])
    assert score.label == "positive"
    assert score.score == pytest.approx(
        SentimentIntensityAnalyzer().polarity_scores("I <3 the new seats")["compound"])
