"""The frontline service against the small demo company's planted truth."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from smokejumper.frontline import PairConfig, Viewer
from smokejumper.frontline.pairs import check_pairs
from smokejumper.workspace import Workspace


@pytest.fixture(scope="module")
def demo(small_demo_path: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Workspace, dict[str, object]]]:
    """A private copy of the session's small demo (seed 7), which these tests may change."""
    root = Path(tmp_path_factory.mktemp("frontline")) / "demo"
    shutil.copytree(small_demo_path, root)
    ws = Workspace(root)
    truth = json.loads((root / "ground_truth.json").read_text())
    yield ws, truth
    ws.close()


def test_ranking_tracks_true_skill_and_beats_raw_averages_at_the_bottom(demo) -> None:
    ws, truth = demo
    frame = ws.frontline.rank()
    assert list(frame.columns[:2]) == ["agent_id", "team_id"]
    true = np.array([truth["agents"][a]["overall"] for a in frame["agent_id"]])
    ranked = (frame["group"] != "insufficient").to_numpy()
    assert spearmanr(frame["score"][ranked], true[ranked])[0] >= 0.75
    cut = int(np.ceil(0.1 * len(frame)))
    bottom = set(np.argsort(true)[:cut])
    shrunk = len(bottom & set(np.argsort(frame["score"].to_numpy())[:cut]))
    raw = len(bottom & set(np.argsort(np.nan_to_num(frame["raw"].to_numpy()))[:cut]))
    assert shrunk >= raw
    assert set(frame["group"]) <= {"top", "middle", "bottom", "insufficient"}


def test_pairs_match_planted_weaknesses_and_strengths(demo) -> None:
    ws, truth = demo
    config = PairConfig()
    pairs = ws.frontline.pairs(config)
    assert len(pairs) >= 10
    assert check_pairs(pairs, ws.frontline.profiles(), ws.frontline.employees, config) == []
    agents = truth["agents"]
    valid = [agents[p.mentee]["areas"][p.area] <= -0.5 and agents[p.mentor]["areas"][p.area]
             >= 0.5 for p in pairs.itertuples()]
    assert np.mean(valid) >= 0.8
    lead = Viewer("team_lead", team_id=agents[pairs["mentee"][0]]["team_id"])
    seen = ws.frontline.pairs(config, viewer=lead)
    teams = ws.frontline.teams
    assert len(seen) >= 1 and all(lead.team_id in (teams[m], teams[n])
                                  for m, n in zip(seen.mentee, seen.mentor, strict=True))


def test_measured_coaching_effect_covers_the_planted_one(demo) -> None:
    ws, truth = demo
    coaching = truth["coaching_effect"]
    for pair in coaching["pairs"]:
        ws.frontline.record_pair(pair["mentee"], pair["mentor"], pair["area"], pair["start"],
                                 created_by="lead@example.com")
    assert len(ws.frontline.recorded_pairs()) == len(coaching["pairs"])
    effect = ws.frontline.coaching_effect("nps")
    overall = effect[effect["scope"] == "overall"].iloc[0]
    assert overall["low"] <= coaching["effect"] <= overall["high"]
    assert overall["low"] > 0


def _cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    from smokejumper.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_cli_rank_and_pairs_json(demo, capsys) -> None:
    ws, truth = demo
    root = str(ws.root)
    ranked = _cli_json(["-w", root, "frontline", "rank", "--format", "json"], capsys)
    assert isinstance(ranked, list) and len(ranked) == len(truth["agents"])
    assert set(ranked[0]) >= {"agent_id", "team_id", "score", "low", "high", "rank", "group"}
    groups = {row["group"] for row in ranked}
    assert groups <= {"top", "middle", "bottom", "insufficient"} and "top" in groups
    pairs = _cli_json(["-w", root, "frontline", "pairs", "--format", "json"], capsys)
    assert pairs and set(pairs[0]) == {"mentee", "mentor", "area", "reason"}
    assert all(row["mentee"] != row["mentor"] for row in pairs)


def test_agents_ranked_by_the_conversation_score_of_their_transcripts(demo) -> None:
    from smokejumper.frontline import RankConfig

    ws, truth = demo
    summary = ws.text.enrich(source="interactions", model="vader", themes="none")
    assert summary.enriched > 1000
    scores = ws.table("enrichments").select("text_id", "conversation_score").to_pandas()
    agents = ws.table("interactions").select("interaction_id", "agent_id").to_pandas()
    expected = scores.merge(agents, left_on="text_id", right_on="interaction_id").groupby(
        "agent_id").conversation_score.agg(["mean", "size"])
    frame = ws.frontline.rank(RankConfig(measure="conversation", min_n=5)).set_index(
        "agent_id")
    assert frame.n.to_dict() == expected["size"].to_dict()
    assert frame.raw.to_dict() == pytest.approx((100 * expected["mean"]).to_dict(), abs=1e-9)
    ranked = frame[frame.group != "insufficient"]
    skill = [truth["agents"][agent]["overall"] for agent in ranked.index]
    assert len(ranked) > 50
    # the demo's transcripts follow the planted skill of the agent who handled them
    assert spearmanr(ranked.score, skill)[0] >= 0.7
