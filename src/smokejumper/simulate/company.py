"""The demo company's staff: sites, teams, agents with a latent skill per area, attrition,
new hires, and the peer-coaching pairs planted among them.

Small (a few thousand people at most), so plain Python loops are fine here; the
per-contact work in :mod:`interactions` is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pyarrow as pa

from smokejumper.simulate import model as m

FIRST_NAMES = (
    "Priya", "Tom", "Aisha", "Jack", "Sofia", "Liam", "Fatima", "Owen", "Chloe", "Mateusz",
    "Grace", "Dev", "Hannah", "Kofi", "Ellie", "Ravi", "Megan", "Sam", "Zara", "Ben", "Nadia",
    "Callum", "Amara", "Josh", "Leah", "Marco", "Imogen", "Yusuf", "Ruby", "Daniel", "Mei",
    "Connor", "Isla", "Tariq", "Freya", "Luca", "Anya", "Ethan", "Siobhan", "Kwame",
)
NEVER = 1_000_000  # a left day that never comes
CORE_AGENTS = 3  # per team, agents who stay all year so that every week has staff


@dataclass
class Staff:
    """Teams and agents as arrays indexed by team number and agent number."""

    team_ids: list[str]
    team_kind: np.ndarray
    team_region: np.ndarray  # region code of stores and field bases; -1 for national teams
    team_site: list[str]
    team_effect: np.ndarray
    team_engagement: np.ndarray
    agent_ids: list[str]
    agent_names: list[str]
    agent_team: np.ndarray
    agent_hired_day: np.ndarray  # days from the period start (negative: hired before)
    agent_left_day: np.ndarray  # first day no longer employed (NEVER when still there)
    agent_engagement: np.ndarray
    agent_overall: np.ndarray
    agent_skill: np.ndarray  # (agents, areas)
    agent_activity: np.ndarray
    roster: np.ndarray  # (teams, max agents) agent numbers, -1 padded
    week_cdf: np.ndarray  # (teams, weeks, max agents) cumulative activity of active agents
    coach_area: np.ndarray  # area a mentee is coached in, -1 otherwise
    coach_start_day: np.ndarray
    pairs: list[dict[str, object]] = field(default_factory=list)
    employees: pa.Table | None = None

    @property
    def n_teams(self) -> int:
        return len(self.team_ids)

    @property
    def n_agents(self) -> int:
        return len(self.agent_ids)


def _site(kind: str, index_in_kind: int, region: int, per_region: int) -> str:
    city = m.REGION_CITIES[region] if region >= 0 else ""
    if kind.startswith("cc_"):
        return ("Aldport Contact Centre", "Bramwick Contact Centre",
                "Calder Bay Contact Centre")[index_in_kind % 3]
    if kind.startswith("billing"):
        return "Elmstead Billing Centre"
    if kind == "digital":
        return "Dunmere Digital Hub"
    if kind == "store":
        number = index_in_kind // len(m.REGIONS) + 1
        return f"{city} Store {number}" if per_region > 1 else f"{city} Store"
    return f"{city} Field Base"


def generate_staff(size: m.SizeSpec, rng: np.random.Generator) -> Staff:
    """Teams, agents, team leads, attrition and replacements, skills and coaching pairs."""
    team_ids: list[str] = []
    team_kind: list[int] = []
    team_region: list[int] = []
    team_site: list[str] = []
    for kind_index, count in enumerate(size.teams):
        kind = m.TEAM_KINDS[kind_index][0]
        per_region = max(1, count // len(m.REGIONS))
        for i in range(count):
            region = i % len(m.REGIONS) if kind in ("store", "field") else -1
            team_ids.append(f"T{len(team_ids) + 1:03d}")
            team_kind.append(kind_index)
            team_region.append(region)
            team_site.append(_site(kind, i, region, per_region))
    n_teams = len(team_ids)
    kinds = np.array(team_kind, dtype=np.int8)
    team_effect = (np.array(m.TEAM_KIND_EFFECT)[kinds]
                   + rng.normal(0.0, m.TEAM_EFFECT_SD, n_teams))
    team_engagement = rng.normal(m.ENGAGEMENT_MEAN, m.ENGAGEMENT_TEAM_SD, n_teams)

    # agents: an initial roster per team, leavers, and their replacements
    a_team: list[int] = []
    a_hired: list[int] = []
    a_left: list[int] = []
    a_eng: list[float] = []
    a_replacement: list[bool] = []
    leads: list[tuple[int, int, float]] = []  # team, hired day, engagement
    for t in range(n_teams):
        n_initial = int(rng.integers(size.team_size[0], size.team_size[1] + 1))
        leads.append((t, -int(rng.integers(700, 5000)),
                      float(np.clip(team_engagement[t] + rng.normal(5, 6), 5, 100))))
        for k in range(n_initial):
            tenure_days = int(np.clip(rng.lognormal(np.log(900), 0.8), 30, 9000))
            engagement = float(np.clip(team_engagement[t] + rng.normal(0, m.ENGAGEMENT_SD),
                                       5, 100))
            p_leave = 1 / (1 + np.exp(-(m.ATTRITION["intercept"] + m.ATTRITION[
                "per_engagement_point"] * (engagement - m.ENGAGEMENT_MEAN))))
            leaves = k >= CORE_AGENTS and rng.random() < p_leave
            left = int(rng.integers(14, m.N_DAYS)) if leaves else NEVER
            a_team.append(t)
            a_hired.append(-tenure_days)
            a_left.append(left)
            a_eng.append(engagement)
            a_replacement.append(False)
            if leaves:
                hired = left + int(rng.integers(14, 43))
                if hired < m.N_DAYS - 14:
                    a_team.append(t)
                    a_hired.append(hired)
                    a_left.append(NEVER)
                    a_eng.append(float(np.clip(team_engagement[t]
                                               + rng.normal(0, m.ENGAGEMENT_SD), 5, 100)))
                    a_replacement.append(True)
    agent_team = np.array(a_team, dtype=np.int32)
    n_agents = len(agent_team)
    agent_engagement = np.array(a_eng)
    agent_overall = (team_effect[agent_team]
                     + m.ENGAGEMENT_TO_SKILL * (agent_engagement - m.ENGAGEMENT_MEAN)
                     + m.REPLACEMENT_SKILL * np.array(a_replacement)
                     + rng.normal(0.0, m.SKILL_INDIVIDUAL_SD, n_agents))
    agent_skill = agent_overall[:, None] + rng.normal(0.0, m.SKILL_AREA_SD,
                                                      (n_agents, len(m.SKILL_AREAS)))
    part_time = rng.random(n_agents) < 0.2
    agent_activity = rng.lognormal(0.0, 0.45, n_agents) * np.where(part_time, 0.5, 1.0)
    agent_hired = np.array(a_hired, dtype=np.int32)
    agent_left = np.array(a_left, dtype=np.int32)

    # employee ids: per team, the lead first, then the agents in order of hiring
    order = np.lexsort((agent_hired, agent_team))
    agent_team, agent_hired, agent_left = agent_team[order], agent_hired[order], agent_left[order]
    agent_engagement, agent_overall = agent_engagement[order], agent_overall[order]
    agent_skill, agent_activity = agent_skill[order], agent_activity[order]
    agent_ids: list[str] = []
    lead_ids: list[str] = []
    number = 0
    for t in range(n_teams):
        number += 1
        lead_ids.append(f"E{number:05d}")
        for _ in range(int((agent_team == t).sum())):
            number += 1
            agent_ids.append(f"E{number:05d}")
    agent_names = [FIRST_NAMES[i] for i in rng.integers(0, len(FIRST_NAMES), n_agents)]

    roster, week_cdf = _rosters(n_teams, agent_team, agent_hired, agent_left, agent_activity)
    staff = Staff(team_ids, kinds, np.array(team_region, dtype=np.int8), team_site, team_effect,
                  team_engagement, agent_ids, agent_names, agent_team, agent_hired, agent_left,
                  agent_engagement, agent_overall, agent_skill, agent_activity, roster, week_cdf,
                  np.full(n_agents, -1, dtype=np.int8), np.full(n_agents, NEVER, dtype=np.int32))
    _plant_coaching(staff, size.coaching_pairs)
    staff.employees = _employees_table(staff, leads, lead_ids)
    return staff


def _rosters(n_teams: int, agent_team: np.ndarray, hired: np.ndarray, left: np.ndarray,
             activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per team, its agents; per team and week, the cumulative activity of those at work
    the whole week (so a contact never falls outside an agent's employment)."""
    width = int(np.bincount(agent_team, minlength=n_teams).max())
    roster = np.full((n_teams, width), -1, dtype=np.int32)
    for t in range(n_teams):
        members = np.flatnonzero(agent_team == t)
        roster[t, : len(members)] = members
    week_start = np.arange(m.N_WEEKS) * 7
    week_end = np.minimum(week_start + 7, m.N_DAYS)
    safe = np.where(roster >= 0, roster, 0)
    active = ((hired[safe][:, None, :] <= week_start[None, :, None])
              & (left[safe][:, None, :] >= week_end[None, :, None])
              & (roster >= 0)[:, None, :])
    weights = np.where(active, activity[safe][:, None, :], 0.0)
    return roster, np.cumsum(weights, axis=2)


