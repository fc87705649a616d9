"""The Typer application: global options, error handling, and command registration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smokejumper.cli.common import err_console, state

app = typer.Typer(
    name="smokejumper",
    help="Smokejumper: find customer-experience smoke early, trace it to its source, and "
    "keep watching until the fire is out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", envvar="SMOKEJUMPER_WORKSPACE",
                     help="Workspace folder (default: the current folder).", show_default=False),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state.workspace = workspace
    state.debug = debug


def _register_commands() -> None:
    # Each module adds its commands to `app`; imports inside them stay lazy.
    from smokejumper.cli import (  # noqa: F401
        alerts_cmd,
        chain_cmd,
        demo_cmd,
        drivers_cmd,
        enrich_cmd,
        frontline_cmd,
        ingest_cmd,
        metrics_cmd,
        risk_cmd,
        scan_cmd,
        text_cmd,
        workspace_cmd,
    )


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: a user error is one red line and exit 1; --debug shows the traceback."""
    from smokejumper.errors import SmokejumperError

    try:
        app(args=argv, standalone_mode=False)
    except SmokejumperError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/bold red]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[bold red]aborted[/bold red]")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        # typer >= 0.29 raises its own vendored click's exceptions: recognise both by shape
        if isinstance(exc, click.exceptions.ClickException) or (
                callable(getattr(exc, "show", None))
                and isinstance(getattr(exc, "exit_code", None), int)):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
