"""Contacts: value demand drawn per customer, failure demand (repeats, complaints, chasers)
spawned by what went wrong, routed to teams and agents, with their outcomes.

All arrays; a batch is a ``dict`` of equally long numpy arrays. One round of contacts is
processed at once, then its failures spawn the next round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smokejumper.simulate import model as m
from smokejumper.simulate.company import Staff, coaching_mask, effective_skill
from smokejumper.simulate.customers import Customers

Batch = dict[str, np.ndarray]
FAILURE_KINDS = ("value", "repeat", "complaint", "chaser")
VALUE, REPEAT, COMPLAINT, CHASER = range(4)
SELF_SERVICE = m.CH["self_service"]
LINKAGE_SAMPLE = 0.25  # share of contacts scored as if all / none were resolved


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def categorical(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One draw per row from rows of cumulative probabilities (n, k)."""
    u = rng.random(len(cumulative))
    codes = (u[:, None] >= cumulative).sum(axis=1)
    return np.minimum(codes, cumulative.shape[1] - 1).astype(np.int8)


def concat(batches: list[Batch]) -> Batch:
    keys = batches[0].keys()
    return {k: np.concatenate([b[k] for b in batches]) for k in keys}


def take(batch: Batch, index: np.ndarray, keys: tuple[str, ...] | None = None) -> Batch:
    return {k: batch[k][index] for k in (keys or batch)}


class Calendar:
    """When contacts happen: day-of-year weights (weekday, season) and hours per touchpoint."""

    def __init__(self) -> None:
        days = np.arange(m.N_DAYS)
        weekday = (m.FIRST_WEEKDAY + days) % 7
        season = 1 + m.SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (days - 14) / m.N_DAYS)
        weights = m.WEEKDAY_VOLUME[:, weekday] * season[None, :]
        self.day_cdf = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
        hours = np.zeros((len(m.TOUCHPOINTS), 24))
        for tp, (first, last) in enumerate(m.HOURS):
            hours[tp, first:last + 1] = 1.0
            if first == 0:  # digital: quiet nights, busy evenings
                hours[tp, :7] = 0.15
                hours[tp, 18:23] = 1.6
            else:
                hours[tp, 10:13] *= 1.3
        self.hour_cdf = np.cumsum(hours, axis=1) / hours.sum(axis=1, keepdims=True)

    def days(self, rng: np.random.Generator, tp: np.ndarray, first: np.ndarray) -> np.ndarray:
        """A day per contact at or after ``first``, following the touchpoint's calendar."""
        out = np.empty(len(tp), dtype=np.int32)
        u = rng.random(len(tp))
        for code in range(len(m.TOUCHPOINTS)):
            rows = np.flatnonzero(tp == code)
            cdf = self.day_cdf[code]
            floor = np.where(first[rows] > 0, cdf[np.maximum(first[rows] - 1, 0)], 0.0)
            target = floor + u[rows] * (1.0 - floor)
            out[rows] = np.minimum(np.searchsorted(cdf, target, side="right"), m.N_DAYS - 1)
        return np.maximum(out, first)

    def seconds(self, rng: np.random.Generator, tp: np.ndarray) -> np.ndarray:
        """A second of the day per contact, within the touchpoint's hours."""
        u = rng.random(len(tp))
        hour = np.empty(len(tp), dtype=np.int64)
        for code in range(len(m.TOUCHPOINTS)):
            rows = np.flatnonzero(tp == code)
            hour[rows] = np.searchsorted(self.hour_cdf[code], u[rows], side="right")
        return np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, len(tp))


