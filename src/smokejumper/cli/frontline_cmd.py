"""``smokejumper frontline``: fair rankings, skill profiles, coaching pairs and their effect."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_frame,
    print_json,
)

frontline_app = typer.Typer(help="Fair rankings, skill profiles and peer-coaching pairs.",
                            no_args_is_help=True)
app.add_typer(frontline_app, name="frontline")

RoleOption = Annotated[str | None, typer.Option(
    "--as", help="See as a viewer: admin, team_lead:TEAM or agent:AGENT.", metavar="ROLE",
    show_default=False)]
MeasureOption = Annotated[str, typer.Option(
    "--measure", "-m", help="nps, csat, fcr, aht, repeats, conversation (the transcripts' "
    "conversation score, after `smokejumper enrich --source interactions`) or composite.")]
MinNOption = Annotated[int, typer.Option("--min-n", help="Below this n nobody is ranked.")]


def _viewer(text: str | None) -> Any:
    from smokejumper.frontline import Viewer

    if not text:
        return None
    role, _, who = text.partition(":")
    if role == "team_lead":
        return Viewer("team_lead", team_id=who or None)
    if role == "agent":
        return Viewer("agent", agent_id=who or None)
    return Viewer(role)  # type: ignore[arg-type]


def _config(measure: str, min_n: int) -> Any:
    from smokejumper.frontline import RankConfig

    return RankConfig(measure=measure, min_n=min_n)


@frontline_app.command("rank")
def rank(
    measure: MeasureOption = "composite",
    level: Annotated[str, typer.Option("--level", help="agent or team.")] = "agent",
    min_n: MinNOption = 30,
    viewer: RoleOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Rank agents or teams, adjusted for case mix and shrunk for small samples, each with
    an interval and a group (top, middle, bottom, insufficient)."""
    ws = open_workspace()
    try:
        frame = ws.frontline.rank(_config(measure, min_n), level=level,
                                  viewer=_viewer(viewer))
    finally:
        ws.close()
    unit = "agent_id" if level == "agent" else "team_id"
    columns = [unit, "team_id", "score", "low", "high", "rank", "group"] if unit == "agent_id" \
        else [unit, "score", "low", "high", "rank", "group"]
    if fmt is OutputFormat.json:
        print_frame(frame[columns], fmt)
    else:
        print_frame(frame[[*columns[:-1], "rank_low", "rank_high", "n", "group"]], fmt,
                    title=f"Ranking on {measure}")


@frontline_app.command("profiles")
def profiles(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent.",
                                              show_default=False)] = None,
    measure: MeasureOption = "composite",
    viewer: RoleOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Skill profile per agent and contact reason: shrunk score, interval, strong/weak."""
    ws = open_workspace()
    try:
        frame = ws.frontline.profiles(_config(measure, 30), agent_id=agent,
                                      viewer=_viewer(viewer))
    finally:
        ws.close()
    print_frame(frame, fmt, title="Skill profiles (agent standard deviations)")


@frontline_app.command("pairs")
def pairs(
    same: Annotated[str, typer.Option("--same", help="Mentor and mentee share a site, "
                                      "team, or none.")] = "site",
    capacity: Annotated[int, typer.Option("--capacity", "-k",
                                          help="Most mentees per mentor.")] = 2,
    viewer: RoleOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Propose peer-coaching pairs: credibly weak in an area with credibly strong in it."""
    from smokejumper.frontline import PairConfig

    ws = open_workspace()
    try:
        frame = ws.frontline.pairs(PairConfig(same=same, capacity=capacity),  # type: ignore[arg-type]
                                   viewer=_viewer(viewer))
    finally:
        ws.close()
    if fmt is OutputFormat.json:
        print_frame(frame[["mentee", "mentor", "area", "reason"]], fmt)
    else:
        print_frame(frame, fmt, title="Peer-coaching pairs")


@frontline_app.command("record-pair")
def record_pair(
    mentee: Annotated[str, typer.Argument(help="Agent who is coached.")],
    mentor: Annotated[str, typer.Argument(help="Agent who coaches.")],
    area: Annotated[str, typer.Argument(help="Area, e.g. a contact reason.")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    end: Annotated[str | None, typer.Option("--end", help="Last day, excluded.",
                                            show_default=False)] = None,
    by: Annotated[str, typer.Option("--by", help="Who records it.")] = "cli",
    note: Annotated[str | None, typer.Option("--note", show_default=False)] = None,
    viewer: RoleOption = None,
) -> None:
    """Record a coaching pair in the operational store (start and optional end date)."""
    ws = open_workspace()
    try:
        pair_id = ws.frontline.record_pair(mentee, mentor, area, start, end=end,
                                           created_by=by, note=note, viewer=_viewer(viewer))
    finally:
        ws.close()
    console.print(f"recorded pair {pair_id}: {mentor} coaches {mentee} in {area} from {start}")


@frontline_app.command("effect")
def effect(
    measure: MeasureOption = "nps",
    viewer: RoleOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Did coaching work? Difference in differences of recorded pairs against unpaired
    agents in the same area, overall, per area and per pair, with intervals."""
    ws = open_workspace()
    try:
        frame = ws.frontline.coaching_effect(measure, viewer=_viewer(viewer))
    finally:
        ws.close()
    if fmt is OutputFormat.json:
        from smokejumper.cli.common import jsonable_records

        print_json(jsonable_records(frame))
    else:
        print_frame(frame, fmt, title=f"Coaching effect on {measure}")
