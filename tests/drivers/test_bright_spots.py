"""Bright spots: effect-size maths, the planted team effects of the demo, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from smokejumper.cli.testing import invoke
from smokejumper.drivers.bright_spots import hedges_g, share_difference
from smokejumper.workspace import Workspace


def test_share_difference_and_hedges_g_by_hand() -> None:
    diff, low, high, h, h_low, h_high = share_difference(30, 120, 10, 80)
    se = np.sqrt(0.25 * 0.75 / 120 + 0.125 * 0.875 / 80)
    assert diff == pytest.approx(0.125)
    assert (low, high) == pytest.approx((0.125 - 1.959964 * se, 0.125 + 1.959964 * se))
    assert h == pytest.approx(2 * np.arcsin(np.sqrt(0.25)) - 2 * np.arcsin(np.sqrt(0.125)))
    assert h_high - h_low == pytest.approx(2 * 1.959964 * np.sqrt(1 / 120 + 1 / 80))
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 2.0, 40), rng.normal(0.0, 2.0, 60)
    g, g_low, g_high = hedges_g(a.mean(), a.var(ddof=1), 40, b.mean(), b.var(ddof=1), 60)
    pooled = np.sqrt((39 * a.var(ddof=1) + 59 * b.var(ddof=1)) / 98)
    assert g == pytest.approx((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * 100 - 9)))
    assert g_low < g < g_high


@pytest.fixture(scope="module")
def demo_results(small_demo_path: Path):
    ws = Workspace(small_demo_path)
    try:
        facts = ws.drivers.bright_spots()
        deviants = ws.drivers.deviants(level="team")
    finally:
        ws.close()
    truth = json.loads((small_demo_path / "ground_truth.json").read_text())["linkage"]["teams"]
    return facts, deviants, truth


def test_the_delighted_differ_by_resolution_and_effort(demo_results) -> None:
    facts, _, _ = demo_results
    top = facts.head(3).set_index("fact")
    # the two strongest planted drivers come first: resolution (+) and effort (CES, -)
    assert {"resolved", "ces"} <= set(top.index)
    assert top.loc["resolved", "effect_low"] > 1.0 and top.loc["ces", "effect_high"] < 0
    assert (facts["n"] >= 30).all() and facts["rank"].tolist() == list(range(1, len(facts) + 1))
    assert {"touchpoint", "contact_reason", "team_id", "agent_id"} <= set(facts["fact"])


def test_positive_deviants_follow_the_planted_team_effects(demo_results) -> None:
    _, deviants, truth = demo_results
    rho = spearmanr(deviants["shrunk"], [truth[u]["team_effect"] for u in deviants["unit"]])[0]
    assert rho >= 0.4  # measured 0.57 on the small demo (20 teams), 0.61 on medium (74)
    assert (deviants["shrunk_low"] <= deviants["shrunk"]).all()
    assert (deviants["shrunk"].abs() <= deviants["deviance"].abs() + 1e-9).all()
    profile = deviants.attrs["profiles"][0]
    assert profile["unit"] == deviants["unit"].iloc[0]
    assert {"fcr", "repeat_rate", "handle_time_min"} <= set(profile)


def test_bright_spots_cli_json(small_demo_path: Path, capsys) -> None:
    code, out, err = invoke(["-w", str(small_demo_path), "bright-spots", "--format", "json",
                             "--top", "2"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"contrast", "deviants", "profiles", "level", "mix", "n_delighted",
                         "n_negative"}
    assert set(data["contrast"][0]) >= {"fact", "value", "difference", "low", "high",
                                        "effect", "effect_low", "effect_high", "n", "rank"}
    assert len(data["profiles"]) == 2


def test_themes_come_from_each_comment_s_latest_enrichment(small_demo_copy: Path) -> None:
    """A theme an older model version found, and the newest one did not, is not a fact."""
    import ibis
    import pandas as pd

    with Workspace(small_demo_copy) as ws:
        responses = ws.table("responses")
        delighted = responses.filter(responses.nps == 10).select("response_id").to_pandas()
        backend = ws.analytics.backend

        def enriched(version: str, day: str, themes: bool) -> None:
            at = pd.Timestamp(day)
            rows = pd.DataFrame({"text_id": delighted.response_id, "source_table": "responses",
                                 "text_hash": "h", "model_version": version, "enriched_at": at,
                                 "redacted_text": "x", "sentiment": 0.0,
                                 "sentiment_label": "neutral", "conversation_score": None,
                                 "details": "{}"})
            schema = backend.table("enrichments").schema()
            backend.insert("enrichments", ibis.memtable(rows, schema=schema))
            if themes:
                tags = rows[["text_id", "source_table", "text_hash", "model_version"]].assign(
                    theme="ghost", confidence=1.0, sentiment=0.0)
                schema = backend.table("enrichment_themes").schema()
                backend.insert("enrichment_themes",
                               ibis.memtable(tags[list(schema.names)], schema=schema))

        enriched("old", "2025-01-01", themes=True)
        before = ws.drivers.bright_spots()
        enriched("new", "2025-02-01", themes=False)
        after = ws.drivers.bright_spots()
    assert "ghost" in set(before[before.fact == "theme"].value)
    assert "ghost" not in set(after[after.fact == "theme"].value)