def _plant_coaching(staff: Staff, target: int) -> None:
    """Pair agents weak in an area with strong colleagues of the same site in that area,
    weakest first, each with the strongest free mentor (deterministic given the skills)."""
    kinds = [m.TEAM_KINDS[k][0] for k in staff.team_kind]
    site_of = np.array([staff.team_site[t] for t in staff.agent_team])
    # only people employed from before the period until well after coaching starts
    eligible = (staff.agent_hired_day < 0) & (staff.agent_left_day > 250)
    candidates: list[tuple[float, int, int]] = []
    for a in np.flatnonzero(eligible):
        areas = [m.RS[r] for r in m.KIND_AREAS[kinds[staff.agent_team[a]]]]
        skills = staff.agent_skill[a, areas]
        weakest = int(np.argmin(skills))
        if skills[weakest] <= -0.8:
            candidates.append((float(skills[weakest]), int(a), areas[weakest]))
    candidates.sort()
    mentees: set[int] = set()
    load: dict[int, int] = {}
    first = m.COACHING.first_start
    for skill, mentee, area in candidates:
        if len(staff.pairs) >= target:
            break
        strong = np.flatnonzero(eligible & (site_of == site_of[mentee])
                                & (staff.agent_skill[:, area] >= 0.8))
        mentors = [int(a) for a in strong if a not in mentees
                   and load.get(int(a), 0) < m.COACHING.mentor_capacity
                   and m.REASONS[area] in m.KIND_AREAS[kinds[staff.agent_team[a]]]]
        if not mentors:
            continue
        mentor = max(mentors, key=lambda a: staff.agent_skill[a, area])
        start = first + timedelta(weeks=len(staff.pairs) % m.COACHING.stagger_weeks)
        mentees.add(mentee)
        load[mentor] = load.get(mentor, 0) + 1
        staff.coach_area[mentee] = area
        staff.coach_start_day[mentee] = (start - m.PERIOD_START).days
        staff.pairs.append({
            "mentee": staff.agent_ids[mentee], "mentor": staff.agent_ids[mentor],
            "area": m.REASONS[area], "start": start.isoformat(), "end": None,
            "site": site_of[mentee],
            "mentee_skill": round(skill, 3),
            "mentor_skill": round(float(staff.agent_skill[mentor, area]), 3),
        })


