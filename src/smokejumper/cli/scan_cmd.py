"""``smokejumper scan``: find smoke (falling experience) in every segment."""

from __future__ import annotations

from typing import Annotated

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_json,
    reporter_for,
)


@app.command()
def scan(
    since: Annotated[
        str | None,
        typer.Option(help="Only alerts whose shift started on or after this date.",
                     metavar="DATE", show_default=False),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help="Metric to scan (repeat it); default: the "
                     "[alerts] metrics of the toml, else nps and csat.", metavar="METRIC",
                     show_default=False),
    ] = None,
    grain: Annotated[
        str | None,
        typer.Option("--grain", "-g", help="day, week... (default: the workspace grain).",
                     metavar="GRAIN", show_default=False),
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Store the alerts (idempotent), review the "
                           "watching ones and notify each state change once; see "
                           "`smokejumper alerts list`.")
    ] = False,
    emerging: Annotated[
        bool, typer.Option("--emerging", help="Also look for themes nobody configured that "
                           "grow in the comments of the last 4 weeks against the 13 before "
                           "(clusters named by their words).")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Scan every segment (each dimension and each pair) for drops that persist, spikes
    and slow declines, e.g. `smokejumper scan --since 2025-06-01 --format json`."""
    ws = open_workspace(reporter=reporter_for(fmt))
    try:
        alerts = ws.smoke.scan(since=since, metrics=metric or None, grain=grain)
        if emerging:
            alerts += ws.smoke.emerging()
        if save:
            from smokejumper.smoke.service_ops import notify, review

            ws.smoke.save(alerts)
            review(ws)
            notify(ws)
    finally:
        ws.close()
    if fmt is not OutputFormat.table:
        print_json([alert.summary() for alert in alerts])
        return
    from rich.table import Table

    table = Table(title=f"{len(alerts)} alert(s)")
    for column in ("severity", "metric", "segment", "start", "before", "after", "n",
                   "customers", "root cause"):
        table.add_column(column)
    for alert in alerts:
        segment = ", ".join(f"{k}={v}" for k, v in alert.segment.items())
        causes = "; ".join(", ".join(f"{k}={v}" for k, v in c["segment"].items())
                           + f" ({c['share']:.0%})" for c in alert.root_cause)
        table.add_row(alert.severity, alert.metric, segment, alert.start.isoformat(),
                      f"{alert.before.value:.1f}",
                      f"{alert.after.value:.1f} [{alert.after.low:.1f}, {alert.after.high:.1f}]",
                      str(alert.n), str(alert.customers_affected), causes)
    console.print(table)
