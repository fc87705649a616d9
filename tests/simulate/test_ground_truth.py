"""The planted truths are in ground_truth.json and really are in the data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from smokejumper.simulate import model as m


def nps(scores: pd.Series) -> float:
    """NPS in points: % promoters (9-10) minus % detractors (0-6)."""
    scores = scores.dropna()
    return 100.0 * ((scores >= 9).mean() - (scores <= 6).mean())


REQUIRED = ("incidents", "agents", "driver_weights", "coaching_effect", "fix_effect", "linkage",
            "failure_demand_share", "seed", "size", "period", "dimensions")


def test_required_keys_and_json(truth) -> None:
    for key in REQUIRED:
        assert key in truth, key
    assert truth["seed"] == 7 and truth["size"] == "small"
    assert truth["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert truth["dimensions"] == list(m.DIMENSIONS)
    assert json.loads(json.dumps(truth, allow_nan=False)) == truth
    for incident in truth["incidents"]:
        assert {"metric", "segment", "theme", "start", "effect", "end", "n_affected"} <= set(
            incident)
    for key in ("area", "effect", "start", "pairs"):
        assert key in truth["coaching_effect"]
    for key in ("description", "metric", "start", "treated_share", "effect", "rule"):
        assert key in truth["fix_effect"]


def test_a_skill_profile_for_every_agent(frames, truth) -> None:
    agents = truth["agents"]
    assert set(frames["interactions"].agent_id.dropna()) <= set(agents)
    staff = frames["employees"]
    assert set(agents) == set(staff.employee_id[staff.role != "team_lead"])
    for profile in agents.values():
        assert set(profile["areas"]) == set(m.SKILL_AREAS)
        assert isinstance(profile["overall"], float)
        assert all(profile["areas"][a] <= m.WEAK_THRESHOLD for a in profile["weak_areas"])
        assert all(profile["areas"][a] >= m.STRONG_THRESHOLD for a in profile["strong_areas"])


def _in_segment(frame: pd.DataFrame, segment: dict[str, str]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for dimension, value in segment.items():
        mask &= frame[dimension] == value
    return mask


@pytest.mark.parametrize("k", range(len(m.INCIDENTS)))
def test_each_incident_is_visible_in_the_raw_data(frames, truth, quiet_company, k) -> None:
    incident = truth["incidents"][k]
    assert incident["metric"] == "nps"
    assert -35 <= incident["effect"] <= -15  # material
    start = pd.Timestamp(incident["start"])
    window = pd.Timedelta(weeks=4)
    quiet = quiet_company.frame("responses")
    for data, planted in ((frames["responses"], True), (quiet, False)):
        seg = data[_in_segment(data, incident["segment"])]
        before = seg[(seg.ts >= start - window) & (seg.ts < start)].nps
        after = seg[(seg.ts >= start) & (seg.ts < start + window)].nps
        change = nps(after) - nps(before)
        if planted:
            assert change == pytest.approx(incident["effect"], abs=12)
            # enough feedback each week to see it
            weekly = seg[seg.nps.notna()].groupby(seg.ts.dt.to_period("W")).size()
            assert weekly.median() >= 80
        else:
            assert change > -10


@pytest.mark.parametrize("k", range(len(m.INCIDENTS)))
def test_incident_theme_in_affected_comments(frames, truth, k) -> None:
    incident = truth["incidents"][k]
    r = frames["responses"].merge(frames["comment_truth"], on="response_id")
    start = pd.Timestamp(incident["start"])
    end = pd.Timestamp(incident["end"]) if incident["end"] else pd.Timestamp("2026-01-01")
    seg = r[_in_segment(r, incident["segment"])]
    mentions = seg.themes.apply(lambda themes: incident["theme"] in themes)
    during = (seg.ts >= start + pd.Timedelta(days=3)) & (seg.ts < end)
    before = seg.ts < start - pd.Timedelta(days=3)
    assert mentions[during].mean() > 0.8
    assert mentions[during].mean() > mentions[before].mean() + 0.3


def test_no_incidents_means_none_planted(quiet_company) -> None:
    assert quiet_company.truth["incidents"] == []
    themes = quiet_company.frame("comment_truth")
    assert len(themes) > 10_000


def test_failure_demand_share(frames, truth) -> None:
    x = frames["interactions"].sort_values(["customer_id", "contact_reason", "ts"])
    previous = x.groupby(["customer_id", "contact_reason"]).ts.shift()
    repeat = (x.ts - previous) < pd.Timedelta(days=7)
    by_rule = (repeat | x.contact_reason.isin(["order_status", "complaint"])).mean()
    assert by_rule == pytest.approx(truth["failure_demand"]["share_by_rule"], abs=1e-4)
    kinds = frames["interaction_truth"].failure_kind
    assert (kinds != "value").mean() == pytest.approx(truth["failure_demand_share"], abs=1e-4)
    assert 0.15 < truth["failure_demand_share"] < 0.35
    assert by_rule == pytest.approx(truth["failure_demand_share"], abs=0.04)


def _linked(frames) -> pd.DataFrame:
    x = frames["interactions"]
    r = frames["responses"].dropna(subset=["interaction_id", "nps"])
    data = r.merge(x[["interaction_id", "resolved", "handle_time_s", "ts"]],
                   on="interaction_id", suffixes=("", "_x"))
    return data.merge(frames["interaction_truth"], on="interaction_id")


def test_driver_weights_are_what_moves_nps(frames, truth) -> None:
    data = _linked(frames).dropna(subset=["ces"])
    joined = frames["customers"].set_index("customer_id").joined_at
    drivers = {
        "resolved": data.resolved.astype(float),
        "ces": data.ces.astype(float),
        "repeat_contact": (data.failure_kind == "repeat").astype(float),
        "handle_time_min": data.handle_time_s / 60,
        "tenure_years": (data.ts_x - joined.loc[data.customer_id].to_numpy()).dt.days / 365.25,
    }
    X = np.column_stack([np.ones(len(data))] + [v.to_numpy() for v in drivers.values()])
    coefficients = np.linalg.lstsq(X, data.nps.to_numpy(float), rcond=None)[0][1:]
    weights = truth["driver_weights"]
    for name, coefficient in zip(drivers, coefficients, strict=True):
        assert np.sign(coefficient) == np.sign(weights[name]["weight"]), name
    standardized = np.abs(coefficients * np.array([v.std() for v in drivers.values()]))
    planted_rank = [weights[name]["rank"] for name in drivers]
    assert spearmanr(-standardized, planted_rank).statistic == pytest.approx(1.0)


def test_case_mix_matters_and_adjusted_ranking_tracks_skill(frames, truth) -> None:
    r = frames["responses"].dropna(subset=["agent_id", "nps"]).copy()
    r["points"] = np.where(r.nps >= 9, 100, np.where(r.nps <= 6, -100, 0))
    cell = r.contact_reason + r.channel + r.segment
    r["adjusted"] = r.points - r.groupby(cell).points.transform("mean")
    agents = r.groupby("agent_id").agg(raw=("points", "mean"), adjusted=("adjusted", "mean"),
                                       n=("points", "size"))
    agents = agents[agents.n >= 30]
    skill = pd.Series({a: v["overall"] for a, v in truth["agents"].items()})[agents.index]
    raw = spearmanr(agents.raw, skill).statistic
    adjusted = spearmanr(agents.adjusted, skill).statistic
    assert adjusted > 0.7
    assert adjusted > raw + 0.1


def test_coaching_pairs_match_planted_weak_and_strong_areas(truth, frames) -> None:
    coaching = truth["coaching_effect"]
    agents = truth["agents"]
    assert len(coaching["pairs"]) >= 8
    mentors: dict[str, int] = {}
    for pair in coaching["pairs"]:
        assert pair["area"] in agents[pair["mentee"]]["weak_areas"]
        assert pair["area"] in agents[pair["mentor"]]["strong_areas"]
        assert agents[pair["mentee"]]["site"] == agents[pair["mentor"]]["site"]
        mentors[pair["mentor"]] = mentors.get(pair["mentor"], 0) + 1
    assert max(mentors.values()) <= 2
    assert 5 <= coaching["effect"] <= 40
    assert coaching["effect_fcr_points"] > 3


def test_coached_agents_improve_in_their_area(frames, truth) -> None:
    x = frames["interactions"]
    gains = []
    for pair in truth["coaching_effect"]["pairs"]:
        mine = x[(x.agent_id == pair["mentee"]) & (x.contact_reason == pair["area"])]
        start = pd.Timestamp(pair["start"])
        gains.append(mine.resolved[mine.ts >= start].mean() - mine.resolved[mine.ts < start].mean())
    assert np.nanmean(gains) > 0.05


def test_fix_effect_seen_in_treated_against_control(frames, truth) -> None:
    fix = truth["fix_effect"]
    r = frames["responses"].merge(frames["interaction_truth"], on="interaction_id")
    r = r[(r.contact_reason == fix["contact_reason"]) & (r.ts >= pd.Timestamp(fix["start"]))]
    difference = nps(r.nps[r.treated]) - nps(r.nps[~r.treated])
    assert 4 <= fix["effect"] <= 20
    assert difference == pytest.approx(fix["effect"], abs=10)


def test_linkage_engagement_service_nps_churn(frames, truth) -> None:
    link = truth["linkage"]
    assert set(link["teams"]) == set(frames["employees"].team_id)
    assert link["fcr_points_per_engagement_point"] > 0
    assert link["nps_points_per_fcr_point"] > 0.3
    churn = truth["churn"]
    assert churn["rate_with_detractor_response"] > 1.4 * churn["rate_without_detractor_response"]
    # engaged people resolve more, once the mix of contact reasons is taken out
    x = frames["interactions"].dropna(subset=["agent_id"]).copy()
    cell = x.contact_reason + x.channel + x.segment
    x["adjusted"] = x.resolved - x.groupby(cell).resolved.transform("mean")
    by_agent = x.groupby("agent_id").adjusted.mean()
    engagement = pd.Series({a: v["engagement"] for a, v in truth["agents"].items()})
    skill = pd.Series({a: v["overall"] for a, v in truth["agents"].items()})
    assert spearmanr(by_agent, skill[by_agent.index]).statistic > 0.6
    assert spearmanr(by_agent, engagement[by_agent.index]).statistic > 0.1
