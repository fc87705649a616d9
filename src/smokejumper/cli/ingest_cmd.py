"""``smokejumper ingest``: load files into a canonical table, losing nothing."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from smokejumper.ingest import IngestSummary


class TableChoice(StrEnum):
    responses = "responses"
    interactions = "interactions"
    customers = "customers"
    employees = "employees"
    outcomes = "outcomes"


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON Lines files.",
                                                show_default=False)],
    table: Annotated[TableChoice, typer.Option("--table", "-t",
                                               help="Canonical table to load into.",
                                               show_default=False)],
    mapping: Annotated[str | None, typer.Option(
        "--mapping", "-m",
        help="Column mapping: qualtrics, zendesk, or one of \\[mappings.NAME] in "
             "smokejumper.toml. Without one, columns are matched by name.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Load files into a table. Every row ends inserted, updated, duplicate or rejected
    (with column and reason, in a rejects file you can fix and load again); one
    transaction for all the files."""
    ws = open_workspace(reporter_for(fmt))
    try:
        summary = ws.ingest(files, table.value, mapping=mapping)
    finally:
        ws.close()
    if fmt is OutputFormat.table:
        _show(summary)
    else:
        print_json(summary.to_dict())


def _show(summary: IngestSummary) -> None:
    from rich.table import Table

    grid = Table(title=f"Loaded into {summary.table} (load {summary.load_id})",
                 show_header=True, title_justify="left")
    grid.add_column("file")
    for name in ("read", "inserted", "updated", "duplicate", "rejected"):
        grid.add_column(name, justify="right")
    for f in summary.files:
        grid.add_row(Path(f.path).name, f"{f.read:,}", f"{f.inserted:,}", f"{f.updated:,}",
                     f"{f.duplicate:,}", f"{f.rejected:,}")
    if len(summary.files) > 1:
        grid.add_row("[bold]total[/bold]", f"{summary.read:,}", f"{summary.inserted:,}",
                     f"{summary.updated:,}", f"{summary.duplicate:,}", f"{summary.rejected:,}")
    console.print(grid)
    console.print(
        f"{summary.read:,} rows read = {summary.inserted:,} inserted + {summary.updated:,} "
        f"updated + {summary.duplicate:,} duplicate + {summary.rejected:,} rejected"
        f"  ({summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s)", highlight=False)
    if summary.ignored_columns:
        console.print(f"Ignored columns (not in {summary.table}): "
                      f"{', '.join(summary.ignored_columns)}", highlight=False)
    for path in summary.rejects_files:
        console.print(f"Rejected rows, with column and reason: [bold]{path}[/bold] "
                      "(fix them and load that file again)", highlight=False)
