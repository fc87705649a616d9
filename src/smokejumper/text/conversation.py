"""Conversation quality for chat and call transcripts (turns with a speaker).

A transcript is read into turns (customer / agent), then five things are measured:

* the customer's **sentiment at the start** (their first message) and **at the end**
  (their last message), with any :class:`~smokejumper.text.sentiment.SentimentModel`
  (VADER by default), plus a few closing cues that lexicons miss ("thanks for nothing");
* **effort signals**: having to repeat oneself ("I already told you", "third time I've
  contacted you"), transfers ("passed around", "transfer you"), and waiting ("are you
  still there?", "waiting ten minutes"); each exchange counts once, at most three;
* **acknowledgement and empathy** by the agent: 1 for a real acknowledgement ("sorry to
  hear that", "I understand how frustrating"), 0.25 for a bare "sorry", else 0;
* **stated resolution**: the last thing the agent (or customer) says about the outcome:
  fixed / sorted / refunded / confirmed (1), cannot fix / raise a ticket / another team
  will get back to you (0), or nothing said (0.5);
* a **score** in [0, 1]: ``0.30 resolution + 0.20 empathy + 0.30 end sentiment
  (compound mapped to [0, 1]) + 0.20 (1 - effort / 3)``.

Accepted formats: ``Customer: ...`` / ``Agent: ...`` lines (many role words: client,
caller, user, advisor, rep, support, ...), ``[agent] ...``, timestamps before or after
the speaker (``[10:02] Agent: ...``, ``10:02:33 Customer - ...``, ``Agent (10:02): ...``),
lines without a speaker continuing the previous turn, and JSON lists of
``{"speaker"|"role"|"from": ..., "text"|"message"|"content": ...}``.

>>> quality = score_transcripts(["Customer: My bill is wrong again, I'm fed up.\\n"
...     "Agent: I'm so sorry to hear that, I understand how frustrating it is.\\n"
...     "Agent: I've refunded the charge, that's sorted now.\\n"
...     "Customer: Brilliant, thank you so much!"])[0]
>>> quality.resolution, quality.empathy, quality.effort_signals, quality.score > 0.9
('stated', 1.0, 0, True)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smokejumper.text.sentiment import SentimentModel

CUSTOMER, AGENT, OTHER = "customer", "agent", "other"

#: the blend of the score (sums to 1)
WEIGHTS: dict[str, float] = {"resolution": 0.30, "empathy": 0.20, "end_sentiment": 0.30,
                             "low_effort": 0.20}
MAX_EFFORT = 3

_CUSTOMER_WORDS = {"customer", "client", "caller", "user", "visitor", "guest", "member",
                   "consumer", "subscriber", "cust", "c", "me", "you"}
_AGENT_WORDS = {"agent", "advisor", "adviser", "rep", "representative", "support", "operator",
                "assistant", "staff", "associate", "specialist", "csr", "a", "bot", "helpdesk",
                "service", "team", "expert", "consultant", "host"}
_TIME = r"(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
_LINE = re.compile(
    rf"^\s*(?:[\[(]?{_TIME}[\])]?\s*[-–|]?\s*)?"          # optional timestamp first
    r"(?:\[(?P<bracket>[^\]\n]{1,40})\]|(?P<label>[A-Za-z][\w .'-]{0,38}?))"
    rf"\s*(?:[\[(]{_TIME}[\])])?\s*(?:[:>]|\s-\s|\s–\s|(?<=\])\s)\s*(?P<text>.*)$",
    re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation."""

    speaker: str  # customer, agent or other
    text: str


def _role(label: str) -> str | None:
    words = re.findall(r"[a-z]+", label.lower())
    if not words:
        return None
    if any(w in _CUSTOMER_WORDS for w in words) and len(words) <= 3:
        return CUSTOMER
    if any(w in _AGENT_WORDS for w in words) and len(words) <= 4:
        return AGENT
    return None


