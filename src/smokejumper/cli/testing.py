"""Run the CLI in-process from tests, the way a user runs it (like ``click.testing``)."""

from __future__ import annotations

from typing import Any


def invoke(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """Run ``smokejumper ARGV`` and return (exit code, stdout, stderr).

    ``capsys`` is pytest's capture fixture; the exit code is 0 when the command returns.
    """
    from smokejumper.cli import main

    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
