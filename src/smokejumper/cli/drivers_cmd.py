"""``smokejumper drivers``: what moves NPS, detractors, CSAT or effort on this workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, open_workspace, print_frame

#: columns shown to scripts (json, csv); the table view adds rank and sign
COLUMNS = ["driver", "importance", "share", "low", "high", "rank", "sign", "performance",
           "quadrant"]


@app.command("drivers")
def drivers(
    outcome: Annotated[str, typer.Option(
        "--outcome", "-o", help="nps, detractor (nps <= 6, logistic), csat or ces.")] = "nps",
    driver: Annotated[list[str] | None, typer.Option(
        "--driver", "-d", help="A driver to analyse (repeatable; default: every candidate "
        "with enough values).", show_default=False)] = None,
    method: Annotated[str, typer.Option(
        "--method", "-m", help="shapley or relative_weights.")] = "shapley",
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", "-b", help="Bootstrap replicates for the intervals (0: none).")] = 200,
    filters: Annotated[list[str] | None, typer.Option(
        "--filter", help="Keep responses where COLUMN=VALUE (or COLUMN=V1,V2); repeatable.",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and sampling.")] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Key drivers of an outcome: share of explained variance with intervals, and the
    importance x performance quadrant (fix first, protect, maintain, lower priority)."""
    from smokejumper.cli.common import reporter_for
    from smokejumper.cli.metrics_cmd import parse_filters

    ws = open_workspace(reporter_for(fmt))
    try:
        frame = ws.drivers.analyse(outcome, driver or None, method=method, bootstrap=bootstrap,
                                   filters=parse_filters(filters or []), seed=seed)
    finally:
        ws.close()
    attrs = frame.attrs
    title = (f"Key drivers of {outcome} ({attrs['method']}, R² {attrs['r2']:.3f}, "
             f"n {attrs['n']:,}{', sampled' if attrs['sampled'] else ''})")
    print_frame(frame[COLUMNS], fmt, title=title)
