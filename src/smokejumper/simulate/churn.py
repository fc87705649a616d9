"""Who leaves, and when: churn triggered by bad experiences (plus a base rate), and the
outcome events (churn, renewal, purchase) of the canonical ``outcomes`` table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from smokejumper.simulate import model as m
from smokejumper.simulate.customers import Customers, customer_ids, labels, timestamps
from smokejumper.simulate.interactions import Batch, sigmoid, take


def churn_probability(experience: np.ndarray, resolved: np.ndarray) -> np.ndarray:
    """Chance that one contact makes the customer leave (within about a month); the
    experience here leaves out the customer's own leaning, so that churn follows what
    happened to them rather than who they are (and the survivors are not happier people)."""
    trigger = m.CHURN_TRIGGER
    return sigmoid(trigger["intercept"] + trigger["per_point_below_7"] * (7.0 - experience)
                   + trigger["unresolved"] * ~resolved)


def decide_churn(rng: np.random.Generator, c: Customers, contacts: Batch) -> Batch:
    """Set ``c.churn_s``; return the contacts a customer made while still one, by time."""
    n = len(contacts["cust"])
    triggered = rng.random(n) < churn_probability(contacts["experience"] - contacts["bias"],
                                                    contacts["resolved"])
    when = contacts["t"] + rng.exponential(m.CHURN_DELAY_MEAN_DAYS * m.DAY_S, n)
    churn = np.full(len(c), np.inf)
    np.minimum.at(churn, contacts["cust"][triggered], when[triggered])
    first_s = c.first_active_day.astype(np.float64) * m.DAY_S
    first_s = np.maximum(first_s, c.joined_s)
    end_s = float(m.N_DAYS * m.DAY_S)
    active = (end_s - first_s) / end_s
    base = rng.random(len(c)) < np.array(m.BASE_CHURN)[c.segment] * active
    base_when = first_s + rng.random(len(c)) * (end_s - first_s)
    churn = np.where(base, np.minimum(churn, base_when), churn)
    churn = np.floor(churn)
    churn[churn >= end_s] = np.inf
    c.churn_s = churn
    kept = np.flatnonzero(contacts["t"] < churn[contacts["cust"]])
    return take(contacts, kept[np.argsort(contacts["t"][kept], kind="stable")])


def outcome_events(c: Customers, contacts: Batch, rng: np.random.Generator) -> pa.Table:
    """Churn (value: yearly revenue lost), contract renewals and purchases."""
    assert c.churn_s is not None
    churned = np.flatnonzero(np.isfinite(c.churn_s))
    # renewal on the anniversary of joining, for customers on a contract still there then
    anniversary = (np.mod(c.joined_day, 365) * m.DAY_S + 10 * 3600
                   + rng.integers(0, 8 * 3600, len(c))).astype(np.float64)
    renews = (c.contract & (c.joined_day < 0) & (anniversary < c.churn_s)
              & (anniversary < m.N_DAYS * m.DAY_S))
    renewed = np.flatnonzero(renews)
    bought = np.flatnonzero(~np.isnan(contacts["order_value"]))
    cust = np.concatenate([churned, renewed, contacts["cust"][bought]])
    ts = np.concatenate([c.churn_s[churned], anniversary[renewed],
                         contacts["t"][bought].astype(np.float64)])
    kind = np.concatenate([np.zeros(len(churned), np.int8), np.ones(len(renewed), np.int8),
                           np.full(len(bought), 2, np.int8)])
    value = np.concatenate([c.revenue[churned], c.revenue[renewed],
                            contacts["order_value"][bought]])
    order = np.lexsort((kind, ts, cust))
    cust, ts, kind, value = cust[order], ts[order], kind[order], value[order]
    # the key is (customer, ts, kind): two purchases in the same second become one
    duplicate = np.zeros(len(cust), dtype=bool)
    duplicate[1:] = (cust[1:] == cust[:-1]) & (ts[1:] == ts[:-1]) & (kind[1:] == kind[:-1])
    keep = ~duplicate
    return pa.table({
        "customer_id": customer_ids(c.number[cust[keep]]),
        "ts": timestamps(ts[keep]),
        "kind": labels(kind[keep], ("churn", "renewal", "purchase")),
        "value": pa.array(np.round(value[keep], 2), pa.float64()),
    })
