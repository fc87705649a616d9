"""The demo company's theme taxonomy, as a CX analyst at Brightwave would write it.

This is configuration, not generator truth: descriptions say what each theme covers,
keywords are the plain words an analyst expects customers to use, and examples are a
few comments written in the analyst's own words (not the generator's phrasings). It is
written into the demo's ``smokejumper.toml`` as ``[themes.NAME]`` tables; the group each
theme belongs to is kept as a comment, since the groups are not themes themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from smokejumper.simulate import phrases as ph


@dataclass(frozen=True)
class DemoTheme:
    keywords: tuple[str, ...]
    examples: tuple[str, ...]


DEMO_TAXONOMY: dict[str, DemoTheme] = {
    "billing_error": DemoTheme(
        keywords=("bill", "billing", "billed", "overcharged", "overcharge", "charged twice",
                  "double charged", "refund", "refunded", "direct debit", "statement",
                  "invoice", "wrong charge"),
        examples=("There's a mistake on my invoice and I've been charged for something I "
                  "didn't order.",
                  "They took two payments for one month.",
                  "My statement is finally right and the refund came through.",
                  "Can someone explain this fee on my bill?"),
    ),
    "price": DemoTheme(
        keywords=("price", "pricing", "expensive", "overpriced", "cheap", "cheaper",
                  "value for money", "good value", "poor value", "tariff", "monthly cost",
                  "price rise", "price increase", "costs too much"),
        examples=("It costs too much every month compared to the competition.",
                  "Reasonable monthly cost for what I get.",
                  "Another increase to my monthly fee, I can't afford this.",
                  "The cost is the same as other providers."),
    ),
    "wait_time": DemoTheme(
        keywords=("on hold", "hold music", "queue", "waited", "waiting", "wait time",
                  "got through", "answered quickly", "took ages to answer"),
        examples=("I spent ages on hold before I could talk to anyone.",
                  "Someone picked up the phone almost immediately.",
                  "My email went unanswered for days.",
                  "The wait to speak to an advisor was normal."),
    ),
    "staff_attitude": DemoTheme(
        keywords=("rude", "friendly", "unfriendly", "polite", "impolite", "attitude",
                  "courteous", "dismissive", "condescending", "respect", "empathy",
                  "patient", "kind", "pleasant"),
        examples=("The advisor was warm and made me feel looked after.",
                  "The woman on the phone was short with me and didn't care.",
                  "He treated me like I was wasting his time.",
                  "The staff member was professional, nothing more."),
    ),
    "staff_knowledge": DemoTheme(
        keywords=("knowledgeable", "knew their stuff", "no idea", "clueless", "wrong information",
                  "wrong info", "explained", "explanation", "expert", "advice", "trained",
                  "understood", "didn't understand", "didn't know"),
        examples=("The advisor knew exactly what to do and answered all my questions.",
                  "The person helping me didn't understand how my plan works.",
                  "I got different answers from everyone I spoke to.",
                  "She explained the options well.",
                  "He worked out what was wrong right away."),
    ),
    "network_coverage": DemoTheme(
        keywords=("signal", "coverage", "outage", "internet", "connection", "speed",
                  "mobile data", "4G", "5G", "wifi", "dropping out", "calls drop"),
        examples=("My phone has no reception in my house.",
                  "The broadband is fast and never cuts out.",
                  "The wifi keeps disconnecting at night.",
                  "The whole mobile network went down across town."),
    ),
    "app_bug": DemoTheme(
        keywords=("app", "the app", "app update", "crashes", "crashing", "buggy", "log in",
                  "logged out"),
        examples=("The mobile app freezes whenever I try to pay.",
                  "The Brightwave app is quick and easy to use on my phone.",
                  "After the update the app won't let me sign in.",
                  "I use the app to check my usage."),
    ),
    "website": DemoTheme(
        keywords=("website", "site", "online", "web page", "online form", "online account",
                  "checkout", "dead links"),
        examples=("I couldn't find anything on your web pages.",
                  "Updating my details on your site was quick.",
                  "The online form gave me an error when I submitted it.",
                  "I checked my account online first."),
    ),
    "delivery_delay": DemoTheme(
        keywords=("delivery", "delivered", "arrived", "dispatch", "dispatched", "courier",
                  "parcel", "tracking", "in the post", "order"),
        examples=("My new phone took much longer to arrive than promised.",
                  "The package came the day after I ordered.",
                  "The courier left my router at the wrong house.",
                  "I wanted to know when my order would turn up."),
    ),
    "resolution": DemoTheme(
        keywords=("resolved", "unresolved", "not fixed", "still broken", "sorted", "solved",
                  "fixed", "first time", "first call", "call back", "chase", "nothing happens"),
        examples=("They fixed my problem straight away and it hasn't come back.",
                  "I've contacted them again and again and my issue is still there.",
                  "They told me it was done but the problem is exactly the same.",
                  "My complaint has been logged and I'm waiting for an update."),
    ),
    "store_experience": DemoTheme(
        keywords=("store", "shop", "in-store", "in store", "stock", "demo phones",
                  "trade-in", "counter"),
        examples=("The staff in the shop set up my new phone before I left.",
                  "The branch in town was untidy and didn't have the phone I wanted.",
                  "My appointment at the store wasn't on their system.",
                  "I went into the store to collect my phone."),
    ),
    "technician_visit": DemoTheme(
        keywords=("engineer", "technician", "installer", "installation", "installed",
                  "appointment", "visit"),
        examples=("The engineer never showed up and I'd waited in all day.",
                  "The technician was on time and fixed the line at home.",
                  "They cancelled the installation on the morning it was due.",
                  "Someone is coming to my house to look at the line next week."),
    ),
    "cancellation": DemoTheme(
        keywords=("cancel", "cancelled", "cancelling", "cancellation", "leave", "leaving",
                  "switching provider", "exit fee", "notice period", "end my contract",
                  "contract ends", "retention"),
        examples=("I want to end my contract and move to another provider.",
                  "They made it really hard to close my account.",
                  "They offered me a discount to stay so I didn't leave.",
                  "I asked how much notice I need to give."),
    ),
}


def demo_themes_toml() -> str:
    """The ``[themes.NAME]`` tables appended to the demo's ``smokejumper.toml``."""
    lines = ["", "# The demo company's theme taxonomy (written by `smokejumper demo`)."]
    for name, theme in ph.THEMES.items():
        extra = DEMO_TAXONOMY[name]
        lines += [f"[themes.{name}]", f"parent = {json.dumps(theme.parent)}",
                  f"description = {json.dumps(theme.description)}",
                  f"keywords = {json.dumps(list(extra.keywords), ensure_ascii=False)}",
                  "examples = [",
                  *(f"  {json.dumps(example, ensure_ascii=False)}," for example in extra.examples),
                  "]", ""]
    return "\n".join(lines)
