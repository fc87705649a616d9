"""Who sees what: an agent sees their own rows and pairs, a team lead their team, an
admin everyone. Applied by the frontline service wherever data leaves it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from smokejumper.errors import FrontlineError

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["admin", "team_lead", "agent"]


@dataclass(frozen=True)
class Viewer:
    """The person asking: ``role`` with the team (team lead) or agent id (agent)."""

    role: Role = "admin"
    team_id: str | None = None
    agent_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ("admin", "team_lead", "agent"):
            raise FrontlineError(f"unknown role '{self.role}': admin, team_lead or agent")
        if self.role == "team_lead" and not self.team_id:
            raise FrontlineError("a team lead viewer needs a team_id")
        if self.role == "agent" and not self.agent_id:
            raise FrontlineError("an agent viewer needs an agent_id")

    def sees(self, agent_id: str | None, team_id: str | None) -> bool:
        """Whether this viewer may see a row about ``agent_id`` of ``team_id``.

        >>> Viewer("team_lead", team_id="T001").sees("E00002", "T001")
        True
        >>> Viewer("agent", agent_id="E00002").sees("E00003", "T001")
        False
        """
        if self.role == "admin":
            return True
        if self.role == "team_lead":
            return team_id == self.team_id
        return agent_id == self.agent_id


def visible(frame: pd.DataFrame, viewer: Viewer | None, teams: Mapping[str, str],
            agent_columns: tuple[str, ...] = ("agent_id",)) -> pd.DataFrame:
    """The rows of ``frame`` the viewer may see: a row is visible when any of its
    ``agent_columns`` names someone the viewer sees (``teams`` maps agent to team); a
    frame of teams (a ``team_id`` column and no agent column) filters on the team."""
    if viewer is None or viewer.role == "admin":
        return frame
    present = [c for c in agent_columns if c in frame.columns]
    if not present:
        if "team_id" not in frame.columns or viewer.role == "agent":
            keep = frame["team_id"] == teams.get(viewer.agent_id or "", "") \
                if "team_id" in frame.columns else frame.index < 0
        else:
            keep = frame["team_id"] == viewer.team_id
        return frame[keep].reset_index(drop=True)
    keep = None
    for column in present:
        hit = frame[column].map(lambda a: viewer.sees(a, teams.get(a))).astype(bool)
        keep = hit if keep is None else keep | hit
    return frame[keep].reset_index(drop=True)
