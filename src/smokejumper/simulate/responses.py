"""Feedback: transactional surveys and help-desk tickets after contacts, relationship
surveys, app-store and store reviews, and social posts, with realistic missing scores.

A response's score is its contact's experience plus the customer's noise in answering;
the same noise applied to the counterfactual experiences gives the exact effect of each
planted event on the scores.
"""

from __future__ import annotations

import numpy as np

from smokejumper.simulate import model as m
from smokejumper.simulate.customers import Customers
from smokejumper.simulate.interactions import REPEAT, SELF_SERVICE, Batch, Scenario, concat

#: what kind of feedback a response is; the canonical ``source`` follows from it
KINDS = ("survey", "ticket", "relationship", "review", "social")
KIND_SOURCE = np.array([m.SRC["survey"], m.SRC["ticket"], m.SRC["survey"], m.SRC["review"],
                        m.SRC["social"]], dtype=np.int8)
SURVEY, TICKET, RELATIONSHIP, REVIEW, SOCIAL = range(5)
COUNTERFACTUALS = ("no_incident", "no_fix", "no_coaching", "all_resolved", "none_resolved")


def nps_from(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 0, 10).astype(np.int8)


def linked_responses(rng: np.random.Generator, x: Batch, c: Customers) -> Batch:
    """Surveys and tickets answered after contacts."""
    n = len(x["cust"])
    p = np.array(m.RESPONSE_PROB)[x["channel"]] * np.where(x["resolved"], 1.0,
                                                           m.RESPONSE_UNRESOLVED_LIFT)
    rows = np.flatnonzero(rng.random(n) < p)
    lag = np.minimum(rng.exponential(m.RESPONSE_LAG_MEAN_H * 3600, len(rows)), 72 * 3600) + 300
    t = x["t"][rows] + lag.astype(np.int64)
    keep = t < m.N_DAYS * m.DAY_S
    rows, t = rows[keep], t[keep]
    k = len(rows)
    kind = np.where(x["channel"][rows] == m.CH["email"], TICKET, SURVEY).astype(np.int8)
    noise = rng.standard_normal(k) * m.RESPONSE_NOISE_SD
    r: Batch = {
        "cust": x["cust"][rows], "t": t, "kind": kind, "inter": rows.astype(np.int64),
        "tp": x["tp"][rows], "channel": x["channel"][rows], "agent": x["agent"][rows],
        "team": x["team"][rows], "reason": x["reason"][rows], "region": x["region"][rows],
        "segment": x["segment"][rows], "latent": x["experience"][rows] + noise,
        "incident": x["incident"][rows], "fixed": x["fixed"][rows], "coached": x["coached"][rows],
        "resolved": x["resolved"][rows].astype(np.int8), "repeat": x["failure"][rows] == REPEAT,
        "skill": np.where(x["channel"][rows] != SELF_SERVICE, x["skill"][rows], np.nan),
        "handle_s": x["handle_s"][rows], "experienced_ces": x["ces"][rows],
    }
    for name in COUNTERFACTUALS:
        r["latent_" + name] = x["exp_" + name][rows] + noise
    return r


