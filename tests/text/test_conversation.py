"""Conversation quality: transcript formats, each signal, and the demo's planted quality."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from smokejumper.text.conversation import (
    AGENT,
    CUSTOMER,
    WEIGHTS,
    ConversationQuality,
    parse_transcript,
    score_transcripts,
)

GOOD = """Customer: Hi, my broadband has been down since yesterday and I'm really annoyed.
Agent: I'm so sorry to hear that, I can imagine how frustrating that is.
Agent: I've reset the line from our side and it's working again now.
Customer: Brilliant, thank you so much!"""

BAD = """[10:02] Agent: Account number?
[10:03] Customer: I already told the last person my account number.
[10:05] Agent: I'll transfer you to the billing team.
[10:21] Customer: Hello? Are you still there? I've been waiting for fifteen minutes.
[10:25] Agent: I can't fix that from here, I'll raise a ticket.
[10:26] Customer: Unbelievable. Thanks for nothing."""


@pytest.mark.parametrize("text", [
    "Customer: my bill is wrong\nAgent: let me look",
    "customer: my bill is wrong\nagent: let me look",
    "[customer] my bill is wrong\n[agent] let me look",
    "[10:01] Customer: my bill is wrong\n[10:02] Agent: let me look",
    "10:01:22 Customer - my bill is wrong\n10:02:40 Agent - let me look",
    "Customer (10:01): my bill is wrong\nAgent (10:02): let me look",
    "2025-03-01 10:01:22 Caller: my bill is wrong\n2025-03-01 10:02:00 Advisor: let me look",
    "User> my bill is wrong\nSupport> let me look",
    "Customer: my bill is wrong\nPriya: let me look",
    json.dumps([{"speaker": "customer", "text": "my bill is wrong"},
                {"speaker": "agent", "text": "let me look"}]),
    json.dumps([{"role": "user", "content": "my bill is wrong"},
                {"role": "assistant", "content": "let me look"}]),
])
def test_formats_give_the_same_turns(text: str) -> None:
    assert [(t.speaker, t.text) for t in parse_transcript(text)] == [
        (CUSTOMER, "my bill is wrong"), (AGENT, "let me look")]


def test_lines_without_a_speaker_continue_the_turn() -> None:
    turns = parse_transcript("Agent: Hello.\nCustomer: My router\nhas a red light.\n")
    assert [(t.speaker, t.text) for t in turns] == [(AGENT, "Hello."),
                                                    (CUSTOMER, "My router has a red light.")]


def test_a_good_conversation() -> None:
    quality = score_transcripts([GOOD])[0]
    assert (quality.resolution, quality.empathy, quality.effort_signals) == ("stated", 1.0, 0)
    assert quality.start_sentiment < 0 < quality.end_sentiment
    assert quality.sentiment_change > 1.0
    expected = WEIGHTS["resolution"] + WEIGHTS["empathy"] + WEIGHTS["low_effort"] + \
        WEIGHTS["end_sentiment"] * (quality.end_sentiment + 1) / 2
    assert quality.score == pytest.approx(expected, abs=1e-4)
    assert (quality.customer_turns, quality.agent_turns, quality.turns) == (2, 2, 4)


def test_a_bad_conversation() -> None:
    quality = score_transcripts([BAD])[0]
    assert quality.resolution == "not_resolved" and not quality.resolution_stated
    assert (quality.repeats, quality.transfers, quality.waits) == (1, 1, 1)
    assert quality.effort_signals == 3 and quality.empathy == 0.0
    assert quality.end_sentiment <= -0.5  # "thanks for nothing" is not thanks
    # nothing earns points except an end sentiment of at most -0.5
    assert quality.score <= WEIGHTS["end_sentiment"] * 0.25 + 1e-9


def test_signals_one_at_a_time() -> None:
    base = "Customer: I need help with my order.\nAgent: Sure.\n"
    sorry = score_transcripts([base + "Agent: Sorry, one moment."])[0]
    assert sorry.empathy == 0.25  # a bare "sorry" is not acknowledgement
    unknown = score_transcripts([base])[0]
    assert unknown.resolution == "unknown"
    # the last word on the outcome wins
    later = score_transcripts([base + "Agent: I can't do that here.\nAgent: Actually, I've "
                                      "fixed it now."])[0]
    assert later.resolution == "stated"
    # a reply about the same transfer is one exchange; a second transfer is another
    transfers = score_transcripts([base + "Agent: I'll transfer you.\nCustomer: Not another "
                                          "transfer!\nAgent: I'll transfer you again."])[0]
    assert transfers.transfers == 2


def test_no_customer_turns_and_empty_text() -> None:
    only_agent, empty = score_transcripts(["Agent: Hello? Anyone there?", ""])
    assert only_agent.start_sentiment is None and only_agent.end_sentiment is None
    assert empty.turns == 0 and 0.0 <= empty.score <= 1.0
    assert set(empty.to_dict()) >= {"score", "start_sentiment", "end_sentiment",
                                    "effort_signals", "empathy", "resolution"}


def test_ranks_hand_written_conversations() -> None:
    middling = ("Customer: Hi, what's my notice period?\nAgent: Let me check.\n"
                "Agent: It's 30 days, someone will get back to you to confirm.\nCustomer: OK.")
    good, bad, middle = score_transcripts([GOOD, BAD, middling])
    assert good.score > middle.score > bad.score
    assert isinstance(good, ConversationQuality)


def test_recovers_the_demo_s_planted_quality(small_demo_path) -> None:
    from scipy.stats import spearmanr

    data = small_demo_path / "data"
    truth = pd.read_parquet(data / "transcript_truth.parquet")
    interactions = pd.read_parquet(data / "interactions.parquet",
                                   columns=["interaction_id", "transcript"])
    joined = truth.merge(interactions, on="interaction_id")
    assert len(joined) > 500
    quality = score_transcripts(joined["transcript"].tolist())
    score = [q.score for q in quality]
    assert spearmanr(score, joined["quality"]).statistic >= 0.7
    stated = pd.Series([q.resolution_stated for q in quality])
    assert (stated.to_numpy() == joined["resolution_stated"].to_numpy()).mean() >= 0.95
    effort = pd.Series([q.effort_signals for q in quality])
    assert spearmanr(effort, joined["effort_signals"]).statistic >= 0.9