# -- value demand ---------------------------------------------------------------------------------
def base_contacts(rng: np.random.Generator, c: Customers, calendar: Calendar) -> Batch:
    """Each customer's value-demand contacts over the year (Poisson, propensity-weighted)."""
    first = c.first_active_day
    rate = np.array(m.CONTACT_RATE)[c.segment] * c.propensity * (m.N_DAYS - first) / m.N_DAYS
    counts = rng.poisson(rate)
    cust = np.repeat(np.arange(len(c), dtype=np.int32), counts)
    tp = categorical(rng, np.cumsum(m.TOUCHPOINT_MIX, axis=1)[c.segment[cust]])
    day = calendar.days(rng, tp, first[cust])
    t = day.astype(np.int64) * m.DAY_S + calendar.seconds(rng, tp)
    t = np.maximum(t, c.joined_s[cust] + 600)
    channel = categorical(rng, np.cumsum(m.CHANNEL_MIX, axis=1)[tp])
    reason = categorical(rng, np.cumsum(m.REASON_MIX, axis=1)[tp])
    early = (day - c.joined_day[cust] < m.ONBOARDING_WINDOW_DAYS) & (rng.random(len(cust)) < 0.5)
    reason[early & (tp != m.TP["billing"])] = m.RS["onboarding"]
    return {"cust": cust, "t": t, "tp": tp, "channel": channel, "reason": reason,
            "failure": np.zeros(len(cust), dtype=np.int8)}


# -- routing --------------------------------------------------------------------------------------
class Router:
    """Which team takes a contact: touchpoint, reason, segment and region decide the odds,
    so that some teams get the hard cases (retention, business desks)."""

    def __init__(self, staff: Staff) -> None:
        n_teams = staff.n_teams
        kinds = [m.TEAM_KINDS[k][0] for k in staff.team_kind]
        serves = np.zeros((len(m.TOUCHPOINTS), n_teams))
        reason_tilt = np.ones((n_teams, len(m.REASONS)))
        segment_tilt = np.ones((n_teams, len(m.SEGMENTS)))
        region_ok = np.ones((n_teams, len(m.REGIONS)))
        for t, kind in enumerate(kinds):
            if kind.startswith("cc_"):
                serves[m.TP["call_centre"], t] = 1
            elif kind.startswith("billing"):
                serves[m.TP["billing"], t] = 1
            elif kind == "digital":
                serves[[m.TP["web"], m.TP["app"]], t] = 1
            else:
                serves[m.TP["store" if kind == "store" else "field_service"], t] = 1
                region_ok[t] = 0
                region_ok[t, staff.team_region[t]] = 1
            if kind == "cc_general":
                reason_tilt[t, m.RS["cancellation"]] = 0.25
                reason_tilt[t, m.RS["complaint"]] = 0.6
                segment_tilt[t] = (1.0, 0.5, 0.2)
            elif kind == "cc_retention":
                reason_tilt[t] = 0.3
                reason_tilt[t, m.RS["cancellation"]] = 6.0
                reason_tilt[t, m.RS["complaint"]] = 3.0
            elif kind == "cc_business":
                segment_tilt[t] = (0.1, 3.0, 5.0)
            elif kind == "cc_technical":
                reason_tilt[t] = 0.3
                reason_tilt[t, m.RS["technical"]] = 5.0
            elif kind == "billing_general":
                segment_tilt[t] = (1.0, 0.6, 0.2)
            elif kind == "billing_business":
                segment_tilt[t] = (0.1, 2.0, 5.0)
        capacity = np.bincount(staff.agent_team, weights=staff.agent_activity, minlength=n_teams)
        weight = (serves[:, None, None, None, :]
                  * reason_tilt.T[None, :, None, None, :]
                  * segment_tilt.T[None, None, :, None, :]
                  * region_ok.T[None, None, None, :, :]
                  * capacity[None, None, None, None, :])
        weight = weight.reshape(-1, n_teams)
        total = weight.sum(axis=1, keepdims=True)
        self.cdf = np.cumsum(weight, axis=1) / np.where(total > 0, total, 1.0)

    def teams(self, rng: np.random.Generator, tp: np.ndarray, reason: np.ndarray,
              segment: np.ndarray, region: np.ndarray, handled: np.ndarray) -> np.ndarray:
        team = np.full(len(tp), -1, dtype=np.int32)
        rows = np.flatnonzero(handled)
        category = (((tp[rows].astype(np.int64) * len(m.REASONS) + reason[rows]) * len(m.SEGMENTS)
                     + segment[rows]) * len(m.REGIONS) + region[rows])
        order = np.argsort(category, kind="stable")
        u = rng.random(len(rows))
        sorted_cat = category[order]
        bounds = np.flatnonzero(np.diff(sorted_cat)) + 1
        for chunk in np.split(np.arange(len(rows)), bounds):
            if len(chunk) == 0:
                continue
            cdf = self.cdf[sorted_cat[chunk[0]]]
            picked = np.searchsorted(cdf, u[chunk], side="right")
            team[rows[order[chunk]]] = np.minimum(picked, len(cdf) - 1)
        return team


