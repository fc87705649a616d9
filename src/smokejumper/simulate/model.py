"""The demo company's world and the model that generates its data, declared as data.

Every number the simulator draws from lives here, so that :mod:`smokejumper.simulate.truth`
writes to ``ground_truth.json`` exactly the values that generated the data.

The company is *Brightwave Telecom*, a fictional operator with six touchpoints, five
regions and three customer segments, observed over calendar year 2025.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

COMPANY_NAME = "Brightwave Telecom"
PERIOD_START = date(2025, 1, 1)
N_DAYS = 365
PERIOD_END = PERIOD_START + timedelta(days=N_DAYS - 1)  # inclusive: 2025-12-31
N_WEEKS = (N_DAYS + 6) // 7
DAY_S = 86_400
#: seconds from 1970-01-01 to the period start, for timestamps
EPOCH_START_S = (PERIOD_START - date(1970, 1, 1)).days * DAY_S
FIRST_WEEKDAY = PERIOD_START.weekday()  # 2025-01-01 is a Wednesday (2)

TOUCHPOINTS = ("call_centre", "store", "web", "app", "billing", "field_service")
CHANNELS = ("phone", "chat", "email", "in_person", "self_service")
REGIONS = ("North", "South", "East", "West", "Central")
REGION_CITIES = ("Aldport", "Bramwick", "Calder Bay", "Dunmere", "Elmstead")
SEGMENTS = ("consumer", "small_business", "enterprise")
#: contact reasons; each one is also a skill area of the staff who handle it
REASONS = ("billing", "technical", "sales", "cancellation", "onboarding", "order_status",
           "complaint")
SKILL_AREAS = REASONS
#: reasons of value demand; order_status (chasers) and complaint only arise from failures
BASE_REASONS = ("billing", "technical", "sales", "cancellation", "onboarding")
SOURCES = ("survey", "review", "ticket", "social")
#: dimensions configured in the demo workspace (contact_reason is added to responses)
DIMENSIONS = ("touchpoint", "channel", "region", "segment", "team_id", "contact_reason")

TP = {name: i for i, name in enumerate(TOUCHPOINTS)}
CH = {name: i for i, name in enumerate(CHANNELS)}
RG = {name: i for i, name in enumerate(REGIONS)}
SG = {name: i for i, name in enumerate(SEGMENTS)}
RS = {name: i for i, name in enumerate(REASONS)}
SRC = {name: i for i, name in enumerate(SOURCES)}


# -- sizes ----------------------------------------------------------------------------------------
#: team kinds: (name, touchpoint served, role of its staff)
TEAM_KINDS = (
    ("cc_general", "call_centre", "agent"),
    ("cc_retention", "call_centre", "agent"),
    ("cc_business", "call_centre", "agent"),
    ("cc_technical", "call_centre", "agent"),
    ("billing_general", "billing", "agent"),
    ("billing_business", "billing", "agent"),
    ("digital", "web_app_chat", "agent"),
    ("store", "store", "store_advisor"),
    ("field", "field_service", "technician"),
)
KIND = {name: i for i, (name, _, _) in enumerate(TEAM_KINDS)}


@dataclass(frozen=True)
class SizeSpec:
    """How big the demo company is; responses follow from customers and the contact model."""

    name: str
    customers: int
    chunk_customers: int
    teams: tuple[int, ...]  # number of teams per kind, in TEAM_KINDS order
    team_size: tuple[int, int]  # agents per team at the start, inclusive range
    coaching_pairs: int
    approx_responses: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec("small", 30_000, 30_000, (3, 1, 1, 1, 1, 1, 2, 5, 5), (8, 12), 12,
                      50_000),
    "medium": SizeSpec("medium", 520_000, 520_000, (14, 4, 4, 4, 6, 2, 10, 15, 15), (11, 16),
                       40, 1_000_000),
    "large": SizeSpec("large", 5_200_000, 650_000, (70, 20, 20, 20, 30, 10, 50, 75, 75),
                      (11, 16), 150, 10_000_000),
}


# -- customers ------------------------------------------------------------------------------------
REGION_SHARE = (0.32, 0.24, 0.18, 0.15, 0.11)
SEGMENT_SHARE = (0.76, 0.19, 0.05)
#: yearly revenue: median and log-sd per segment
REVENUE = {"consumer": (540.0, 0.4), "small_business": (3_600.0, 0.6),
           "enterprise": (60_000.0, 0.8)}
#: base (value-demand) contacts per customer-year, per segment; multiplied by a lognormal propensity
CONTACT_RATE = (2.1, 3.2, 5.0)
PROPENSITY_SD = 0.7
NEW_CUSTOMER_SHARE = 0.15  # joined during the period
MEAN_TENURE_YEARS = 4.0  # of customers who joined before the period
CONTRACT_SHARE = (0.45, 1.0, 1.0)  # customers on a yearly contract (renewal events), per segment
#: unlinked feedback per customer-year: relationship surveys, reviews, social posts
RELATIONSHIP_RATE = 0.14
REVIEW_RATE = 0.07
SOCIAL_RATE = 0.06


# -- contacts -------------------------------------------------------------------------------------
#: touchpoint of a base contact, per segment (rows) over TOUCHPOINTS
TOUCHPOINT_MIX = np.array([
    [0.27, 0.12, 0.10, 0.23, 0.21, 0.07],  # consumer
    [0.36, 0.08, 0.13, 0.12, 0.21, 0.10],  # small_business
    [0.44, 0.02, 0.10, 0.06, 0.25, 0.13],  # enterprise
])
#: channel per touchpoint (rows) over CHANNELS
CHANNEL_MIX = np.array([
    [0.68, 0.20, 0.12, 0.00, 0.00],  # call_centre
    [0.00, 0.00, 0.00, 1.00, 0.00],  # store
    [0.00, 0.22, 0.00, 0.00, 0.78],  # web
    [0.00, 0.20, 0.00, 0.00, 0.80],  # app
    [0.55, 0.00, 0.20, 0.00, 0.25],  # billing
    [0.00, 0.00, 0.00, 1.00, 0.00],  # field_service
])
#: base contact reason per touchpoint (rows) over REASONS (order_status, complaint are 0 here)
REASON_MIX = np.array([
    [0.30, 0.33, 0.14, 0.12, 0.11, 0, 0],  # call_centre
    [0.10, 0.20, 0.50, 0.02, 0.18, 0, 0],  # store
    [0.25, 0.15, 0.40, 0.05, 0.15, 0, 0],  # web
    [0.40, 0.30, 0.20, 0.03, 0.07, 0, 0],  # app
    [0.80, 0.00, 0.00, 0.15, 0.05, 0, 0],  # billing
    [0.00, 0.75, 0.00, 0.00, 0.25, 0, 0],  # field_service
])
ONBOARDING_WINDOW_DAYS = 90  # contacts this soon after joining are onboarding, half the time
#: volume by weekday (Mon..Sun) per touchpoint
WEEKDAY_VOLUME = np.array([
    [1.25, 1.10, 1.05, 1.00, 0.95, 0.60, 0.40],
    [0.90, 0.90, 0.95, 1.00, 1.10, 1.50, 0.70],
    [1.00, 1.00, 1.00, 1.00, 1.00, 1.05, 1.10],
    [1.00, 1.00, 1.00, 1.00, 1.00, 1.05, 1.10],
    [1.30, 1.10, 1.00, 1.00, 0.90, 0.30, 0.20],
    [1.10, 1.10, 1.10, 1.10, 1.10, 0.50, 0.10],
])
#: opening hours (first, last hour with contacts) per touchpoint
HOURS = ((8, 20), (9, 18), (0, 23), (0, 23), (8, 18), (8, 17))
SEASONAL_AMPLITUDE = 0.12  # volume peaks mid-January, troughs mid-July

# failure demand: children of earlier contacts
REPEAT_PROB = 0.55  # an unresolved contact is followed by a repeat (same reason) within 7 days
REPEAT_MAX_DAYS = 6
COMPLAINT_PROB = 0.14  # an unresolved contact leads to a complaint within two weeks
CHASER_PROB_ORDER = 0.22  # an order leads to a 'where is my order' chaser
CHASER_PROB_ONBOARDING = 0.10
FAILURE_ROUNDS = 4
#: how the product can recompute failure demand from the canonical data
FAILURE_RULE = ("contact_reason in ('order_status', 'complaint'), or the same customer contacted "
                "about the same contact_reason in the 7 days before (a repeat)")

# outcomes of a contact
RESOLUTION_LOGIT = (1.3, 0.6, 1.8, 0.5, 1.4, 1.0, 0.3)  # per reason
RESOLUTION_CHANNEL = (0.0, 0.0, -0.2, 0.3, -0.5)  # per channel
RESOLUTION_SEGMENT = (0.0, -0.15, -0.3)
RESOLUTION_REPEAT = 0.3
SKILL_TO_RESOLUTION = 0.55  # logit per unit of the agent's effective skill in the contact's area
HANDLE_MEDIAN_S = (420.0, 540.0, 300.0, 840.0, 240.0)  # per channel
FIELD_VISIT_MEDIAN_S = 2_100.0
HANDLE_REASON_FACTOR = (1.0, 1.35, 1.2, 1.3, 1.25, 0.6, 1.5)
HANDLE_SKILL = -0.12  # log handle time per unit of skill
HANDLE_UNRESOLVED = 0.14
HANDLE_SD = 0.45
ORDER_PROB = 0.55  # a resolved sales contact places an order
ORDER_MEDIAN = (120.0, 360.0, 1_200.0)  # per segment
UPSELL_REASONS = ("sales", "onboarding", "cancellation", "billing")
UPSELL_LOGIT = -2.4
UPSELL_SKILL = 0.5
UPSELL_MEDIAN = 60.0

# effort (CES 1-7, higher = more effort), experienced on every contact, reported when asked
EFFORT_INTERCEPT = 2.2
EFFORT_REPEAT = 0.3
EFFORT_UNRESOLVED = 0.3
EFFORT_CHANNEL = (0.4, 0.1, 0.5, -0.3, 0.2)
EFFORT_PER_MINUTE = 0.015  # up to 40 minutes
EFFORT_SD = 1.1

# experience: the likelihood-to-recommend latent on the 0-10 scale
EXPERIENCE_INTERCEPT = 9.0
TOUCHPOINT_EFFECT = (-0.2, 0.3, 0.0, 0.1, -0.3, 0.3)
SEGMENT_EFFECT = (0.0, -0.3, -0.6)
REASON_EFFECT = (-0.3, -0.5, 0.5, -1.2, 0.3, -0.6, -1.5)
#: the observable drivers and their weights (0-10 points per unit) in the experience latent
DRIVER_WEIGHTS = {
    "resolved": 2.2,
    "ces": -0.55,
    "repeat_contact": -0.5,
    "handle_time_min": -0.025,
    "tenure_years": 0.03,
}
DRIVER_DEFINITIONS = {
    "resolved": "interactions.resolved of the response's interaction (1 = resolved)",
    "ces": "responses.ces, customer effort 1-7 (higher = more effort)",
    "repeat_contact": "1 when the interaction repeats one by the same customer about the same "
                      "contact_reason in the 7 days before",
    "handle_time_min": "interactions.handle_time_s / 60",
    "tenure_years": "years from customers.joined_at to the interaction",
}
SKILL_TO_EXPERIENCE = 0.5  # direct effect of the agent's effective skill in the area
CUSTOMER_BIAS_SD = 0.7  # each customer's own leaning
RESPONSE_NOISE_SD = 1.3  # between the experience and the score given
CSAT_INTERCEPT, CSAT_SLOPE, CSAT_SD = 3.95, 0.5, 0.6  # csat = 3.95 + 0.5 (latent - 7.5) + noise
RATING_INTERCEPT, RATING_SLOPE, RATING_SD = 3.7, 0.55, 0.6

# feedback
RESPONSE_PROB = (0.60, 0.64, 0.66, 0.58, 0.50)  # per channel of the interaction
RESPONSE_UNRESOLVED_LIFT = 1.1
RESPONSE_LAG_MEAN_H = 6.0
SCORE_PRESENCE = {  # share of responses carrying each score, per source kind
    "survey": {"nps": 0.92, "csat": 0.75, "ces": 0.55},
    "ticket": {"nps": 0.30, "csat": 1.00, "ces": 0.30},
    "relationship": {"nps": 1.00, "csat": 0.25, "ces": 0.0},
}
COMMENT_PROB = {"survey": 0.38, "ticket": 0.55, "relationship": 0.50, "review": 0.92,
                "social": 1.0}
COMMENT_DETRACTOR_LIFT = 0.15
RELATIONSHIP_EXPERIENCE_WEIGHT = 0.5

# churn
BASE_CHURN = (0.08, 0.06, 0.04)  # per segment, per year, whatever the experience
CHURN_TRIGGER = {"intercept": -4.4, "per_point_below_7": 0.6, "unresolved": 0.5}
CHURN_DELAY_MEAN_DAYS = 30.0

# staff
SKILL_INDIVIDUAL_SD = 0.75
SKILL_AREA_SD = 0.6
TEAM_EFFECT_SD = 0.3
TEAM_KIND_EFFECT = (0.0, 0.6, 0.4, 0.3, 0.0, 0.35, 0.0, 0.0, 0.0)
ENGAGEMENT_MEAN, ENGAGEMENT_TEAM_SD, ENGAGEMENT_SD = 70.0, 7.0, 9.0
ENGAGEMENT_TO_SKILL = 0.04  # skill per engagement point
ATTRITION = {"intercept": -1.3, "per_engagement_point": -0.06}  # logit of leaving in the year
NEW_HIRE_RAMP = {"skill_gap": 0.8, "days": 60.0}  # effective skill - 0.8 exp(-tenure_days/60)
REPLACEMENT_SKILL = -0.25  # people hired during the year to replace leavers start less skilled
WEAK_THRESHOLD, STRONG_THRESHOLD = -0.5, 0.5
#: contact reasons that a team kind mainly handles (where coaching pairs are formed)
KIND_AREAS = {
    "cc_general": ("billing", "technical", "sales"),
    "cc_retention": ("cancellation", "complaint"),
    "cc_business": ("billing", "technical"),
    "cc_technical": ("technical",),
    "billing_general": ("billing",),
    "billing_business": ("billing",),
    "digital": ("billing", "technical", "sales"),
    "store": ("sales", "technical", "onboarding"),
    "field": ("technical", "onboarding"),
}


# -- planted events -------------------------------------------------------------------------------
@dataclass(frozen=True)
class IncidentSpec:
    """A planted incident: the experience falls for contacts in one segment from a date."""

    name: str
    segment: tuple[tuple[str, str], ...]
    theme: str
    start: date
    end: date | None  # exclusive; None = persists to the end of the period
    latent_shift: float  # added to the experience latent (0-10 scale)
    effort_shift: float  # added to the effort (CES) latent
    description: str

    @property
    def segment_dict(self) -> dict[str, str]:
        return dict(self.segment)


INCIDENTS = (
    IncidentSpec("app_release_crash", (("touchpoint", "app"),), "app_bug", date(2025, 3, 3),
                 date(2025, 4, 14), -0.55, 0.45,
                 "App release 8.2 crashes at log-in and on the payment page"),
    IncidentSpec("north_telephony", (("region", "North"), ("touchpoint", "call_centre")),
                 "wait_time", date(2025, 6, 2), None, -0.5, 0.35,
                 "The North contact-centre telephony migration leaves customers waiting"),
    IncidentSpec("tariff_double_charge", (("segment", "consumer"), ("touchpoint", "billing")),
                 "billing_error", date(2025, 10, 6), date(2025, 11, 17), -0.75, 0.4,
                 "A tariff change double-charges consumer bills"),
)


@dataclass(frozen=True)
class FixSpec:
    """A fix tested on part of the customers (assigned by a recomputable hash)."""

    name: str = "remote_line_diagnostics"
    description: str = ("Agents run remote line diagnostics on technical contacts, tested on "
                        "30% of customers from 2025-08-04")
    contact_reason: str = "technical"
    start: date = date(2025, 8, 4)
    treated_percent: int = 30
    latent_shift: float = 0.2
    effort_shift: float = -0.2
    rule: str = ("treated = (int(customer_id[1:]) * 2654435761 % 2**32) % 100 < 30, "
                 "e.g. customer_id 'C0000042' -> 42")


FIX = FixSpec()


@dataclass(frozen=True)
class CoachingSpec:
    """Weak agents coached by strong colleagues of the same site improve in that area."""

    skill_effect: float = 0.9
    first_start: date = date(2025, 5, 5)
    stagger_weeks: int = 9  # pairs start on one of 9 consecutive Mondays
    mentor_capacity: int = 2


COACHING = CoachingSpec()


def treated_customers(numbers: np.ndarray) -> np.ndarray:
    """Which customer numbers (``C0000042`` -> 42) get the fix: a Knuth multiplicative hash.

    >>> treated_customers(np.array([1, 2, 3])).tolist()
    [False, True, False]
    """
    hashed = (numbers.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return (hashed % np.uint64(100)) < np.uint64(FIX.treated_percent)
