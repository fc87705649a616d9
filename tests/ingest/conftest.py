"""Fixtures for the ingest tests: a fresh workspace and a file writer."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import smokejumper
from smokejumper.workspace import Workspace


@pytest.fixture(scope="session")
def empty_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised workspace folder, copied for each test (init runs migrations)."""
    root = tmp_path_factory.mktemp("template") / "ws"
    smokejumper.Workspace.init(root).close()
    return root


@pytest.fixture
def ws(tmp_path: Path, empty_workspace: Path) -> Iterator[Workspace]:
    """A fresh workspace with the default (DuckDB) stores."""
    shutil.copytree(empty_workspace, tmp_path / "ws")
    workspace = smokejumper.Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (UTF-8 unless told) or bytes to a file under the test's folder."""
    folder = tmp_path / "files"
    folder.mkdir()

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