def pick_agents(rng: np.random.Generator, staff: Staff, team: np.ndarray,
                day: np.ndarray) -> np.ndarray:
    """An agent of the team at work that week, in proportion to their activity."""
    agent = np.full(len(team), -1, dtype=np.int32)
    rows = np.flatnonzero(team >= 0)
    u = rng.random(len(rows))
    week = day[rows] // 7
    for start in range(0, len(rows), 500_000):
        part = slice(start, start + 500_000)
        cdf = staff.week_cdf[team[rows[part]], week[part]]
        target = u[part] * cdf[:, -1]
        k = (cdf <= target[:, None]).sum(axis=1)
        agent[rows[part]] = staff.roster[team[rows[part]], np.minimum(k, cdf.shape[1] - 1)]
    return agent


# -- outcomes -------------------------------------------------------------------------------------
@dataclass
class Draws:
    """The random numbers behind a contact's outcomes, kept so that counterfactual outcomes
    (no incident, no fix, no coaching, all resolved) reuse them."""

    resolve: np.ndarray
    handle: np.ndarray
    effort: np.ndarray
    order: np.ndarray
    order_value: np.ndarray
    upsell: np.ndarray
    upsell_value: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> Draws:
        return cls(rng.random(n), rng.standard_normal(n), rng.standard_normal(n), rng.random(n),
                   rng.standard_normal(n), rng.random(n), rng.standard_normal(n))

    def take(self, index: np.ndarray) -> Draws:
        return Draws(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


#: the columns :func:`outcomes` reads
OUTCOME_INPUTS = ("reason", "channel", "segment", "tp", "failure", "tenure_years", "bias")


def outcomes(x: Batch, d: Draws, skill: np.ndarray, latent_shift: np.ndarray,
             effort_shift: np.ndarray, force_resolved: bool | None = None) -> Batch:
    """Resolution, handle time, effort, experience, order and upsell of contacts."""
    handled = x["channel"] != SELF_SERVICE
    skill = np.where(handled, skill, 0.0)
    repeat = x["failure"] == REPEAT
    reason, channel, segment, tp = x["reason"], x["channel"], x["segment"], x["tp"]
    logit = (np.array(m.RESOLUTION_LOGIT)[reason] + np.array(m.RESOLUTION_CHANNEL)[channel]
             + np.array(m.RESOLUTION_SEGMENT)[segment] + m.RESOLUTION_REPEAT * repeat
             + m.SKILL_TO_RESOLUTION * skill)
    p_resolved = sigmoid(logit)
    if force_resolved is None:
        resolved = d.resolve < p_resolved
    else:
        resolved = np.full(len(reason), force_resolved)
    median = np.where(tp == m.TP["field_service"], m.FIELD_VISIT_MEDIAN_S,
                      np.array(m.HANDLE_MEDIAN_S)[channel])
    log_handle = (np.log(median) + np.log(np.array(m.HANDLE_REASON_FACTOR)[reason])
                  + m.HANDLE_SKILL * skill + m.HANDLE_UNRESOLVED * ~resolved
                  + m.HANDLE_SD * d.handle)
    handle_s = np.maximum(np.rint(np.exp(log_handle)), 20.0)
    minutes = handle_s / 60.0
    effort = (m.EFFORT_INTERCEPT + m.EFFORT_REPEAT * repeat + m.EFFORT_UNRESOLVED * ~resolved
              + np.array(m.EFFORT_CHANNEL)[channel] + m.EFFORT_PER_MINUTE * np.minimum(minutes, 40)
              + effort_shift + m.EFFORT_SD * d.effort)
    ces = np.clip(np.rint(effort), 1, 7).astype(np.int8)
    w = m.DRIVER_WEIGHTS
    experience = (m.EXPERIENCE_INTERCEPT + np.array(m.TOUCHPOINT_EFFECT)[tp]
                  + np.array(m.SEGMENT_EFFECT)[segment] + np.array(m.REASON_EFFECT)[reason]
                  + w["resolved"] * resolved + w["ces"] * ces + w["repeat_contact"] * repeat
                  + w["handle_time_min"] * minutes + w["tenure_years"] * x["tenure_years"]
                  + m.SKILL_TO_EXPERIENCE * skill + x["bias"] + latent_shift)
    ordered = (reason == m.RS["sales"]) & resolved & (d.order < m.ORDER_PROB)
    order_value = np.where(ordered, np.array(m.ORDER_MEDIAN)[segment]
                           * np.exp(0.6 * d.order_value), np.nan)
    can_upsell = handled & np.isin(reason, [m.RS[r] for r in m.UPSELL_REASONS])
    p_upsell = sigmoid(m.UPSELL_LOGIT + m.UPSELL_SKILL * skill + 0.4 * resolved)
    upsold = can_upsell & (d.upsell < p_upsell)
    extra = m.UPSELL_MEDIAN * np.exp(0.5 * d.upsell_value)
    order_value = np.where(upsold, np.nan_to_num(order_value) + extra, order_value)
    return {"resolved": resolved, "p_resolved": p_resolved, "handle_s": handle_s, "ces": ces,
            "experience": experience, "order_value": np.round(order_value, 2),
            "upsell": np.where(handled, upsold.astype(np.int8), -1).astype(np.int8)}


def process(rng: np.random.Generator, b: Batch, c: Customers, staff: Staff, router: Router,
            scenario: Scenario) -> None:
    """Route a batch of contacts and draw their outcomes (columns added in place), with the
    counterfactual experiences that the ground truth needs."""
    n = len(b["cust"])
    day = (b["t"] // m.DAY_S).astype(np.int32)
    b["segment"] = c.segment[b["cust"]]
    b["region"] = c.region[b["cust"]]
    b["tenure_years"] = (b["t"] - c.joined_s[b["cust"]]) / (365.25 * m.DAY_S)
    b["bias"] = c.bias[b["cust"]]
    handled = b["channel"] != SELF_SERVICE
    b["team"] = router.teams(rng, b["tp"], b["reason"], b["segment"], b["region"], handled)
    b["agent"] = pick_agents(rng, staff, b["team"], day)
    safe_agent = np.maximum(b["agent"], 0)
    skill = np.where(handled, effective_skill(staff, safe_agent, b["reason"], day), 0.0)
    draws = Draws.draw(rng, n)
    incident, inc_latent, inc_effort = scenario.incident_effects(
        {"touchpoint": b["tp"], "channel": b["channel"], "region": b["region"],
         "segment": b["segment"], "team_id": b["team"], "contact_reason": b["reason"]}, day)
    fixed = (c.treated[b["cust"]] & (b["reason"] == m.RS[m.FIX.contact_reason])
             & (day >= (m.FIX.start - m.PERIOD_START).days))
    latent = inc_latent + m.FIX.latent_shift * fixed
    effort = inc_effort + m.FIX.effort_shift * fixed
    out = outcomes(b, draws, skill, latent, effort)
    b.update(out)
    b["skill"] = skill
    b["incident"] = incident
    b["fixed"] = fixed
    coached = handled & coaching_mask(staff, safe_agent, b["reason"], day)
    b["coached"] = coached

    # counterfactual experiences, each with the same random draws
    b["exp_no_incident"] = b["experience"].copy()
    rows = np.flatnonzero(incident >= 0)
    if len(rows):
        cf = outcomes(take(b, rows, OUTCOME_INPUTS), draws.take(rows), skill[rows],
                      latent[rows] - inc_latent[rows],
                      effort[rows] - inc_effort[rows])
        b["exp_no_incident"][rows] = cf["experience"]
    b["exp_no_fix"] = b["experience"].copy()
    rows = np.flatnonzero(fixed)
    if len(rows):
        cf = outcomes(take(b, rows, OUTCOME_INPUTS), draws.take(rows), skill[rows],
                      latent[rows] - m.FIX.latent_shift, effort[rows] - m.FIX.effort_shift)
        b["exp_no_fix"][rows] = cf["experience"]
    b["exp_no_coaching"] = b["experience"].copy()
    b["resolved_no_coaching"] = b["resolved"].copy()
    rows = np.flatnonzero(coached)
    if len(rows):
        uncoached = effective_skill(staff, safe_agent[rows], b["reason"][rows], day[rows],
                                    coached=False)
        cf = outcomes(take(b, rows, OUTCOME_INPUTS), draws.take(rows), uncoached, latent[rows],
                      effort[rows])
        b["exp_no_coaching"][rows] = cf["experience"]
        b["resolved_no_coaching"][rows] = cf["resolved"]
    # the value of resolution, on a random sample of contacts (NaN elsewhere)
    rows = np.flatnonzero(rng.random(n) < LINKAGE_SAMPLE)
    sample = take(b, rows, OUTCOME_INPUTS)
    for name, forced in (("all_resolved", True), ("none_resolved", False)):
        b["exp_" + name] = np.full(n, np.nan)
        b["exp_" + name][rows] = outcomes(sample, draws.take(rows), skill[rows], latent[rows],
                                          effort[rows], forced)["experience"]


# -- failure demand -------------------------------------------------------------------------------
def failure_contacts(rng: np.random.Generator, b: Batch, calendar: Calendar) -> Batch:
    """Contacts caused by failures of a processed batch: repeats of unresolved contacts,
    complaints, and chasers after orders and onboarding."""
    n = len(b["cust"])
    unresolved = ~b["resolved"]
    repeat = np.flatnonzero(unresolved & (rng.random(n) < m.REPEAT_PROB))
    complaint = np.flatnonzero(unresolved & (rng.random(n) < m.COMPLAINT_PROB))
    chaser = np.flatnonzero((~np.isnan(b["order_value"]) & (b["reason"] == m.RS["sales"])
                             & (rng.random(n) < m.CHASER_PROB_ORDER))
                            | ((b["reason"] == m.RS["onboarding"])
                               & (rng.random(n) < m.CHASER_PROB_ONBOARDING)))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]] = []

    # repeats: the same reason again; self-service failures move to the call centre
    tp = b["tp"][repeat].copy()
    escalate = (b["channel"][repeat] == SELF_SERVICE) & (rng.random(len(repeat)) < 0.6)
    tp[escalate] = m.TP["call_centre"]
    delay = np.minimum(rng.geometric(0.45, len(repeat)) - 1, m.REPEAT_MAX_DAYS)
    channel = categorical(rng, np.cumsum(m.CHANNEL_MIX, axis=1)[tp])
    parts.append((repeat, tp, channel, b["reason"][repeat], delay, REPEAT))

    # complaints: by phone or e-mail to the call centre, or to billing about a bill
    to_billing = rng.random(len(complaint)) < np.where(b["reason"][complaint] == m.RS["billing"],
                                                       0.6, 0.25)
    tp = np.where(to_billing, m.TP["billing"], m.TP["call_centre"]).astype(np.int8)
    channel = np.where(rng.random(len(complaint)) < 0.65, m.CH["phone"],
                       m.CH["email"]).astype(np.int8)
    delay = rng.integers(0, 14, len(complaint))
    parts.append((complaint, tp, channel, np.full(len(complaint), m.RS["complaint"], np.int8),
                  delay, COMPLAINT))

    # chasers: 'where is my order', through the app, the web or the call centre
    tp = np.array([m.TP["app"], m.TP["web"], m.TP["call_centre"]], dtype=np.int8)[
        categorical(rng, np.tile(np.cumsum([0.35, 0.25, 0.40]), (len(chaser), 1)))]
    channel = categorical(rng, np.cumsum(m.CHANNEL_MIX, axis=1)[tp])
    delay = rng.integers(2, 14, len(chaser))
    parts.append((chaser, tp, channel, np.full(len(chaser), m.RS["order_status"], np.int8),
                  delay, CHASER))

    parent = np.concatenate([p[0] for p in parts])
    tp = np.concatenate([p[1] for p in parts]).astype(np.int8)
    channel = np.concatenate([p[2] for p in parts]).astype(np.int8)
    reason = np.concatenate([p[3] for p in parts]).astype(np.int8)
    delay = np.concatenate([p[4] for p in parts]).astype(np.int64)
    failure = np.concatenate([np.full(len(p[0]), p[5], np.int8) for p in parts])
    parent_t = b["t"][parent]
    day = parent_t // m.DAY_S + delay
    t = day * m.DAY_S + calendar.seconds(rng, tp)
    too_soon = t <= parent_t
    t[too_soon] = parent_t[too_soon] + rng.integers(300, 3600, int(too_soon.sum()))
    keep = t < m.N_DAYS * m.DAY_S
    return {"cust": b["cust"][parent][keep], "t": t[keep], "tp": tp[keep],
            "channel": channel[keep], "reason": reason[keep], "failure": failure[keep]}


