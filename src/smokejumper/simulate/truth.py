"""``ground_truth.json``: the truths planted in the demo company, so that anyone can check
the product against them.

Keys (at least): ``incidents``, ``agents``, ``driver_weights``, ``coaching_effect``,
``fix_effect``, ``linkage``, ``failure_demand_share``, with ``seed``, ``size``, ``period``
and ``dimensions``. Effects are given twice where it matters: the parameter of the
generating model (``latent_shift``, ``effect_skill``...) and the *realised* effect on
the metric the product reports (``effect``, in NPS points), computed exactly by scoring
the same responses with and without the planted event.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from smokejumper.simulate import model as m
from smokejumper.simulate import phrases as ph
from smokejumper.simulate.company import NEVER
from smokejumper.simulate.generate import Simulation
from smokejumper.simulate.interactions import FAILURE_KINDS
from smokejumper.simulate.transcripts import QUALITY_WEIGHTS

TRUTH_FILE = "ground_truth.json"


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _day(day: int) -> str | None:
    from datetime import timedelta

    if day >= NEVER:
        return None
    return (m.PERIOD_START + timedelta(days=int(day))).isoformat()


def _realised(tally: Any, prefix: str) -> float | None:
    n = tally.get(f"{prefix}_nps_n")
    if not n:
        return None
    return _r(100.0 * (tally.get(f"{prefix}_nps_obs") - tally.get(f"{prefix}_nps_cf")) / n, 2)


def ground_truth(sim: Simulation) -> dict[str, Any]:
    """The ground truth of a finished simulation (all blocks generated)."""
    t = sim.tally
    staff = sim.staff
    return {
        "company": m.COMPANY_NAME,
        "seed": sim.seed,
        "size": sim.size.name,
        "period": {"start": m.PERIOD_START.isoformat(), "end": m.PERIOD_END.isoformat()},
        "dimensions": list(m.DIMENSIONS),
        "counts": {
            "customers": t.get("customers"), "interactions": t.get("interactions"),
            "responses": t.get("responses"), "comments": t.get("comments"),
            "teams": staff.n_teams, "agents": staff.n_agents,
            "employees": staff.employees.num_rows if staff.employees is not None else 0,
        },
        "incidents": _incidents(sim),
        "agents": _agents(sim),
        "skill_model": {
            "areas": list(m.SKILL_AREAS),
            "description": "overall = team effect + 0.04 (engagement - 70) + individual "
                           "(- 0.25 for replacements hired during the year); "
                           "areas[a] = overall + area deviation. The effective skill on a "
                           "contact is areas[contact_reason], less the new-hire ramp, plus "
                           "the coaching effect for mentees after their pair starts.",
            "weak_threshold": m.WEAK_THRESHOLD,
            "strong_threshold": m.STRONG_THRESHOLD,
            "per_unit_of_skill": {
                "resolution_logit": m.SKILL_TO_RESOLUTION,
                "experience_points": m.SKILL_TO_EXPERIENCE,
                "log_handle_time": m.HANDLE_SKILL,
                "upsell_logit": m.UPSELL_SKILL,
            },
            "new_hire_ramp": m.NEW_HIRE_RAMP,
            "team_kind_effect": {kind[0]: m.TEAM_KIND_EFFECT[i]
                                 for i, kind in enumerate(m.TEAM_KINDS)},
            "case_mix": "retention and business desks get the hardest contact reasons and "
                        "segments but have more skilled staff: raw averages are biased.",
        },
        "driver_weights": _drivers(sim),
        "driver_model": {
            "outcome": "nps (0-10) = clip(round(experience + N(0, 1.3)), 0, 10)",
            "experience": "9.0 + touchpoint + segment + contact_reason effects "
                          "+ sum(weight * driver) + 0.5 * agent effective skill "
                          "+ customer leaning N(0, 0.7) + incident and fix shifts",
            "touchpoint_effect": dict(zip(m.TOUCHPOINTS, m.TOUCHPOINT_EFFECT, strict=True)),
            "segment_effect": dict(zip(m.SEGMENTS, m.SEGMENT_EFFECT, strict=True)),
            "contact_reason_effect": dict(zip(m.REASONS, m.REASON_EFFECT, strict=True)),
            "csat": "clip(round(3.95 + 0.5 (nps latent - 7.5) + N(0, 0.6)), 1, 5)",
            "ces": "clip(round(2.2 + 0.3 repeat + 0.3 unresolved + channel + 0.015 "
                   "min(handle minutes, 40) + N(0, 1.1)), 1, 7); higher = more effort",
        },
        "coaching_effect": _coaching(sim),
        "fix_effect": _fix(sim),
        "linkage": _linkage(sim),
        "failure_demand_share": _r(_failure_share(sim), 4),
        "failure_demand": _failure(sim),
        "churn": _churn(sim),
        "themes": {name: {"description": theme.description, "parent": theme.parent}
                   for name, theme in ph.THEMES.items()},
        "conversation_quality": {
            "formula": "0.30 resolution_stated + 0.20 empathy + 0.30 end_sentiment "
                       "(negative 0, neutral 0.5, positive 1) + 0.20 (1 - effort_signals / 3)",
            "weights": QUALITY_WEIGHTS,
            "transcripts": t.get("transcripts"),
            "per_interaction": "data/transcript_truth.parquet, column quality",
        },
        "files": {
            "comment_truth": "data/comment_truth.parquet: response_id, themes, "
                             "theme_sentiments, sentiment, length, typo, pii",
            "transcript_truth": "data/transcript_truth.parquet: interaction_id, quality, "
                                "empathy, effort_signals, resolution_stated, start_sentiment, "
                                "end_sentiment",
            "interaction_truth": "data/interaction_truth.parquet: interaction_id, "
                                 "failure_kind, experience, treated",
        },
    }


def _incidents(sim: Simulation) -> list[dict[str, Any]]:
    t = sim.tally
    out = []
    for k, spec in enumerate(sim.incidents):
        out.append({
            "name": spec.name,
            "metric": "nps",
            "segment": spec.segment_dict,
            "theme": spec.theme,
            "start": spec.start.isoformat(),
            "end": spec.end.isoformat() if spec.end else None,
            "effect": _realised(t, f"incident{k}"),
            "effect_unit": "NPS points on the affected responses (negative: a fall)",
            "latent_shift": spec.latent_shift,
            "effort_shift": spec.effort_shift,
            "n_affected": t.get(f"incident{k}_nps_n"),
            "n_responses_affected": t.get(f"incident{k}_responses"),
            "n_interactions_affected": t.get(f"incident{k}_interactions"),
            "customers_affected": t.get(f"incident{k}_customers"),
            "revenue_affected": _r(t.get(f"incident{k}_revenue"), 2),
            "description": spec.description,
        })
    return out


def _agents(sim: Simulation) -> dict[str, Any]:
    staff = sim.staff
    agents: dict[str, Any] = {}
    for a, agent_id in enumerate(staff.agent_ids):
        areas = {area: _r(staff.agent_skill[a, i]) for i, area in enumerate(m.SKILL_AREAS)}
        agents[agent_id] = {
            "overall": _r(staff.agent_overall[a]),
            "areas": areas,
            "weak_areas": [k for k, v in areas.items() if v <= m.WEAK_THRESHOLD],
            "strong_areas": [k for k, v in areas.items() if v >= m.STRONG_THRESHOLD],
            "team_id": staff.team_ids[staff.agent_team[a]],
            "site": staff.team_site[staff.agent_team[a]],
            "engagement": _r(staff.agent_engagement[a], 1),
            "hired_at": _day(int(staff.agent_hired_day[a])),
            "left_at": _day(int(staff.agent_left_day[a])),
        }
    return agents


def _drivers(sim: Simulation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, weight in m.DRIVER_WEIGHTS.items():
        n, total, squares = sim.tally.get(f"driver_{name}", np.zeros(3))
        sd = float(np.sqrt(max(squares / n - (total / n) ** 2, 0.0))) if n else 0.0
        out[name] = {
            "weight": weight,
            "unit": "0-10 likelihood points per unit of the driver",
            "definition": m.DRIVER_DEFINITIONS[name],
            "sd": _r(sd),
            "standardized": _r(weight * sd),
        }
    ranked = sorted(out, key=lambda d: -abs(out[d]["standardized"]))
    for rank, name in enumerate(ranked, start=1):
        out[name]["rank"] = rank
    return out


def _coaching(sim: Simulation) -> dict[str, Any]:
    t = sim.tally
    pairs = sim.staff.pairs
    areas = Counter(str(p["area"]) for p in pairs)
    contacts = t.get("coaching_contacts")
    return {
        "area": areas.most_common(1)[0][0] if pairs else None,
        "areas": sorted(areas),
        "effect": _realised(t, "coaching"),
        "effect_unit": "NPS points on mentees' responses in their coached area after the "
                       "pair started",
        "effect_skill": m.COACHING.skill_effect,
        "effect_fcr_points": _r(100.0 * (t.get("coaching_resolved_obs")
                                         - t.get("coaching_resolved_cf")) / contacts, 2)
        if contacts else None,
        "n_contacts": contacts,
        "n_responses": t.get("coaching_nps_n"),
        "start": min(str(p["start"]) for p in pairs) if pairs else None,
        "rule": "mentee's weakest area among those their team mainly handles, skill <= -0.8; "
                "mentor of the same site with skill >= 0.8 in it, at most 2 mentees each",
        "pairs": pairs,
    }


def _fix(sim: Simulation) -> dict[str, Any]:
    t = sim.tally
    fix = m.FIX
    return {
        "name": fix.name,
        "description": fix.description,
        "metric": "nps",
        "contact_reason": fix.contact_reason,
        "start": fix.start.isoformat(),
        "treated_share": fix.treated_percent / 100,
        "treated_customers": t.get("treated_customers"),
        "assignment": "by customer: " + fix.rule,
        "rule": fix.rule,
        "effect": _realised(t, "fix"),
        "effect_unit": "NPS points on treated customers' technical contacts after the start",
        "latent_shift": fix.latent_shift,
        "effort_shift": fix.effort_shift,
        "n_responses": t.get("fix_nps_n"),
        "n_interactions": t.get("fix_interactions"),
        "guardrails": "handle time and resolution are not changed by the fix",
    }


def _linkage(sim: Simulation) -> dict[str, Any]:
    t = sim.tally
    staff = sim.staff
    handled = t.get("handled")
    slope = t.get("handled_slope") / handled if handled else 0.0
    linked = t.get("linked_nps_n")
    contacts = t.get("team_contacts", np.zeros(staff.n_teams))
    resolved = t.get("team_resolved", np.zeros(staff.n_teams))
    nps_n = t.get("team_nps_n", np.zeros(staff.n_teams))
    points = t.get("team_nps_points", np.zeros(staff.n_teams))
    teams = {}
    for i, team in enumerate(staff.team_ids):
        members = staff.agent_team == i
        teams[team] = {
            "kind": m.TEAM_KINDS[staff.team_kind[i]][0],
            "site": staff.team_site[i],
            "engagement": _r(staff.agent_engagement[members].mean(), 1),
            "attrition": _r(((staff.agent_left_day[members] < NEVER).sum()) / members.sum()),
            "team_effect": _r(staff.team_effect[i]),
            "contacts": int(contacts[i]),
            "fcr": _r(resolved[i] / contacts[i]) if contacts[i] else None,
            "nps_responses": int(nps_n[i]),
            "nps": _r(100 * points[i] / nps_n[i], 1) if nps_n[i] else None,
        }
    return {
        "chain": ["engagement", "agent skill", "first-contact resolution", "nps", "churn"],
        "engagement_to_skill": m.ENGAGEMENT_TO_SKILL,
        "skill_to_resolution_logit": m.SKILL_TO_RESOLUTION,
        "fcr_points_per_engagement_point": _r(100 * slope * m.SKILL_TO_RESOLUTION
                                              * m.ENGAGEMENT_TO_SKILL, 4),
        "nps_points_per_fcr_point": _r((t.get("nps_all_resolved") - t.get("nps_none_resolved"))
                                       / linked, 4) if linked else None,
        "resolution_weight": m.DRIVER_WEIGHTS["resolved"],
        "skill_to_experience": m.SKILL_TO_EXPERIENCE,
        "experience_to_churn": {
            "formula": "each contact makes the customer leave (after ~Exp(30 days)) with "
                       "probability sigmoid(-4.4 + 0.6 (7 - experience) + 0.5 unresolved), where "
                       "experience leaves out the customer's own leaning",
            **m.CHURN_TRIGGER,
        },
        "engagement_to_attrition": {
            "formula": "an agent leaves during the year with probability "
                       "sigmoid(-1.3 - 0.06 (engagement - 70))",
            **m.ATTRITION,
        },
        "new_hire_ramp": m.NEW_HIRE_RAMP,
        "teams": teams,
    }


def _failure_share(sim: Simulation) -> float:
    kinds = sim.tally.get("failure_by_kind", np.zeros(len(FAILURE_KINDS)))
    total = kinds.sum()
    return float(kinds[1:].sum() / total) if total else 0.0


def _failure(sim: Simulation) -> dict[str, Any]:
    t = sim.tally
    kinds = t.get("failure_by_kind", np.zeros(len(FAILURE_KINDS)))
    total = max(int(kinds.sum()), 1)
    return {
        "share": _r(_failure_share(sim), 4),
        "by_kind": {name: _r(kinds[i] / total, 4) for i, name in enumerate(FAILURE_KINDS)},
        "definition": "failure demand = contacts caused by an earlier failure: repeats of "
                      "unresolved contacts (within 7 days, same reason), complaints after "
                      "unresolved contacts, 'where is my order' chasers (order_status)",
        "rule": m.FAILURE_RULE,
        "share_by_rule": _r(t.get("failure_by_rule") / total, 4),
        "per_interaction": "data/interaction_truth.parquet, column failure_kind",
    }


def _churn(sim: Simulation) -> dict[str, Any]:
    t = sim.tally
    cells = t.get("churn_cells", np.zeros(4))
    return {
        "customers": t.get("customers"),
        "churned": t.get("churned"),
        "rate": _r(t.get("churned") / max(t.get("customers"), 1), 4),
        "base_rate_per_year": dict(zip(m.SEGMENTS, m.BASE_CHURN, strict=True)),
        "trigger": dict(m.CHURN_TRIGGER),
        "rate_with_detractor_response": _r(cells[1] / cells[0], 4) if cells[0] else None,
        "rate_without_detractor_response": _r(cells[3] / cells[2], 4) if cells[2] else None,
    }
