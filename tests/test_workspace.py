"""The Workspace facade: creation, discovery and the errors a user meets first."""

from __future__ import annotations

import pytest

from smokejumper import Workspace
from smokejumper.errors import WorkspaceError
from smokejumper.schema import TABLES
from smokejumper.store.analytics_migrations import LATEST


def test_init_creates_config_and_both_stores(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "acme", name="Acme Telecom")
    assert (ws.root / "smokejumper.toml").is_file()
    assert (ws.root / "analytics.duckdb").is_file()
    assert (ws.root / "operational.db").is_file()
    assert ws.upgrade() == {"analytics": LATEST, "operational": "v0006"}
    for name in TABLES:
        assert ws.analytics.row_count(name) == 0
    ws.close()


def test_init_refuses_to_overwrite(tmp_path) -> None:
    Workspace.init(tmp_path).close()
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.init(tmp_path)
    Workspace.init(tmp_path, force=True).close()


def test_workspace_from_environment(tmp_path, monkeypatch) -> None:
    Workspace.init(tmp_path, name="From env").close()
    monkeypatch.setenv("SMOKEJUMPER_WORKSPACE", str(tmp_path))
    assert Workspace().config.workspace.name == "From env"


def test_missing_workspace_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(WorkspaceError, match="not a Smokejumper workspace"):
        Workspace(tmp_path)


def test_configured_dimensions_become_columns(tmp_path) -> None:
    ws = Workspace.init(tmp_path, dimensions=["touchpoint", "region", "store_format"])
    assert "store_format" in ws.table("responses").schema().names
    assert "store_format" in ws.table("interactions").schema().names
    assert "store_format" not in ws.table("customers").schema().names
    ws.close()