def _employees_table(staff: Staff, leads: list[tuple[int, int, float]],
                     lead_ids: list[str]) -> pa.Table:
    start_us = m.EPOCH_START_S * 1_000_000
    day_us = m.DAY_S * 1_000_000
    kinds = [m.TEAM_KINDS[k] for k in staff.team_kind]
    rows_id: list[str] = []
    rows_team: list[str] = []
    rows_site: list[str] = []
    rows_role: list[str] = []
    hired: list[int] = []
    left: list[int | None] = []
    engagement: list[float] = []
    agent = 0
    for t, team in enumerate(staff.team_ids):
        _, hired_day, lead_engagement = leads[t]
        rows_id.append(lead_ids[t])
        rows_team.append(team)
        rows_site.append(staff.team_site[t])
        rows_role.append("team_lead")
        hired.append(start_us + hired_day * day_us + 9 * 3600 * 1_000_000)
        left.append(None)
        engagement.append(round(lead_engagement, 1))
        while agent < staff.n_agents and staff.agent_team[agent] == t:
            role = kinds[t][2]
            if role == "agent" and staff.agent_hired_day[agent] < -3 * 365:
                role = "senior_agent"
            rows_id.append(staff.agent_ids[agent])
            rows_team.append(team)
            rows_site.append(staff.team_site[t])
            rows_role.append(role)
            hired.append(start_us + int(staff.agent_hired_day[agent]) * day_us
                         + 9 * 3600 * 1_000_000)
            left_day = int(staff.agent_left_day[agent])
            left.append(None if left_day >= NEVER else start_us + left_day * day_us
                        + 9 * 3600 * 1_000_000)
            engagement.append(round(float(staff.agent_engagement[agent]), 1))
            agent += 1
    return pa.table({
        "employee_id": pa.array(rows_id, pa.string()),
        "team_id": pa.array(rows_team, pa.string()),
        "site": pa.array(rows_site, pa.string()),
        "role": pa.array(rows_role, pa.string()),
        "hired_at": pa.array(hired, pa.timestamp("us")),
        "left_at": pa.array(left, pa.timestamp("us")),
        "engagement": pa.array(engagement, pa.float64()),
    })


def effective_skill(staff: Staff, agent: np.ndarray, area: np.ndarray, day: np.ndarray,
                    coached: bool = True) -> np.ndarray:
    """An agent's skill in an area on a day: latent skill, less the new-hire ramp, plus the
    coaching effect once a mentee's pair has started (``coached=False``: without it)."""
    skill = staff.agent_skill[agent, area]
    tenure = day - staff.agent_hired_day[agent]
    skill = skill - m.NEW_HIRE_RAMP["skill_gap"] * np.exp(-tenure / m.NEW_HIRE_RAMP["days"])
    if coached:
        skill = skill + m.COACHING.skill_effect * coaching_mask(staff, agent, area, day)
    return skill


def coaching_mask(staff: Staff, agent: np.ndarray, area: np.ndarray,
                  day: np.ndarray) -> np.ndarray:
    """Contacts a mentee handles in their coached area after the pair started."""
    return (staff.coach_area[agent] == area) & (day >= staff.coach_start_day[agent])