def parse_transcript(text: str) -> list[Turn]:
    """Turns with their speaker, from any of the accepted formats.

    >>> [(t.speaker, t.text) for t in parse_transcript("[10:01] Agent: Hi!\\nCustomer: Hello\\n"
    ...                                                "my router is broken")]
    [('agent', 'Hi!'), ('customer', 'Hello my router is broken')]
    """
    stripped = text.strip()
    if stripped.startswith("["):
        turns = _parse_json(stripped)
        if turns is not None:
            return turns
    raw: list[tuple[str | None, str]] = []  # (label, text)
    for line in stripped.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        label = None
        if match is not None:
            label = (match.group("bracket") or match.group("label") or "").strip()
            # a "label" that is really the start of a sentence (long, or many words) is text
            if match.group("label") and len(label.split()) > 3:
                label = None
        if label is None or match is None:
            if raw:
                raw[-1] = (raw[-1][0], f"{raw[-1][1]} {line.strip()}".strip())
            else:
                raw.append((None, line.strip()))
            continue
        raw.append((label, match.group("text").strip()))
    return _assign_roles(raw)


def _parse_json(text: str) -> list[Turn] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return None
    raw: list[tuple[str | None, str]] = []
    for item in data:
        label = next((str(item[k]) for k in ("speaker", "role", "from", "author", "name")
                      if item.get(k) is not None), None)
        body = next((str(item[k]) for k in ("text", "message", "content", "body", "utterance")
                     if item.get(k) is not None), "")
        raw.append((label, body.strip()))
    return _assign_roles(raw)


def _assign_roles(raw: list[tuple[str | None, str]]) -> list[Turn]:
    """Known role words decide; with one known role, other named speakers take the other
    role (an agent's first name); unnamed lines are the other party's."""
    roles = {label: _role(label) for label, _ in raw if label}
    known = {role for role in roles.values() if role}
    unknown = [label for label, role in roles.items() if role is None]
    if len(known) == 1 and unknown:
        fill = AGENT if known == {CUSTOMER} else CUSTOMER
        roles.update({label: fill for label in unknown})
    elif not known and len(unknown) == 2:  # two named people: the first to speak is
        first = next(label for label, _ in raw if label)  # assumed to be the agent
        roles.update({label: AGENT if label == first else CUSTOMER for label in unknown})
    turns = []
    for label, body in raw:
        if not body:
            continue
        speaker = roles.get(label) if label else None
        turns.append(Turn(speaker or OTHER, body))
    return turns


# --- signals ----------------------------------------------------------------------------------

