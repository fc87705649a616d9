"""Peer-coaching pairs: each credibly weak (agent, area) matched to a credibly strong
colleague in the same area, by an optimal assignment under constraints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from smokejumper.errors import FrontlineError

if TYPE_CHECKING:
    import pandas as pd

Constraint = Literal["site", "team", "none"]


@dataclass(frozen=True)
class PairConfig:
    """``same``: mentor and mentee share a site, a team, or nothing; ``capacity``: most
    mentees per mentor; ``threshold``: how far from average (in agent standard deviations)
    a credible weakness or strength must be; one pair per mentee."""

    same: Constraint = "site"
    capacity: int = 2
    threshold: float = 1.0

    def __post_init__(self) -> None:
        if self.same not in ("site", "team", "none"):
            raise FrontlineError(f"--same must be site, team or none, not '{self.same}'")
        if self.capacity < 1:
            raise FrontlineError("a mentor takes at least one mentee (capacity >= 1)")


def propose_pairs(profiles: pd.DataFrame, employees: pd.DataFrame,
                  config: PairConfig | None = None) -> pd.DataFrame:
    """Pairs from skill profiles (agent_id, area, n, score, low, high, flag) and employees
    (employee_id, team_id, site): mentee, mentor, area, scores and a reason in words.

    The assignment maximises first the number of pairs, then the total gap between
    mentor and mentee (``scipy.optimize.linear_sum_assignment``, mentors expanded into
    ``capacity`` slots).
    """
    import pandas as pd
    from scipy.optimize import linear_sum_assignment

    config = config or PairConfig()
    columns = ["mentee", "mentor", "area", "mentee_score", "mentor_score", "gap", "reason"]
    people = employees.set_index("employee_id")
    weak = profiles[(profiles["flag"] == "weak") & (profiles["score"] <= -config.threshold)]
    strong = profiles[(profiles["flag"] == "strong") & (profiles["score"] >= config.threshold)]
    if weak.empty or strong.empty:
        return pd.DataFrame(columns=columns)
    group_column = {"site": "site", "team": "team_id"}.get(config.same)
    mentees = sorted(weak["agent_id"].unique())
    mentors = sorted(strong["agent_id"].unique())
    weak_score = {(r.agent_id, r.area): r for r in weak.itertuples()}
    strong_by_mentor: dict[str, dict[str, object]] = {}
    for r in strong.itertuples():
        strong_by_mentor.setdefault(r.agent_id, {})[r.area] = r
    weak_areas: dict[str, list[str]] = {}
    for agent, area in weak_score:
        weak_areas.setdefault(agent, []).append(area)

    def group(agent: str) -> object:
        if group_column is None:
            return None
        return people[group_column].get(agent) if agent in people.index else None

    big = 1e6
    benefit = np.zeros((len(mentees), len(mentors)))
    chosen_area: dict[tuple[int, int], str] = {}
    for i, mentee in enumerate(mentees):
        for j, mentor in enumerate(mentors):
            if mentee == mentor or (group_column and (group(mentee) is None
                                                      or group(mentee) != group(mentor))):
                continue
            best = None
            for area in weak_areas[mentee]:
                strength = strong_by_mentor[mentor].get(area)
                if strength is None:
                    continue
                gap = strength.score - weak_score[(mentee, area)].score  # type: ignore[attr-defined]
                if best is None or gap > best[0]:
                    best = (gap, area)
            if best is not None:
                benefit[i, j] = big + best[0]
                chosen_area[(i, j)] = best[1]
    slots = np.repeat(benefit, config.capacity, axis=1)
    rows, cols = linear_sum_assignment(-slots)
    records = []
    for i, slot in zip(rows, cols, strict=True):
        j = slot // config.capacity
        if benefit[i, j] <= 0:
            continue
        mentee, mentor = mentees[i], mentors[j]
        area = chosen_area[(i, j)]
        w, s = weak_score[(mentee, area)], strong_by_mentor[mentor][area]
        records.append({
            "mentee": mentee, "mentor": mentor, "area": area,
            "mentee_score": float(w.score), "mentor_score": float(s.score),  # type: ignore[attr-defined]
            "gap": float(s.score - w.score),  # type: ignore[attr-defined]
            "reason": _reason(mentee, mentor, area, w, s, config.same, group(mentee)),
        })
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values(["gap", "mentee"], ascending=[False, True]).reset_index(drop=True)


def _reason(mentee: str, mentor: str, area: str, weak: object, strong: object, same: str,
            where: object) -> str:
    def describe(r: object) -> str:
        return (f"{r.score:+.2f} SD, 95% {r.low:+.2f} to {r.high:+.2f}, "  # type: ignore[attr-defined]
                f"n={r.n}")  # type: ignore[attr-defined]

    text = (f"{mentee} is credibly weak in {area} ({describe(weak)}); {mentor} is credibly "
            f"strong in {area} ({describe(strong)})")
    if same != "none":
        text += f"; same {same} ({where})"
    return text


def check_pairs(pairs: pd.DataFrame, profiles: pd.DataFrame, employees: pd.DataFrame,
                config: PairConfig) -> list[str]:
    """Constraint violations of ``pairs`` (an empty list when all hold)."""
    problems = []
    load = pairs["mentor"].value_counts()
    problems += [f"{m} has {c} mentees" for m, c in load.items() if c > config.capacity]
    flags = profiles.set_index(["agent_id", "area"])["flag"]
    people = employees.set_index("employee_id")
    column = {"site": "site", "team": "team_id"}.get(config.same)
    for r in pairs.itertuples():
        if flags.get((r.mentor, r.area)) == "weak":
            problems.append(f"{r.mentor} is weak in {r.area}")
        if column and people[column].get(r.mentee) != people[column].get(r.mentor):
            problems.append(f"{r.mentee} and {r.mentor} differ in {config.same}")
    return problems
