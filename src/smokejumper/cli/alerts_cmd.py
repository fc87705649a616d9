"""``smokejumper alerts list|show|ack|fix|close``: the alert lifecycle."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, open_workspace, print_json

alerts_app = typer.Typer(help="Alerts found by `smokejumper scan --save`: list, show, "
                         "acknowledge, fix, close.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

AlertId = Annotated[int, typer.Argument(help="The alert's id (see `alerts list`).")]
Note = Annotated[str | None, typer.Option("--note", "-n", help="Why (kept with the change).",
                                          show_default=False)]
Who = Annotated[str | None, typer.Option("--who", help="Who makes the change (default: "
                                         "the login name).", show_default=False)]


def _who(who: str | None) -> str:
    return who or getpass.getuser()


def _show(record: Any, fmt: OutputFormat) -> None:
    if fmt is not OutputFormat.table:
        print_json(record.to_dict())
        return
    finding = record.finding
    segment = ", ".join(f"{k}={v}" for k, v in record.segment.items())
    console.print(f"[bold]alert {record.alert_id}[/bold] {record.state} · {record.severity} · "
                  f"{record.metric} in {segment} from {finding.get('start')}: "
                  f"{finding['before']['value']:.1f} → {finding['after']['value']:.1f}",
                  highlight=False)
    for event in record.events:
        console.print(f"  {event.at:%Y-%m-%d %H:%M} {event.who}: {event.from_state or '-'} → "
                      f"{event.to_state}" + (f" ({event.note})" if event.note else ""),
                      highlight=False)


@alerts_app.command("list")
def list_command(
    state: Annotated[list[str] | None, typer.Option(
        "--state", "-s", help="Only alerts in this state (repeat for several).",
        show_default=False)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Stored alerts, newest first."""
    ws = open_workspace()
    try:
        records = ws.smoke.alerts(state or None)
    finally:
        ws.close()
    if fmt is not OutputFormat.table:
        print_json([r.to_dict() for r in records])
        return
    from rich.table import Table

    table = Table(title=f"{len(records)} alert(s)")
    for column in ("id", "state", "severity", "metric", "segment", "start"):
        table.add_column(column)
    for r in records:
        table.add_row(str(r.alert_id), r.state, r.severity, r.metric,
                      ", ".join(f"{k}={v}" for k, v in r.segment.items()),
                      str(r.finding.get("start")))
    console.print(table)


@alerts_app.command("show")
def show_command(alert_id: AlertId, fmt: FormatOption = OutputFormat.table) -> None:
    """One alert with its history of state changes."""
    ws = open_workspace()
    try:
        record = ws.smoke.alert(alert_id)
    finally:
        ws.close()
    _show(record, fmt)


def _move(alert_id: int, to_state: str, who: str | None, note: str | None,
          fmt: OutputFormat) -> None:
    ws = open_workspace()
    try:
        record = ws.smoke.move(alert_id, to_state, _who(who), note)
    finally:
        ws.close()
    _show(record, fmt)


@alerts_app.command("ack")
def ack_command(alert_id: AlertId, note: Note = None, who: Who = None,
                fmt: FormatOption = OutputFormat.table) -> None:
    """Acknowledge an alert: someone is on it."""
    _move(alert_id, "acknowledged", who, note, fmt)


@alerts_app.command("fix")
def fix_command(
    alert_id: AlertId, note: Note = None, who: Who = None,
    applied: Annotated[bool, typer.Option(
        "--applied", help="The fix is in: watch the metric until it is back.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Mark an alert as being fixed, or with --applied, fixed and now watched."""
    _move(alert_id, "watching" if applied else "fixing", who, note, fmt)


@alerts_app.command("close")
def close_command(alert_id: AlertId, note: Note = None, who: Who = None,
                  fmt: FormatOption = OutputFormat.table) -> None:
    """Close an alert by hand."""
    _move(alert_id, "closed", who, note, fmt)