def _any(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_REPEAT = _any([
    r"\balready (?:told|explained|said|gave|given|sent|provided|went through)\b",
    r"\b(?:told|explained) (?:you|this|it|all (?:of )?this) (?:already|before|twice)\b",
    r"\brepeat(?:ing)? (?:my|myself|it|this|the)\b", r"\bhave to repeat\b",
    r"\bhow many times\b",
    r"\b(?:second|third|fourth|fifth|3rd|4th|5th|\d+(?:st|nd|rd|th)) time (?:i|i've|i have|"
    r"that|this|today|this week)\b",
    r"\b(?:called|contacted|rung|phoned|messaged|chased) (?:you |them )?(?:\w+ )?"
    r"(?:times|before|already|again)\b",
    r"\bstart(?:ing)? (?:all )?over\b", r"\bsame (?:thing|question) again\b",
])
_TRANSFER = _any([
    r"\btransferr?(?:ed|ing)?\b", r"\bput (?:you|me) through\b",
    r"\bpassed (?:around|from|between|on|back)\b", r"\bbounced (?:around|between)\b",
    r"\b(?:\w+ )?(?:departments|teams) (?:already|now)\b",
])
_WAIT = _any([
    r"\bstill there\b", r"^\s*hello\s*\?", r"\banyone there\b",
    r"\b(?:been )?waiting (?:for )?(?:\d+|ten|fifteen|twenty|thirty|forty|an?|ages|so long|"
    r"forever)\b", r"\bon hold (?:for|again)\b", r"\bhow (?:much )?long(?:er)? (?:will|do|is)\b",
    r"\b(?:kept|keep|left) (?:me )?waiting\b",
])
_EMPATHY = _any([
    r"\bsorry to hear\b", r"\b(?:i'm|i am|we're|we are) (?:so |really |very |truly )?sorry "
    r"(?:you|that|for|about|this)\b", r"\bi (?:completely |totally |fully |really )?understand\b",
    r"\bfrustrat", r"\bi can (?:see|imagine|understand) (?:why|how|that)\b",
    r"\bthat (?:sounds|must be|must have been) (?:\w+ )?(?:annoying|frustrating|awful|"
    r"difficult|stressful|upsetting|hard|terrible)\b", r"\bapologi[sz]e (?:for|that)\b",
    r"\bthank(?:s| you) for (?:your|bearing) (?:patience|with)\b", r"\bi hear you\b",
    r"\bsincere(?:ly)? apolog", r"\bmy apologies for\b",
])
_SORRY = _any([r"\bsorry\b", r"\bapolog"])
_RESOLVED = _any([
    r"\b(?:i've|i have|we've|we have|i|we) (?:now |just |already )?(?:fixed|sorted|resolved|"
    r"refunded|credited|corrected|cancelled|updated|processed|applied|reset|replaced|"
    r"removed|reversed|activated|booked|arranged|set up)\b",
    r"\b(?:that's|that is|it's|it is|this is|everything is|everything's|all) (?:now |all )?"
    r"(?:fixed|sorted|resolved|done|confirmed|set up|working|back on|up and running)\b",
    r"\ball (?:done|sorted|set)\b", r"\bshould (?:now )?be (?:working|fixed|resolved|sorted)\b",
    r"\b(?:is|are|has been|have been) (?:now )?(?:resolved|fixed|sorted|confirmed|"
    r"refunded|credited|set up)\b",
    r"\b(?:it's|it is|that's) working (?:now|again)\b",
])
_UNRESOLVED = _any([
    r"\b(?:can't|cannot|can not|unable to|not able to|won't be able to) (?:\w+ )?(?:fix|do|"
    r"help|resolve|sort|change|refund|promise|see)\b",
    r"\b(?:raise|raised|open|opened|log|logged) (?:a |an )?(?:ticket|case|fault|complaint|"
    r"it)\b", r"\bget back to you\b", r"\b\d+ (?:to \d+ )?(?:working |business )?days\b",
    r"\b(?:need|have) to (?:call|contact|ring|speak to) (?:the |another |a )?(?:other )?"
    r"(?:department|team|number)\b",
    r"\bescalat", r"\bnothing (?:more )?(?:i|we) can do\b", r"\bi'm afraid\b",
    r"\bstill (?:not|isn't|doesn't|hasn't|no) (?:\w+ )?(?:working|fixed|sorted|resolved)\b",
    r"\b(?:not|isn't|wasn't|hasn't been) (?:fixed|resolved|sorted)\b",
])
_CLOSING_NEGATIVE = _any([
    r"\bthanks? (?:you )?for nothing\b", r"\buseless\b", r"\bwaste of (?:my )?time\b",
    r"\b(?:look|looking|go|going|move|moving) elsewhere\b", r"\bnot (?:very |at all )?happy\b",
    r"\bdisappoint", r"\bunbelievable\b", r"\bridiculous\b", r"\bwhatever\b",
    r"\b(?:i'm|i am) (?:leaving|cancelling|done)\b", r"\bnever again\b", r"\bjoke\b",
])


def _effort(turns: Sequence[Turn]) -> tuple[int, int, int]:
    """Repeats, transfers and waits, counted once per exchange (a turn and its reply)."""
    counts = {"repeat": 0, "transfer": 0, "wait": 0}
    previous: tuple[str, set[str]] = ("", set())
    for turn in turns:
        hits = set()
        if turn.speaker != AGENT:
            if _REPEAT.search(turn.text):
                hits.add("repeat")
            if _WAIT.search(turn.text):
                hits.add("wait")
        if _TRANSFER.search(turn.text):
            hits.add("transfer")
        # a reply about the same thing ("transfer you" / "not another transfer") is the
        # same exchange
        if hits and previous[1] & hits and previous[0] != turn.speaker:
            previous = ("", set())  # the reply closes the exchange
            continue
        if hits:
            counts[min(hits)] += 1
        previous = (turn.speaker, hits)
    return counts["repeat"], counts["transfer"], counts["wait"]


def _empathy(turns: Sequence[Turn]) -> float:
    agent = [t.text for t in turns if t.speaker == AGENT]
    if any(_EMPATHY.search(text) for text in agent):
        return 1.0
    if any(_SORRY.search(text) for text in agent):
        return 0.25
    return 0.0


def _resolution(turns: Sequence[Turn]) -> float | None:
    """1 stated, 0 stated as not resolved, None nothing said: the last statement wins."""
    outcome = None
    for turn in turns:
        unresolved = _UNRESOLVED.search(turn.text)
        resolved = _RESOLVED.search(turn.text)
        if unresolved and (not resolved or unresolved.start() > resolved.start()):
            outcome = 0.0
        elif resolved:
            outcome = 1.0
    return outcome


def _opening(customer: Sequence[str]) -> str:
    """The customer's first message (with the next one when the first is only a greeting)."""
    first = customer[0]
    if len(first.split()) <= 3 and len(customer) > 1:
        return f"{first} {customer[1]}"
    return first


@dataclass(frozen=True)
class ConversationQuality:
    """What a conversation shows about its quality, and the score in [0, 1]."""

    score: float
    turns: int
    customer_turns: int
    agent_turns: int
    start_sentiment: float | None
    end_sentiment: float | None
    sentiment_change: float | None
    effort_signals: int
    repeats: int
    transfers: int
    waits: int
    empathy: float
    resolution: str  # stated, not_resolved, unknown

    @property
    def resolution_stated(self) -> bool:
        """Whether the conversation states that the problem was resolved."""
        return self.resolution == "stated"

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for the ``details`` JSON of the enrichments table)."""
        return asdict(self)


def _blend(resolution: float | None, empathy: float, end: float | None, effort: int) -> float:
    end_part = 0.5 if end is None else (end + 1.0) / 2.0
    resolution_part = 0.5 if resolution is None else resolution
    value = (WEIGHTS["resolution"] * resolution_part + WEIGHTS["empathy"] * empathy
             + WEIGHTS["end_sentiment"] * end_part
             + WEIGHTS["low_effort"] * (1.0 - min(effort, MAX_EFFORT) / MAX_EFFORT))
    return round(min(max(value, 0.0), 1.0), 4)


def score_transcripts(texts: Sequence[str],
                      sentiment_model: SentimentModel | None = None) -> list[ConversationQuality]:
    """The quality of each transcript; all customer messages are scored in one batch.

    ``sentiment_model`` is any model with ``score(texts)`` (VADER when None).
    """
    if sentiment_model is None:
        from smokejumper.text.sentiment import VaderSentimentModel

        sentiment_model = VaderSentimentModel()
    parsed = [parse_transcript(text or "") for text in texts]
    pieces: list[str] = []
    for turns in parsed:
        customer = [t.text for t in turns if t.speaker == CUSTOMER]
        if customer:
            pieces.extend([_opening(customer), customer[-1]])
    scores = iter(sentiment_model.score(pieces) if pieces else [])
    results = []
    for turns in parsed:
        customer = [t.text for t in turns if t.speaker == CUSTOMER]
        start = end = None
        if customer:
            start, end = next(scores).score, next(scores).score
            if _CLOSING_NEGATIVE.search(customer[-1]):
                end = min(end, -0.5)
        repeats, transfers, waits = _effort(turns)
        effort = min(repeats + transfers + waits, MAX_EFFORT)
        empathy = _empathy(turns)
        resolution = _resolution(turns)
        results.append(ConversationQuality(
            score=_blend(resolution, empathy, end, effort),
            turns=len(turns),
            customer_turns=len(customer),
            agent_turns=sum(t.speaker == AGENT for t in turns),
            start_sentiment=None if start is None else round(start, 4),
            end_sentiment=None if end is None else round(end, 4),
            sentiment_change=None if start is None or end is None else round(end - start, 4),
            effort_signals=effort, repeats=repeats, transfers=transfers, waits=waits,
            empathy=empathy,
            resolution={None: "unknown", 0.0: "not_resolved", 1.0: "stated"}[resolution],
        ))
    return results


__all__ = ["AGENT", "CUSTOMER", "WEIGHTS", "ConversationQuality", "Turn", "parse_transcript",
           "score_transcripts"]
