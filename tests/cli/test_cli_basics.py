"""CLI manners: --help everywhere, JSON output, one clear error line and exit 1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smokejumper.cli import main
from smokejumper.cli.app import app
from smokejumper.cli.testing import invoke as run
from smokejumper.store.analytics_migrations import LATEST


def test_init_then_info_json(tmp_path, capsys) -> None:
    code, out, _ = run(["init", str(tmp_path / "ws"), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["schema"] == {"analytics": LATEST, "operational": "v0006"}
    code, out, _ = run(["-w", str(tmp_path / "ws"), "info", "--format", "json"], capsys)
    info = json.loads(out)
    assert code == 0
    assert info["rows"] == {"interactions": 0, "responses": 0, "customers": 0,
                            "employees": 0, "outcomes": 0}


def test_user_error_is_one_red_line_and_exit_1(tmp_path, capsys) -> None:
    code, out, err = run(["-w", str(tmp_path), "info"], capsys)
    assert code == 1
    assert out == ""
    assert err.strip().count("\n") == 0
    assert err.startswith("error:") and "not a Smokejumper workspace" in err


def test_debug_shows_the_traceback(tmp_path) -> None:
    from smokejumper.errors import WorkspaceError

    with pytest.raises(WorkspaceError):
        main(["--debug", "-w", str(tmp_path), "info"])


def _command_names() -> list[str]:
    import typer.main

    group = typer.main.get_group(app)
    return sorted(group.commands)


@pytest.mark.parametrize("command", _command_names())
def test_every_command_has_help(command: str, capsys) -> None:
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    assert "Usage" in out


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from smokejumper.cli import app; "
        "heavy = [m for m in ('pandas', 'duckdb', 'ibis', 'pyspark', 'sqlalchemy', 'numpy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
