"""Free-text comments that really vary, and transcripts with planted quality."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from smokejumper.simulate import phrases as ph
from smokejumper.simulate.comments import CommentPool, make_typo


def test_comments_really_vary(frames) -> None:
    r = frames["responses"]
    comments = r.comment.dropna()
    assert comments.nunique() >= 10_000
    lengths = comments.str.split().str.len()
    assert lengths.min() <= 3 and lengths.max() >= 40  # a few words to several sentences
    assert comments.str.contains("[😡👍🙂😀🙌👎]", regex=True).mean() > 0.02
    assert (comments == comments.str.lower()).mean() > 0.03
    assert comments.str.contains("@Brightwave").any()


def test_what_each_comment_says_is_recorded(frames) -> None:
    truth = frames["comment_truth"]
    r = frames["responses"].set_index("response_id")
    assert set(truth.response_id) == set(r.index[r.comment.notna()])
    counts = truth.themes.apply(len)
    assert counts.min() == 1 and counts.max() == 3
    assert (counts >= 2).mean() > 0.25  # mixed themes in one comment
    assert set(np.concatenate(truth.themes.to_numpy())) == set(ph.THEME_NAMES)
    mixed = truth.theme_sentiments.apply(lambda s: "positive" in s and "negative" in s)
    assert mixed.mean() > 0.03  # praise the staff, hate the bill
    assert 0.01 < truth.typo.mean() < 0.15
    assert 0.0 < truth.pii.mean() < 0.02


def test_comment_sentiment_follows_the_score(frames) -> None:
    data = frames["responses"].merge(frames["comment_truth"], on="response_id")
    data = data.dropna(subset=["nps"])
    assert (data.sentiment[data.nps >= 9] == "positive").all()
    assert (data.sentiment[data.nps <= 6] == "negative").all()
    assert (data.sentiment[data.nps.isin([7, 8])] == "neutral").all()


def test_each_theme_mention_is_a_phrasing_of_that_theme(company, frames) -> None:
    """A one-theme comment of medium length contains a phrasing of its theme."""
    pool = company.simulation.comment_pool
    texts = pool.texts.to_pylist()
    by_theme = {}
    for t, name in enumerate(ph.THEME_NAMES):
        sentences = []
        for start, count in pool.sentence[t]:
            sentences += [x.lower() for x in texts[start:start + count]]
        by_theme[name] = sentences
    data = frames["responses"].merge(frames["comment_truth"], on="response_id")
    single = data[(data.themes.apply(len) == 1) & (data.length == "medium")]
    for _, row in single.sample(300, random_state=1).iterrows():
        text = row.comment.lower()
        assert any(sentence in text for sentence in by_theme[row.themes[0]]), text


def test_typos_are_small_slips() -> None:
    rng = np.random.default_rng(3)
    original = "The engineer arrived on time and was very tidy."
    slipped = [make_typo(original, rng) for _ in range(50)]
    changed = [s for s in slipped if s]
    assert len(changed) > 40
    assert all(s != original and abs(len(s) - len(original)) <= 1 for s in changed)
    assert all(sum(a != b for a, b in zip(s.split(), original.split(), strict=True)) == 1
               for s in changed)


def test_pool_is_large_and_deterministic() -> None:
    one = CommentPool.build(np.random.default_rng([7, 2]))
    two = CommentPool.build(np.random.default_rng([7, 2]))
    assert one.texts.equals(two.texts)
    assert one.distinct_sentences > 1_200
    assert isinstance(one.texts, pa.Array)


def test_transcripts_carry_planted_quality(frames) -> None:
    x = frames["interactions"].set_index("interaction_id")
    truth = frames["transcript_truth"].set_index("interaction_id")
    assert set(truth.index) == set(x.index[x.transcript.notna()])
    assert truth.quality.between(0, 1).all()
    assert truth.quality.std() > 0.15
    transcripts = x.transcript.loc[truth.index]
    turns = transcripts.str.split("\n")
    assert turns.apply(lambda t: all(line.startswith(("agent: ", "customer: "))
                                     for line in t)).all()
    assert turns.str.len().min() >= 6
    empathy = transcripts.str.contains("sorry to hear|understand|apologise|can see why|annoying|"
                                       "sorry you've had", regex=True)
    assert (empathy == truth.empathy).mean() > 0.97
    assert (truth.resolution_stated == x.resolved.loc[truth.index]).all()
    assert np.corrcoef(truth.quality, x.resolved.loc[truth.index])[0, 1] > 0.5


@pytest.mark.parametrize("theme", ph.THEME_NAMES)
def test_every_theme_has_many_phrasings(theme) -> None:
    phrases = ph.THEMES[theme]
    assert len(phrases.positive) >= 6 and len(phrases.negative) >= 7
    assert len(phrases.neutral) >= 3
    assert phrases.short_positive and phrases.short_negative and phrases.short_neutral
