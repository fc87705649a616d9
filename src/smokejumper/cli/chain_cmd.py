"""``smokejumper chain`` and ``smokejumper bright-spots``: the service profit chain, and what
the delighted customers and the best teams have that the others lack."""

from __future__ import annotations

from typing import Annotated

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, open_workspace, print_frame

#: link columns shown to people; scripts get every column
CHAIN_COLUMNS = ["from", "to", "lag", "estimate", "low", "high", "unit", "estimator",
                 "n_teams", "n_obs", "within_share"]
CONTRAST_COLUMNS = ["rank", "fact", "value", "delighted", "negative", "difference", "low",
                    "high", "effect", "effect_low", "effect_high", "n"]
DEVIANT_COLUMNS = ["rank", "unit", "n", "nps", "expected", "deviance", "shrunk", "shrunk_low",
                   "shrunk_high"]


@app.command("chain")
def chain(
    grain: Annotated[str, typer.Option(
        "--grain", "-g", help="Period of the team panel: week, month or quarter.")] = "month",
    churn_window: Annotated[int, typer.Option(
        "--churn-window", help="Days after a contact in which a churn counts.")] = 90,
    no_adjust: Annotated[bool, typer.Option(
        "--no-adjust", help="Use raw team measures instead of adjusting them for the mix of "
        "touchpoints, channels, contact reasons and segments.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The service profit chain: how staff engagement, first-contact resolution, NPS and
    churn move together across teams and months. Each link is a slope with a 95% interval
    (team fixed effects, or between teams when the upstream measure hardly changes within
    a team); links the data cannot support are listed with the reason."""
    from smokejumper.cli.common import console, jsonable_records, print_json, reporter_for

    ws = open_workspace(reporter_for(fmt))
    try:
        result = ws.drivers.chain(grain=grain, churn_window_days=churn_window,
                                  adjust=not no_adjust)
    finally:
        ws.close()
    if fmt is OutputFormat.json:
        data = result.to_dict()
        data["links"] = jsonable_records(result.links)
        print_json(data)
        return
    if fmt is OutputFormat.csv:
        print_frame(result.links, fmt)
        return
    console.print(result.draw(), highlight=False, soft_wrap=True)
    print_frame(result.links[CHAIN_COLUMNS], fmt, title="Links of the service profit chain")
    for row in result.links.itertuples(index=False):
        console.print(f"[dim]{row[0]} → {row[1]}: {row.reason}[/dim]", highlight=False)
    for item in result.missing:
        console.print(f"[yellow]not estimated[/yellow] {item['from']} → {item['to']}: "
                      f"{item['why']}", highlight=False)
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)


@app.command("bright-spots")
def bright_spots(
    level: Annotated[str, typer.Option(
        "--level", "-l", help="Units compared for positive deviance: team, agent, site or "
        "region.")] = "team",
    min_n: Annotated[int, typer.Option(
        "--min-n", help="Leave out facts and units with fewer responses than this.")] = 30,
    top: Annotated[int, typer.Option(
        "--top", help="How many top units to profile (FCR, repeats, handle time).")] = 5,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Learn from the delighted: what separates customers who give 10 from detractors
    (touchpoints, reasons, teams, agents, themes, resolution, effort, handle time, as effect
    sizes with intervals), and which teams beat the NPS their mix of customers and contacts
    predicts, with what they do differently."""
    from smokejumper.cli.common import console, jsonable_records, print_json, reporter_for

    ws = open_workspace(reporter_for(fmt))
    try:
        facts = ws.drivers.bright_spots(min_n=min_n)
        deviants = ws.drivers.deviants(level=level, min_n=min_n, top=top)
    finally:
        ws.close()
    if fmt is OutputFormat.json:
        print_json({"contrast": jsonable_records(facts),
                    "delighted": facts.attrs["delighted"], "negative": facts.attrs["negative"],
                    "n_delighted": facts.attrs["n_delighted"],
                    "n_negative": facts.attrs["n_negative"],
                    "deviants": jsonable_records(deviants), "level": level,
                    "mix": deviants.attrs["mix"], "profiles": deviants.attrs["profiles"]})
        return
    if fmt is OutputFormat.csv:
        print_frame(facts, fmt)
        return
    print_frame(facts[CONTRAST_COLUMNS].head(25), fmt,
                title=f"Delighted ({facts.attrs['n_delighted']:,}) against negative "
                      f"({facts.attrs['n_negative']:,}) customers")
    print_frame(deviants[DEVIANT_COLUMNS], fmt,
                title=f"Positive deviants by {level}: NPS against what the mix predicts")
    for profile in deviants.attrs["profiles"]:
        parts = [f"{name} {v['difference']:+.2f} [{v['low']:.2f}, {v['high']:.2f}]"
                 for name, v in profile.items() if isinstance(v, dict)]
        console.print(f"{profile['unit']} against same-mix peers: " + "; ".join(parts),
                      highlight=False)
