"""``smokejumper metrics``: metrics with their intervals, by dimensions and period."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import (
    FormatOption,
    OutputFormat,
    open_workspace,
    print_frame,
    print_json,
)
from smokejumper.errors import MetricError


def parse_filters(items: list[str]) -> dict[str, Any]:
    """``["touchpoint=web,app", "resolved=true"]`` → ``{"touchpoint": ["web", "app"],
    "resolved": "true"}``; the engine converts values to each column's type."""
    filters: dict[str, list[str]] = {}
    for item in items:
        column, sep, value = item.partition("=")
        column = column.strip()
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not sep or not column or not values:
            raise MetricError(f"--filter {item!r}: write COLUMN=VALUE or COLUMN=V1,V2")
        filters.setdefault(column, []).extend(values)
    return {c: v[0] if len(v) == 1 else v for c, v in filters.items()}


def _split(items: list[str] | None) -> list[str]:
    return [part.strip() for item in items or [] for part in item.split(",") if part.strip()]


@app.command()
def metrics(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Metrics to compute, e.g. nps csat aht (see --list).",
                       metavar="METRIC...", show_default=False),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", "-b", help="Dimension to split by; repeat it or separate with "
                     "commas: --by touchpoint,team_id.", metavar="DIMENSION",
                     show_default=False),
    ] = None,
    grain: Annotated[
        str | None,
        typer.Option("--grain", "-g", help="Split by time: day, week (from Monday), month, "
                     "quarter or year.", metavar="GRAIN", show_default=False),
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="Keep rows where COLUMN=VALUE (or COLUMN=V1,V2); "
                     "repeat for several columns.", metavar="COLUMN=VALUE",
                     show_default=False),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="From this date or time, included (e.g. 2025-01-01).",
                     metavar="DATE", show_default=False),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Up to this date or time, excluded.", metavar="DATE",
                     show_default=False),
    ] = None,
    show_list: Annotated[
        bool, typer.Option("--list", help="Show the metric definitions and exit.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Compute metrics with n and a 95% interval (NPS multinomial, shares Wilson, means t),
    e.g. `smokejumper metrics nps csat --by touchpoint --grain month`."""
    ws = open_workspace()
    try:
        if show_list:
            _print_definitions(ws, fmt)
            return
        dimensions = _split(by)
        frame = ws.metrics.compute(list(names or []), by=dimensions, grain=grain,
                                   filters=parse_filters(filters or []), start=start, end=end)
    finally:
        ws.close()
    split = f" by {', '.join(dimensions)}" if dimensions else ""
    per = f" per {grain}" if grain else ""
    print_frame(frame, fmt, title=f"{', '.join(dict.fromkeys(names or []))}{split}{per}")


def _print_definitions(ws: Any, fmt: OutputFormat) -> None:
    import pandas as pd

    definitions = [d.to_dict() for d in ws.metrics.definitions().values()]
    if fmt is OutputFormat.json:
        print_json(definitions)
        return
    columns = ["name", "kind", "table", "label", "interval", "description"]
    print_frame(pd.DataFrame(definitions)[columns], fmt, title="Metrics")
