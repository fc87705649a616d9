"""What every command shares: the workspace option, output formats, the reporter."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from smokejumper.reporter import Progress


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class State:
    """Options given before the command (``smokejumper -w DIR --debug COMMAND``)."""

    workspace: Path | None = None
    debug: bool = False


state = State()
console = Console()
err_console = Console(stderr=True)

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table for people, json or csv for scripts."),
]


def open_workspace(reporter: Any = None) -> Any:
    """The workspace named by ``-w``, ``$SMOKEJUMPER_WORKSPACE`` or the current folder."""
    from smokejumper.workspace import Workspace

    return Workspace(state.workspace, reporter=reporter)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (nothing else goes there with --format json)."""
    sys.stdout.write(json.dumps(data, default=_json_default, indent=2, allow_nan=False) + "\n")


def jsonable_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records: NaN becomes null, timestamps ISO strings."""
    import pandas as pd

    out = frame.astype(object).where(pd.notna(frame), None)
    return [dict(row) for row in out.to_dict(orient="records")]


def print_frame(frame: Any, fmt: OutputFormat, title: str | None = None) -> None:
    """Show a DataFrame as a Rich table, JSON records or CSV."""
    if fmt is OutputFormat.json:
        print_json(jsonable_records(frame))
    elif fmt is OutputFormat.csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        from rich.table import Table

        table = Table(title=title)
        for column in frame.columns:
            table.add_column(str(column), justify="right" if frame[column].dtype.kind in "fiu"
                             else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        console.print(table)


def _cell(value: Any) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


class TerminalReporter:
    """Rich progress bars and messages on stderr (so stdout stays clean for JSON)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def progress(self, description: str,
                 total: float | None = None) -> AbstractContextManager[Progress]:
        return self._progress(description, total)

    @contextmanager
    def _progress(self, description: str, total: float | None) -> Iterator[Progress]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn()]
        with RichProgress(*columns, console=err_console, transient=True,
                          disable=self.quiet or not err_console.is_terminal) as progress:
            task = progress.add_task(description, total=total)
            yield _RichProgress(progress, task)

    def info(self, message: str) -> None:
        if not self.quiet:
            err_console.print(message)

    def warn(self, message: str) -> None:
        err_console.print(f"[yellow]warning:[/yellow] {message}")


def reporter_for(fmt: OutputFormat) -> TerminalReporter:
    """Progress bars go to stderr for every format; messages are quiet for scripts."""
    return TerminalReporter(quiet=fmt is not OutputFormat.table)
