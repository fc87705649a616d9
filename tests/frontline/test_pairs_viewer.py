"""Pair assignment constraints and who sees what, on small hand-made profiles."""

from __future__ import annotations

import pandas as pd
import pytest

from smokejumper.errors import FrontlineError
from smokejumper.frontline.pairs import PairConfig, check_pairs, propose_pairs
from smokejumper.frontline.viewer import Viewer, visible


def _profile(agent: str, area: str, score: float) -> dict[str, object]:
    flag = "weak" if score < 0 else "strong"
    return {"agent_id": agent, "area": area, "n": 100, "score": score, "low": score - 0.3,
            "high": score + 0.3, "flag": flag}


PROFILES = pd.DataFrame([
    _profile("W1", "billing", -2.0), _profile("W2", "billing", -1.5),
    _profile("W3", "billing", -1.2), _profile("W4", "billing", -1.1),
    _profile("W5", "technical", -1.4),
    _profile("M1", "billing", 2.0), _profile("M2", "billing", 1.2),
    _profile("M3", "technical", 1.5), _profile("M3", "billing", -1.3),
    _profile("X1", "billing", 3.0),
])
EMPLOYEES = pd.DataFrame({
    "employee_id": ["W1", "W2", "W3", "W4", "W5", "M1", "M2", "M3", "X1"],
    "team_id": ["T1", "T1", "T2", "T2", "T1", "T1", "T2", "T1", "T9"],
    "site": ["A", "A", "A", "A", "A", "A", "A", "A", "B"],
})


def test_assignment_respects_capacity_site_and_mentor_weakness() -> None:
    config = PairConfig(same="site", capacity=1)
    pairs = propose_pairs(PROFILES, EMPLOYEES, config)
    assert check_pairs(pairs, PROFILES, EMPLOYEES, config) == []
    assert pairs["mentor"].value_counts().max() == 1
    assert "X1" not in set(pairs["mentor"])  # other site
    assert ("M3", "billing") not in set(zip(pairs["mentor"], pairs["area"], strict=True))
    assert set(pairs["mentee"]) == {"W1", "W2", "W5"} or len(pairs) == 3
    assert len(pairs) == 3  # M1, M2 in billing; M3 in technical
    assert pairs["reason"].str.contains("credibly weak").all()


def test_capacity_two_pairs_more_and_team_constraint_pairs_fewer() -> None:
    two = propose_pairs(PROFILES, EMPLOYEES, PairConfig(capacity=2))
    assert len(two) == 5 and two["mentor"].value_counts().max() == 2
    team = propose_pairs(PROFILES, EMPLOYEES, PairConfig(same="team", capacity=2))
    assert check_pairs(team, PROFILES, EMPLOYEES, PairConfig(same="team", capacity=2)) == []
    assert set(team[team["mentor"] == "M2"]["mentee"]) <= {"W3", "W4"}
    anywhere = propose_pairs(PROFILES, EMPLOYEES, PairConfig(same="none", capacity=1))
    assert len(anywhere) == 4  # X1 can now coach too


def test_pair_config_is_validated() -> None:
    with pytest.raises(FrontlineError):
        PairConfig(same="shift")  # type: ignore[arg-type]
    with pytest.raises(FrontlineError):
        PairConfig(capacity=0)


TEAMS = dict(zip(EMPLOYEES["employee_id"], EMPLOYEES["team_id"], strict=True))


@pytest.mark.parametrize(("viewer", "expected"), [
    (None, ["W1", "W2", "W3", "M2"]),
    (Viewer("admin"), ["W1", "W2", "W3", "M2"]),
    (Viewer("team_lead", team_id="T2"), ["W3", "M2"]),
    (Viewer("agent", agent_id="W2"), ["W2"]),
])
def test_viewer_filters_rows(viewer: Viewer | None, expected: list[str]) -> None:
    frame = pd.DataFrame({"agent_id": ["W1", "W2", "W3", "M2"]})
    assert visible(frame, viewer, TEAMS)["agent_id"].tolist() == expected


def test_viewer_sees_pairs_where_they_are_mentee_or_mentor() -> None:
    pairs = pd.DataFrame({"mentee": ["W1", "W3"], "mentor": ["M1", "M1"]})
    assert len(visible(pairs, Viewer("agent", agent_id="M1"), TEAMS, ("mentee", "mentor"))) == 2
    assert visible(pairs, Viewer("team_lead", team_id="T2"), TEAMS,
                   ("mentee", "mentor"))["mentee"].tolist() == ["W3"]
    with pytest.raises(FrontlineError):
        Viewer("agent")
