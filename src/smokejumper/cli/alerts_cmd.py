"""``smokejumper alerts list|show|ack|fix|close|review|notify|digest``: the alert
lifecycle, the watcher and the notifications."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, open_workspace, print_json

alerts_app = typer.Typer(help="Alerts found by `smokejumper scan --save`: list, show, "
                         "acknowledge, fix, close; watch fixed ones (review) and tell "
                         "people (notify, digest).", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

AlertId = Annotated[int, typer.Argument(help="The alert's id (see `alerts list`).")]
Note = Annotated[str | None, typer.Option("--note", "-n", help="Why (kept with the change).",
                                          show_default=False)]
Who = Annotated[str | None, typer.Option("--who", help="Who makes the change (default: "
                                         "the login name).", show_default=False)]
On = Annotated[str | None, typer.Option(
    "--on", metavar="DATE", help="The day it took effect, e.g. the day the fix went live "
    "(default: today). Watching follows the metric from this day.", show_default=False)]


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
def show_command(
    alert_id: AlertId,
    risk: Annotated[bool, typer.Option(
        "--risk", help="Also the churn risk of the alert's customers: expected lost "
        "customers and revenue at risk over the next 90 days, with intervals (fits the "
        "churn model: seconds to minutes).")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One alert with its history of state changes (and, with --risk, what it may cost)."""
    ws = open_workspace()
    try:
        record = ws.smoke.alert(alert_id)
        at_risk = ws.drivers.risk(segment=record.segment) if risk else None
    finally:
        ws.close()
    if at_risk is None:
        _show(record, fmt)
    elif fmt is not OutputFormat.table:
        print_json({**record.to_dict(), "risk": at_risk.to_dict()})
    else:
        _show(record, fmt)
        console.print(f"  churn risk (90 days): {at_risk.expected_lost_customers:.0f} "
                      f"[{at_risk.lost_customers_low:.0f}, {at_risk.lost_customers_high:.0f}] of "
                      f"{at_risk.customers} customers"
                      + (f", revenue at risk {at_risk.revenue_at_risk:,.0f} "
                         f"[{at_risk.revenue_at_risk_low:,.0f}, "
                         f"{at_risk.revenue_at_risk_high:,.0f}]"
                         if at_risk.revenue_at_risk is not None else ""), highlight=False)


def _move(alert_id: int, to_state: str, who: str | None, note: str | None,
          fmt: OutputFormat, on: str | None = None) -> None:
    from smokejumper.smoke.lifecycle import transition
    from smokejumper.smoke.service_ops import _day

    ws = open_workspace()
    try:
        record = transition(ws.operational.engine, alert_id, to_state, _who(who), note,
                            _day(on))
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
    on: On = None, fmt: FormatOption = OutputFormat.table,
) -> None:
    """Mark an alert as being fixed, or with --applied, fixed and now watched: `alerts
    review` closes it once the metric is back, or re-opens it on a relapse."""
    _move(alert_id, "watching" if applied else "fixing", who, note, fmt, on)


@alerts_app.command("close")
def close_command(alert_id: AlertId, note: Note = None, who: Who = None, on: On = None,
                  fmt: FormatOption = OutputFormat.table) -> None:
    """Close an alert by hand. A shift in the same metric and segment that starts after
    --on (default: today) re-opens it."""
    _move(alert_id, "closed", who, note, fmt, on)


@alerts_app.command("review")
def review_command(
    until: Annotated[str | None, typer.Option(
        "--until", metavar="DATE", help="Look at data before this day (default: today).",
        show_default=False)] = None,
    k: Annotated[int | None, typer.Option(
        "--k", help="Complete periods back inside the baseline's interval before closing "
        "(default: [alerts] close_after, else 3).", show_default=False)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Watch the alerts whose fix is applied: close those whose metric is back inside the
    baseline's interval for K periods, re-open relapses; lists what changed."""
    from smokejumper.smoke.service_ops import review

    ws = open_workspace()
    try:
        changed = review(ws, k, until)
    finally:
        ws.close()
    if fmt is not OutputFormat.table:
        print_json([r.to_dict() for r in changed])
        return
    if not changed:
        console.print("no watching alert changed")
    for record in changed:
        event = record.events[-1]
        console.print(f"alert {record.alert_id} → {record.state}: {event.note}",
                      highlight=False)


@alerts_app.command("notify")
def notify_command(fmt: FormatOption = OutputFormat.table) -> None:
    """Send each alert state change not sent yet through each notifier of the toml (once,
    even with other runs at once) and the daily digests that are due."""
    from smokejumper.smoke.service_ops import notify

    ws = open_workspace()
    try:
        report = notify(ws)
    finally:
        ws.close()
    if fmt is not OutputFormat.table:
        print_json(report.to_dict())
        return
    if not report.sent and not report.digests:
        console.print("no notifier sends each change; see [notifiers.*] in docs/smoke.md",
                      markup=False)
    for name, count in report.sent.items():
        line = f"{name}: {count} sent"
        if name in report.failed:
            line += f"; failing ({report.failed[name]})"
        if name in report.waiting_until:
            line += f"; next try after {report.waiting_until[name]:%Y-%m-%d %H:%M} UTC"
        console.print(line, highlight=False)
    for result in report.digests:
        console.print(f"{result.notifier}: digest for {result.day}: {result.reason}",
                      highlight=False)


@alerts_app.command("digest")
def digest_command(
    day: Annotated[str | None, typer.Option(
        "--day", metavar="DATE", help="The day to summarise (default: the day that is due, "
        "yesterday after each notifier's digest_hour).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the digest; send nothing.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The daily digest: the day's alert state changes and the alerts still open (counts
    by severity, the most severe with their numbers); sent once per day and notifier."""
    from smokejumper.smoke.notify import digest_message
    from smokejumper.smoke.service_ops import digest

    ws = open_workspace()
    try:
        result = digest(ws, day, dry_run=dry_run)
    finally:
        ws.close()
    data = result.to_dict()
    if fmt is not OutputFormat.table:
        print_json(data)
        return
    console.print(digest_message(data)["text"], highlight=False)
    for sent in result.results:
        console.print(f"{sent.notifier}: {sent.reason}", highlight=False)
