"""``smokejumper init`` and ``smokejumper info``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, open_workspace, print_json


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    name: Annotated[str | None, typer.Option(help="Workspace name (default: folder name).")]
    = None,
    timezone: Annotated[str, typer.Option(help="Time zone for timestamps that carry none.")]
    = "UTC",
    force: Annotated[bool, typer.Option(help="Overwrite an existing smokejumper.toml.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Create a workspace: a commented smokejumper.toml and empty stores."""
    from smokejumper.workspace import Workspace

    ws = Workspace.init(directory, name=name, timezone=timezone, force=force)
    versions = ws.upgrade()
    ws.close()
    if fmt is OutputFormat.json:
        print_json({"workspace": str(ws.root), "config": str(ws.root / "smokejumper.toml"),
                    "schema": versions})
    else:
        console.print(f"Created workspace [bold]{ws.root}[/bold]; edit "
                      f"{ws.root / 'smokejumper.toml'} to map your data.")


@app.command()
def info(fmt: FormatOption = OutputFormat.table) -> None:
    """Show the workspace: stores, schema versions and row counts."""
    from smokejumper.schema import TABLES

    ws = open_workspace()
    counts = {name: ws.analytics.row_count(name) for name in TABLES}
    data = {
        "workspace": str(ws.root),
        "name": ws.config.workspace.name,
        "analytics_store": ws.config.stores.analytics,
        "operational_store": ws.config.stores.operational,
        "schema": ws.upgrade(),
        "rows": counts,
        "dimensions": list(ws.config.analysis.dimensions),
    }
    ws.close()
    if fmt is OutputFormat.json:
        print_json(data)
        return
    console.print(f"[bold]{data['name']}[/bold]  ({data['workspace']})")
    console.print(f"analytics store:   {data['analytics_store']}")
    console.print(f"operational store: {data['operational_store']}")
    for name, count in counts.items():
        console.print(f"  {name:<13} {count:>12,} rows")