def generate_contacts(rng: np.random.Generator, c: Customers, staff: Staff, router: Router,
                      scenario: Scenario, calendar: Calendar) -> Batch:
    """Value demand, processed, and the failure demand it spawns, round after round
    (in no particular order)."""
    batch = base_contacts(rng, c, calendar)
    rounds: list[Batch] = []
    for _ in range(m.FAILURE_ROUNDS):
        if len(batch["cust"]) == 0:
            break
        process(rng, batch, c, staff, router, scenario)
        rounds.append(batch)
        batch = failure_contacts(rng, batch, calendar)
    return concat(rounds)


# -- planted incidents ----------------------------------------------------------------------------
class Scenario:
    """The planted incidents, as masks over coded columns."""

    def __init__(self, incidents: tuple[m.IncidentSpec, ...], staff: Staff) -> None:
        self.incidents = incidents
        self.codes = {
            "touchpoint": m.TP, "channel": m.CH, "region": m.RG, "segment": m.SG,
            "contact_reason": m.RS, "team_id": {t: i for i, t in enumerate(staff.team_ids)},
        }

    def incident_effects(self, columns: dict[str, np.ndarray],
                         day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: which incident hits it (-1: none), and its experience and effort shifts."""
        n = len(day)
        which = np.full(n, -1, dtype=np.int8)
        latent = np.zeros(n)
        effort = np.zeros(n)
        for k, incident in enumerate(self.incidents):
            start = (incident.start - m.PERIOD_START).days
            end = (incident.end - m.PERIOD_START).days if incident.end else m.N_DAYS
            hit = (day >= start) & (day < end)
            for dimension, value in incident.segment:
                column = columns.get(dimension)
                if column is None:
                    hit[:] = False
                    break
                hit &= column == self.codes[dimension][value]
            hit &= which < 0
            which[hit] = k
            latent[hit] += incident.latent_shift
            effort[hit] += incident.effort_shift
        return which, latent, effort
