"""``ws.frontline``: ranking, profiles, pairs and coaching outcomes of one workspace, with
coaching pairs kept in the operational store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from smokejumper.errors import FrontlineError
from smokejumper.frontline.measures import RankConfig
from smokejumper.frontline.pairs import PairConfig
from smokejumper.frontline.viewer import Viewer, visible

if TYPE_CHECKING:
    import pandas as pd

    from smokejumper.workspace import Workspace


class Frontline:
    """Frontline analyses over a workspace's tables; every public method takes an
    optional :class:`Viewer` and returns only what that viewer may see."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def _tables(self) -> dict[str, Any]:
        # enriched_interactions: interactions with their transcript's conversation score
        return {name: self.workspace.table(name)
                for name in ("responses", "interactions", "enriched_interactions")}

    @cached_property
    def employees(self) -> pd.DataFrame:
        """employee_id, team_id and site of every staff member."""
        table = self.workspace.table("employees")
        return table.select("employee_id", "team_id", "site").to_pandas()

    @cached_property
    def teams(self) -> dict[str, str]:
        frame = self.employees.dropna(subset=["team_id"])
        return dict(zip(frame["employee_id"], frame["team_id"], strict=True))

    def rank(self, config: RankConfig | None = None, *, level: str = "agent",
             viewer: Viewer | None = None) -> pd.DataFrame:
        """Agents (or teams, ``level="team"``) ranked fairly, with intervals and groups."""
        from smokejumper.frontline.ranking import rank_tables

        if level not in ("agent", "team"):
            raise FrontlineError(f"level must be agent or team, not '{level}'")
        unit = "agent_id" if level == "agent" else "team_id"
        frame = rank_tables(self._tables(), config, unit)
        if level == "agent":
            frame.insert(1, "team_id", frame["agent_id"].map(self.teams))
        return visible(frame, viewer, self.teams)

    def profiles(self, config: RankConfig | None = None, *, area: str = "contact_reason",
                 agent_id: str | None = None, viewer: Viewer | None = None) -> pd.DataFrame:
        """Skill profile rows (agent, area, score, interval, flag)."""
        from smokejumper.frontline.profiles import profile_tables

        frame = profile_tables(self._tables(), config, area)
        if agent_id is not None:
            frame = frame[frame["agent_id"] == agent_id].reset_index(drop=True)
        return visible(frame, viewer, self.teams)

    def pairs(self, config: PairConfig | None = None, rank_config: RankConfig | None = None,
              *, viewer: Viewer | None = None) -> pd.DataFrame:
        """Proposed peer-coaching pairs with reasons."""
        from smokejumper.frontline.pairs import propose_pairs

        frame = propose_pairs(self.profiles(rank_config), self.employees, config)
        return visible(frame, viewer, self.teams, ("mentee", "mentor"))

    def record_pair(self, mentee: str, mentor: str, area: str, start: date | str, *,
                    end: date | str | None = None, created_by: str = "cli",
                    note: str | None = None, viewer: Viewer | None = None) -> int:
        """Store a coaching pair (a team lead records pairs of their team); its id."""
        from smokejumper.store.models import coaching_pairs

        if mentee == mentor:
            raise FrontlineError("a mentee cannot coach themselves")
        if viewer is not None and viewer.role == "agent":
            raise FrontlineError("an agent cannot record coaching pairs")
        if viewer is not None and viewer.role == "team_lead" and \
                self.teams.get(mentee) != viewer.team_id:
            raise FrontlineError(f"{mentee} is not in team {viewer.team_id}")
        start_day, end_day = _day(start), _day(end) if end else None
        if end_day is not None and end_day <= start_day:
            raise FrontlineError("a pair must end after it starts")
        with self.workspace.operational.engine.begin() as connection:
            result = connection.execute(coaching_pairs.insert().values(
                mentee=mentee, mentor=mentor, area=area, start=start_day, end=end_day,
                created_by=created_by, created_at=datetime.now(UTC).replace(tzinfo=None),
                note=note))
            key = result.inserted_primary_key
            assert key is not None  # an insert into a table with a primary key
            return int(key[0])

    def recorded_pairs(self, *, viewer: Viewer | None = None) -> pd.DataFrame:
        """Coaching pairs kept in the operational store."""
        import pandas as pd

        from smokejumper.store.models import coaching_pairs

        with self.workspace.operational.engine.connect() as connection:
            rows = connection.execute(coaching_pairs.select().order_by(
                coaching_pairs.c.pair_id)).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows],
                             columns=[c.name for c in coaching_pairs.columns])
        return visible(frame, viewer, self.teams, ("mentee", "mentor"))

    def coaching_effect(self, measure: str = "nps", *, area: str = "contact_reason",
                        case_mix: tuple[str, ...] = ("channel", "segment"),
                        viewer: Viewer | None = None) -> pd.DataFrame:
        """Difference in differences for the recorded pairs: overall, per area, per pair."""
        from smokejumper.frontline.outcome import difference_in_differences, weekly_statistics

        pairs = self.recorded_pairs()
        if pairs.empty:
            raise FrontlineError("no coaching pairs recorded yet (smokejumper frontline "
                                 "record-pair)")
        weekly = weekly_statistics(self._tables(), measure, area, case_mix)
        frame = difference_in_differences(weekly, pairs, measure, area, case_mix)
        if viewer is None or viewer.role == "admin":
            return frame
        per_pair = frame[frame["scope"] == "pair"]
        return visible(per_pair, viewer, self.teams, ("mentee",))


def _day(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise FrontlineError(f"not a date: {value!r} (write YYYY-MM-DD)") from None
