"""build_demo end to end: workspace, Parquet files, ground truth, the store loaded through
the ordinary ingest path."""

from __future__ import annotations

import json
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from smokejumper.errors import SmokejumperError, WorkspaceError
from smokejumper.simulate import build_demo
from smokejumper.simulate import model as m
from smokejumper.simulate.generate import TABLE_NAMES
from smokejumper.workspace import Workspace


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """The small demo with few customers (same staff), for fast builds."""
    monkeypatch.setitem(m.SIZES, "small", replace(m.SIZES["small"], customers=1_500,
                                                  chunk_customers=1_500))


def test_small_demo_end_to_end(tmp_path) -> None:
    ws, summary = build_demo(tmp_path / "demo", size="small", seed=7)
    try:
        data = tmp_path / "demo" / "data"
        for table in TABLE_NAMES:
            assert ws.analytics.row_count(table) == pq.read_metadata(
                data / f"{table}.parquet").num_rows == summary.rows[table], table
        assert 45_000 <= summary.rows["responses"] <= 62_000
        truth = json.loads((tmp_path / "demo" / "ground_truth.json").read_text())
        assert len(truth["incidents"]) == 3
        assert set(truth["agents"]) >= set(
            ws.table("interactions").agent_id.execute().dropna())
        assert ws.config.analysis.dimensions == m.DIMENSIONS
        assert "billing_error" in ws.config.themes
        assert json.loads(json.dumps(summary.to_dict()))["workspace"] == str(tmp_path / "demo")
        # the dimension columns arrive in the store
        responses = ws.table("responses")
        assert responses.filter(responses.contact_reason.notnull()).count().execute() > 0
    finally:
        ws.close()


def test_an_existing_workspace_is_kept_unless_forced(tmp_path, tiny) -> None:
    Workspace.init(tmp_path / "ws").close()
    with pytest.raises(WorkspaceError, match="already exists"):
        build_demo(tmp_path / "ws")
    assert not (tmp_path / "ws" / "data").exists()


def test_force_rebuilds_from_scratch(tmp_path, tiny) -> None:
    ws, first = build_demo(tmp_path / "demo", seed=3)
    ws.close()
    (tmp_path / "demo" / "data" / "stray.parquet").write_bytes(b"old")
    ws, second = build_demo(tmp_path / "demo", seed=3, incidents=False, force=True)
    try:
        assert not (tmp_path / "demo" / "data" / "stray.parquet").exists()
        assert second.incidents == ()
        for table in TABLE_NAMES:  # replaced, not appended
            assert ws.analytics.row_count(table) == second.rows[table]
        assert second.rows["customers"] == first.rows["customers"] == 1_500
    finally:
        ws.close()


def test_unknown_size_touches_nothing(tmp_path) -> None:
    with pytest.raises(SmokejumperError, match="unknown demo size"):
        build_demo(tmp_path / "nowhere", size="enormous")
    assert not (tmp_path / "nowhere").exists()
