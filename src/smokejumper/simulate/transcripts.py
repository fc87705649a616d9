"""Chat transcripts with planted conversation quality.

Each transcript is a sequence of turns (``agent: ...`` / ``customer: ...``). What the
conversation contains follows from the contact: the customer's mood at the start, whether
the agent acknowledges it (more often for skilled agents), effort signals (repeating
oneself, waiting, transfers), whether the agent states a resolution, and how the customer
feels at the end. The planted quality is a fixed blend of those, in [0, 1]:

    quality = 0.30 resolution_stated + 0.20 empathy + 0.30 end_sentiment (0, 0.5, 1)
              + 0.20 (1 - effort_signals / 3)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smokejumper.simulate import model as m
from smokejumper.simulate.company import FIRST_NAMES
from smokejumper.simulate.customers import labels
from smokejumper.simulate.interactions import VALUE, Batch, sigmoid

TRANSCRIPT_SHARE = 0.25  # of chats handled by an agent
QUALITY_WEIGHTS = {"resolution_stated": 0.30, "empathy": 0.20, "end_sentiment": 0.30,
                   "low_effort": 0.20}

GREETINGS = (
    "agent: Hi, you're chatting with {name}. How can I help today?",
    "agent: Hello, {name} here from Brightwave. What can I do for you?",
    "agent: Good morning, my name is {name}. How can I help?",
    "agent: Hi there, thanks for getting in touch, I'm {name}.",
)
OPENINGS = {  # per reason: (calm, upset)
    "billing": (("customer: Hi, I have a question about my latest bill.",
                 "customer: Hello, can you explain a charge on my account?"),
                ("customer: My bill is wrong AGAIN and I'm really fed up.",
                 "customer: You've overcharged me and I want it sorted now.")),
    "technical": (("customer: Hi, my broadband seems a bit slow.",
                   "customer: Hello, I'm having trouble with my signal."),
                  ("customer: My internet has been down for two days, this is ridiculous.",
                   "customer: Nothing works. No signal, no internet, nothing.")),
    "sales": (("customer: Hi, I'd like to upgrade my phone.",
               "customer: Hello, what deals do you have on fibre?"),
              ("customer: I tried to order online and it failed twice, very annoying.",
               "customer: Your website won't let me buy the plan I want.")),
    "cancellation": (("customer: Hi, I'm thinking of ending my contract.",
                      "customer: Hello, what is my notice period?"),
                     ("customer: I want to cancel. Now. I've had enough.",
                      "customer: I'm leaving, just tell me how to cancel.")),
    "onboarding": (("customer: Hi, I've just joined and need help setting up.",
                    "customer: Hello, how do I activate my new SIM?"),
                   ("customer: I joined a week ago and still can't use anything.",
                    "customer: My new service still isn't working, not a great start.")),
    "order_status": (("customer: Hi, can you tell me when my order will arrive?",
                      "customer: Hello, just checking on my delivery."),
                     ("customer: Where is my order? It was due days ago.",
                      "customer: My router still hasn't come and nobody tells me anything.")),
    "complaint": (("customer: Hi, I'd like to make a complaint.",
                   "customer: Hello, I'm not happy with how my issue was handled."),
                  ("customer: I want to make a formal complaint, this is disgraceful.",
                   "customer: I'm furious with how I've been treated.")),
}
EMPATHY = (
    "agent: I'm really sorry to hear that, I understand how frustrating that is.",
    "agent: That sounds really annoying, I'm sorry. Let's get it sorted for you.",
    "agent: I completely understand, and I apologise for the trouble.",
    "agent: Thank you for your patience, I can see why you're upset.",
    "agent: I'm sorry you've had to deal with this, I'll do my best to help.",
)
NO_EMPATHY = (
    "agent: Account number?",
    "agent: What is the issue.",
    "agent: Please confirm your postcode.",
    "agent: OK. Details please.",
    "agent: I need your account number before I can look.",
)
DETAILS = {
    "billing": ("customer: There's a charge of £23.50 I don't recognise.",
                "customer: I seem to have been charged twice this month."),
    "technical": ("customer: The connection drops every evening around 7.",
                  "customer: I only get one bar of signal in the house."),
    "sales": ("customer: I'm interested in the unlimited data plan.",
              "customer: I want to add a second line for my daughter."),
    "cancellation": ("customer: My contract ends next month.",
                     "customer: I've found a cheaper deal elsewhere."),
    "onboarding": ("customer: The SIM says 'not activated'.",
                   "customer: The router lights are flashing orange."),
    "order_status": ("customer: The order number is on the email you sent.",
                     "customer: Tracking has said 'processing' for a week."),
    "complaint": ("customer: Nobody called me back as promised.",
                  "customer: I've had three engineers out and it's still broken."),
}
EFFORT = (
    "customer: I already explained all of this to the last person.\n"
    "agent: Sorry, let me read back through the notes.",
    "customer: Hello? Are you still there? I've been waiting ten minutes.\n"
    "agent: Apologies, still checking.",
    "customer: This is the third time I've contacted you about this.\n"
    "agent: I see the previous contacts on the account.",
    "customer: Why do I have to repeat my details again?\n"
    "agent: It's for security, sorry.",
    "agent: I'll need to transfer you to another team.\n"
    "customer: Not another transfer, please.",
    "customer: I've been passed around four departments already.\n"
    "agent: Let me see what I can do.",
)
RESOLVED = (
    "agent: I've fixed that now, you'll see it reflected on your account within 24 hours.",
    "agent: All done, that's sorted for you.",
    "agent: I've refunded the charge and added a note so it won't happen again.",
    "agent: That's resolved now, I've tested it from my side and it's working.",
    "agent: Your order is confirmed and everything is set up.",
)
UNRESOLVED = (
    "agent: I'm afraid I can't fix that from here, I'll raise a ticket.",
    "agent: Someone from another team will have to get back to you in 3 to 5 working days.",
    "agent: I'm not able to do that, you'll need to call the other department.",
    "agent: I've logged it but I can't promise when it will be looked at.",
)
UPSELL = (
    "agent: While I have you, you could add unlimited calls for £5 a month.\n"
    "customer: Go on then, add it.",
    "agent: You're due an upgrade, would you like the new phone on the same plan?\n"
    "customer: Yes, that sounds good.",
)
CLOSINGS = (  # negative, neutral, positive
    ("customer: This is useless. I'm going to look elsewhere.",
     "customer: Unbelievable. Thanks for nothing.",
     "customer: Still not happy but whatever.",
     "customer: I'm really disappointed with this."),
    ("customer: OK.", "customer: Fine, thanks.", "customer: Alright, we'll see.",
     "customer: OK, I'll wait then."),
    ("customer: Brilliant, thank you so much!", "customer: That's great, really appreciate it.",
     "customer: Perfect, you've been a star.", "customer: Thanks, that was easy!"),
)
GOODBYES = (
    "agent: Thanks for contacting Brightwave, have a lovely day.",
    "agent: Is there anything else I can help with? Take care.",
    "agent: Thank you for chatting with us. Bye for now.",
)


class TranscriptPool:
    """Every turn text, in one Arrow array, with group offsets."""

    def __init__(self) -> None:
        texts: list[str] = []

        def group(items: list[str] | tuple[str, ...]) -> tuple[int, int]:
            start = len(texts)
            texts.extend(items)
            return start, len(items)

        self.greeting = np.array([group([g.format(name=name) for g in GREETINGS])
                                  for name in FIRST_NAMES])
        self.opening = np.array([[group(OPENINGS[r][mood]) for mood in (0, 1)]
                                 for r in m.REASONS])
        self.empathy = np.array([group(NO_EMPATHY), group(EMPATHY)])
        self.detail = np.array([group(DETAILS[r]) for r in m.REASONS])
        self.effort = np.array(group(EFFORT))
        self.resolution = np.array([group(UNRESOLVED), group(RESOLVED)])
        self.upsell = np.array(group(UPSELL))
        self.closing = np.array([group(c) for c in CLOSINGS])
        self.goodbye = np.array(group(GOODBYES))
        self.texts = pa.array(texts, pa.string())


def _pick(rng: np.random.Generator, start: np.ndarray, count: np.ndarray,
          present: np.ndarray | bool = True, offset: np.ndarray | int = 0) -> np.ndarray:
    n = len(start)
    index = start + (np.floor(rng.random(n) * count).astype(np.int64) + offset) % count
    return np.where(present, index, -1)


def write_transcripts(rng: np.random.Generator, x: Batch, agent_names: np.ndarray,
                      pool: TranscriptPool) -> tuple[pa.Array, Batch]:
    """Transcripts for a share of agent-handled chats (null elsewhere), and their planted
    quality components."""
    chats = np.flatnonzero((x["channel"] == m.CH["chat"]) & (x["agent"] >= 0))
    rows = chats[rng.random(len(chats)) < TRANSCRIPT_SHARE]
    n = len(rows)
    skill = x["skill"][rows]
    resolved = x["resolved"][rows]
    reason = x["reason"][rows]
    upset = ((x["failure"][rows] != VALUE) | (x["incident"][rows] >= 0)
             | (rng.random(n) < 0.15))
    empathy = rng.random(n) < sigmoid(0.2 + 1.0 * skill)
    effort_rate = (0.25 + 0.8 * (x["failure"][rows] != VALUE) + 0.5 * ~resolved
                   + 0.4 * (x["incident"][rows] >= 0))
    effort = np.minimum(rng.poisson(effort_rate), 3)
    mood = (0.9 * resolved + 0.5 * empathy - 0.35 * effort + 0.3 * skill - 0.3 * upset
            + rng.normal(0.0, 0.5, n))
    end = np.where(mood > 0.7, 2, np.where(mood < 0.1, 0, 1))
    quality = (QUALITY_WEIGHTS["resolution_stated"] * resolved
               + QUALITY_WEIGHTS["empathy"] * empathy
               + QUALITY_WEIGHTS["end_sentiment"] * end / 2
               + QUALITY_WEIGHTS["low_effort"] * (1 - effort / 3))

    name = agent_names[x["agent"][rows]]
    parts = [
        _pick(rng, pool.greeting[name, 0], pool.greeting[name, 1]),
        _pick(rng, pool.opening[reason, upset.astype(int), 0],
              pool.opening[reason, upset.astype(int), 1]),
        _pick(rng, pool.empathy[empathy.astype(int), 0], pool.empathy[empathy.astype(int), 1]),
        _pick(rng, pool.detail[reason, 0], pool.detail[reason, 1]),
    ]
    first_effort = rng.integers(0, pool.effort[1], n)
    for j in range(3):
        parts.append(_pick(rng, np.full(n, pool.effort[0]), np.full(n, pool.effort[1]),
                           effort > j, offset=first_effort + j))
    parts.append(_pick(rng, pool.resolution[resolved.astype(int), 0],
                       pool.resolution[resolved.astype(int), 1]))
    parts.append(_pick(rng, np.full(n, pool.upsell[0]), np.full(n, pool.upsell[1]),
                       x["upsell"][rows] == 1))
    parts.append(_pick(rng, pool.closing[end, 0], pool.closing[end, 1]))
    parts.append(_pick(rng, np.full(n, pool.goodbye[0]), np.full(n, pool.goodbye[1])))
    columns = [pool.texts.take(pa.array(p, mask=p < 0)) for p in parts]
    text = pc.binary_join_element_wise(*columns, "\n", null_handling="skip")
    position = np.full(len(x["cust"]), -1, dtype=np.int64)
    position[rows] = np.arange(n)
    transcript = text.take(pa.array(position, mask=position < 0))
    truth: Batch = {"rows": rows, "quality": np.round(quality, 4), "empathy": empathy,
                    "effort_signals": effort, "resolution_stated": resolved,
                    "start_upset": upset, "end_sentiment": end}
    return transcript, truth


def transcript_truth_table(truth: Batch, interaction_ids: pa.Array) -> pa.Table:
    return pa.table({
        "interaction_id": interaction_ids.take(pa.array(truth["rows"])),
        "quality": pa.array(truth["quality"], pa.float64()),
        "empathy": pa.array(truth["empathy"]),
        "effort_signals": pa.array(truth["effort_signals"].astype(np.int64)),
        "resolution_stated": pa.array(truth["resolution_stated"]),
        "start_sentiment": labels(np.where(truth["start_upset"], 0, 1),
                                  ("negative", "neutral")),
        "end_sentiment": labels(truth["end_sentiment"], ("negative", "neutral", "positive")),
    })
