"""``smokejumper demo``: build a workspace for the demo company and say what is in it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, print_json, reporter_for

if TYPE_CHECKING:
    from smokejumper.simulate import DemoSummary


class DemoSize(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", "-d", help="Folder for the demo workspace.")]
    = Path("demo"),
    size: Annotated[DemoSize, typer.Option(
        help="small ≈ 50k responses (seconds), medium ≈ 1M, large ≈ 10M (benchmarks).")]
    = DemoSize.small,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    incidents: Annotated[bool, typer.Option(
        "--incidents/--no-incidents", help="Plant incidents (falling scores) to be found.")]
    = True,
    force: Annotated[bool, typer.Option(help="Rebuild the demo over an existing workspace.")]
    = False,
    enrich: Annotated[bool, typer.Option(
        "--enrich/--no-enrich", help="Read the comments and transcripts (redaction, "
        "sentiment, themes, conversation quality) with the fast lexicon and keyword models, "
        "so that the scan also watches each theme's share of the comments.")] = True,
    scan: Annotated[bool, typer.Option(
        "--scan/--no-scan", help="Scan the new workspace for smoke and show what it found.")]
    = True,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Build the demo company (a telecom with planted truths) into a workspace, load it,
    read what its customers wrote, and scan it for smoke."""
    from smokejumper.simulate import build_demo

    reporter = reporter_for(fmt)
    ws, summary = build_demo(directory, size=size.value, seed=seed, incidents=incidents,
                             force=force, reporter=reporter)
    if enrich:
        ws.text.enrich(source="all", model="vader", themes="keywords")
    alerts = []
    if scan:
        with reporter.progress("Scanning for smoke"):
            alerts = ws.smoke.scan()
    ws.close()
    if fmt is OutputFormat.table:
        _print_summary(summary)
        if scan:
            _print_alerts(alerts, directory)
    else:
        data = summary.to_dict()
        if scan:
            data["smoke"] = [alert.summary() for alert in alerts]
        print_json(data)


def _segment_text(segment: dict[str, str]) -> str:
    return " × ".join(f"{k}={v}" for k, v in segment.items()) or "everything"


def _print_alerts(alerts: list[Any], directory: Path) -> None:
    """What the scan found, each incident with its source (compare with the planted ones):
    alerts of severity medium or more; the low ones are counted."""
    from rich.table import Table

    shown = [a for a in alerts if a.severity != "low"]
    if not shown:
        console.print("Smoke found: none of severity medium or more.")
        return
    table = Table(title="Smoke found (smokejumper scan)", title_justify="left")
    for column in ("metric", "segment", "start", "change", "severity", "source"):
        table.add_column(column, overflow="fold", no_wrap=column in ("start", "severity"))
    for alert in shown:
        causes = [c for c in alert.root_cause[:3] if c["segment"] != alert.segment]
        source = "; ".join(f"{_segment_text(c['segment'])} ({c['share']:.0%})"
                           for c in causes) or "the whole segment"
        table.add_row(alert.metric.replace("_", " "), _segment_text(alert.segment),
                      str(alert.start), f"{alert.before.value:.1f} → {alert.after.value:.1f}",
                      str(alert.severity), source)
    console.print(table)
    low = len(alerts) - len(shown)
    if low:
        console.print(f"and {low} alert(s) of low severity: smokejumper -w {directory} scan",
                      highlight=False)


def _print_summary(s: DemoSummary) -> None:
    from rich.table import Table

    console.print(f"[bold]{s.name}[/bold] — {s.size} demo, seed {s.seed}, "
                  f"{s.period_start} to {s.period_end}")
    console.print(f"workspace     {s.workspace}")
    console.print(f"data          {s.data_dir}")
    console.print(f"ground truth  {s.ground_truth}")
    console.print(f"{len(s.touchpoints)} touchpoints ({', '.join(s.touchpoints)}), "
                  f"{len(s.regions)} regions, {len(s.segments)} segments, "
                  f"{s.teams} teams of {s.agents} agents at {s.sites} sites")
    rows = Table(title="Rows loaded", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for table, count in s.rows.items():
        rows.add_row(table, f"{count:,}")
    console.print(rows)
    if s.incidents:
        incidents = Table(title="Incidents planted (find them!)", title_justify="left")
        incidents.add_column("segment", overflow="fold")
        for column in ("theme", "start", "end"):
            incidents.add_column(column, no_wrap=True)
        incidents.add_column("NPS effect", justify="right", no_wrap=True)
        for incident in s.incidents:
            segment = "\n".join(f"{k}={v}" for k, v in incident["segment"].items())
            incidents.add_row(segment, incident["theme"], incident["start"],
                              incident["end"] or "ongoing", f"{incident['effect']:+.1f}")
        console.print(incidents)
    else:
        console.print("No incidents planted (--no-incidents).")
    console.print(f"Built in {s.seconds['total']:.1f} s "
                  f"(generate {s.seconds['generate']:.1f} s, load {s.seconds['load']:.1f} s). "
                  "Try next:")
    for command in s.next_commands:
        console.print(f"  {command}", highlight=False, soft_wrap=True)