def unlinked_responses(rng: np.random.Generator, c: Customers, contacts: Batch,
                       scenario: Scenario) -> Batch:
    """Relationship surveys, reviews and social posts: no contact behind them."""
    assert c.churn_s is not None
    first_s = np.maximum(c.first_active_day.astype(np.float64) * m.DAY_S, c.joined_s)
    last_s = np.minimum(c.churn_s, m.N_DAYS * m.DAY_S)
    span = np.maximum(last_s - first_s, 0.0)
    active = span / (m.N_DAYS * m.DAY_S)
    # how each customer's contacts went, on average, colours their relationship score
    counts = np.bincount(contacts["cust"], minlength=len(c))
    sums = np.bincount(contacts["cust"], weights=contacts["experience"], minlength=len(c))
    overall = sums.sum() / max(counts.sum(), 1)
    mean_experience = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    parts: list[Batch] = []
    for kind, rate in ((RELATIONSHIP, m.RELATIONSHIP_RATE), (REVIEW, m.REVIEW_RATE),
                       (SOCIAL, m.SOCIAL_RATE)):
        counts_k = rng.poisson(rate * active)
        cust = np.repeat(np.arange(len(c), dtype=np.int32), counts_k)
        k = len(cust)
        t = (first_s[cust] + rng.random(k) * span[cust]).astype(np.int64)
        tp = np.full(k, -1, dtype=np.int8)
        channel = np.full(k, -1, dtype=np.int8)
        base = np.full(k, overall)
        if kind == REVIEW:
            in_app = rng.random(k) < 0.7
            tp = np.where(in_app, m.TP["app"], m.TP["store"]).astype(np.int8)
            channel = np.where(in_app, SELF_SERVICE, m.CH["in_person"]).astype(np.int8)
            base = base - 0.3 + np.array(m.TOUCHPOINT_EFFECT)[tp]
        elif kind == SOCIAL:
            base = base - 1.5
        else:
            base = base + m.RELATIONSHIP_EXPERIENCE_WEIGHT * (mean_experience[cust] - overall)
        segment = c.segment[cust]
        region = c.region[cust]
        day = (t // m.DAY_S).astype(np.int32)
        none = np.full(k, -1, dtype=np.int8)
        incident, shift, _ = scenario.incident_effects(
            {"touchpoint": tp, "channel": channel, "region": region, "segment": segment}, day)
        latent = (base + np.array(m.SEGMENT_EFFECT)[segment] + c.bias[cust] + shift
                  + rng.standard_normal(k) * m.RESPONSE_NOISE_SD)
        part: Batch = {
            "cust": cust, "t": t, "kind": np.full(k, kind, np.int8),
            "inter": np.full(k, -1, np.int64), "tp": tp, "channel": channel,
            "agent": np.full(k, -1, np.int32), "team": np.full(k, -1, np.int32), "reason": none,
            "region": region, "segment": segment, "latent": latent, "incident": incident,
            "fixed": np.zeros(k, bool), "coached": np.zeros(k, bool), "resolved": none,
            "repeat": np.zeros(k, bool), "skill": np.full(k, np.nan),
            "handle_s": np.full(k, np.nan), "experienced_ces": np.zeros(k, np.int8),
        }
        for name in COUNTERFACTUALS:
            part["latent_" + name] = latent - shift if name == "no_incident" else latent
        parts.append(part)
    return concat(parts)


def score(rng: np.random.Generator, r: Batch) -> None:
    """NPS, CSAT, CES and star rating, each present only where that kind of feedback asks."""
    k = len(r["cust"])
    kind = r["kind"]
    nps = nps_from(r["latent"])
    csat = np.clip(np.rint(m.CSAT_INTERCEPT + m.CSAT_SLOPE * (r["latent"] - 7.5)
                           + m.CSAT_SD * rng.standard_normal(k)), 1, 5).astype(np.int8)
    rating = np.clip(np.rint(m.RATING_INTERCEPT + m.RATING_SLOPE * (r["latent"] - 7.5)
                             + m.RATING_SD * rng.standard_normal(k)), 1, 5)
    presence = {name: np.zeros(k) for name in ("nps", "csat", "ces")}
    for kind_code, kind_name in ((SURVEY, "survey"), (TICKET, "ticket"),
                                 (RELATIONSHIP, "relationship")):
        for name, share in m.SCORE_PRESENCE[kind_name].items():
            presence[name][kind == kind_code] = share
    presence["ces"][r["channel"] == m.CH["in_person"]] *= 0.3  # rarely asked face to face
    u = rng.random((3, k))
    r["nps"] = np.where(u[0] < presence["nps"], nps, -1).astype(np.int8)
    r["csat"] = np.where(u[1] < presence["csat"], csat, -1).astype(np.int8)
    r["ces"] = np.where(u[2] < presence["ces"], r["experienced_ces"], -1).astype(np.int8)
    r["rating"] = np.where(kind == REVIEW, rating, np.nan)
