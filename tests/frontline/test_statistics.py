"""Shrinkage, case mix, ranks and groups on hand cases with exact answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smokejumper.frontline.measures import RankConfig
from smokejumper.frontline.ranking import rank_statistics
from smokejumper.frontline.shrinkage import (
    between_variance,
    credible_groups,
    fit_case_mix,
    rank_intervals,
    shrink,
)


def test_shrinkage_formula_on_a_hand_case() -> None:
    post = shrink(np.array([10.0, 0.0, -6.0]), np.array([4.0, 1.0, np.inf]), 2.0, 4.0)
    # B = 4 / (4 + v): 0.5 and 0.8; infinite variance keeps the prior
    assert post.mean.tolist() == pytest.approx([6.0, 0.4, 2.0])
    assert post.variance.tolist() == pytest.approx([2.0, 0.8, 4.0])


def test_method_of_moments_between_variance() -> None:
    # equal variances: Q = sum (x - mean)^2 / v; tau2 = (Q - (k - 1)) / (k - 1) * v... exact
    x = np.array([1.0, 3.0, 5.0, 7.0])
    tau2, mu = between_variance(x, np.full(4, 2.0))
    assert mu == pytest.approx(4.0)
    assert tau2 == pytest.approx(np.var(x, ddof=1) - 2.0)
    assert between_variance(np.array([0.0, 0.1]), np.array([5.0, 5.0]))[0] == 0.0


def test_case_mix_does_not_punish_the_agent_with_hard_cases() -> None:
    # cell 1 is 20 points harder; agent 0 takes mostly hard cases, both agents equally good
    unit = np.array([0, 0, 1, 1])
    cell = np.array([0, 1, 0, 1])
    n = np.array([10.0, 90, 90, 10])
    total = np.array([10 * 50.0, 90 * 30, 90 * 50, 10 * 30])
    squares = total**2 / n
    fit = fit_case_mix(unit, cell, n, total, squares, 2, 2)
    assert fit.effect.tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert fit.raw_mean.tolist() == pytest.approx([32.0, 48.0])


def test_rank_intervals_and_groups() -> None:
    mean = np.array([3.0, 0.0, -3.0, 0.1])
    rank, low, high = rank_intervals(mean, np.array([1e-6, 0.25, 1e-6, 0.25]), draws=300)
    assert rank.tolist() == [1, 3, 4, 2]
    assert (low[[0, 2]] == [1, 4]).all() and (high[[0, 2]] == [1, 4]).all()
    assert low[1] < high[1]
    groups = credible_groups(mean - 1, mean + 1, low, high, fraction=0.25)
    assert groups.tolist()[0] == "top" and groups.tolist()[2] == "bottom"


def _synthetic_statistics(seed: int = 3) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    rng = np.random.default_rng(seed)
    agents = 60
    skill = rng.normal(0, 10, agents)
    rows = []
    for a in range(agents):
        size = 5 if a < 5 else int(rng.integers(80, 300))
        for cell, difficulty in (("easy", 20.0), ("hard", -20.0)):
            share = 0.8 if a % 2 else 0.2
            k = max(1, int(size * (share if cell == "hard" else 1 - share)))
            y = difficulty + skill[a] + rng.normal(0, 40, k)
            rows.append({"agent_id": f"A{a:02d}", "contact_reason": cell, "n": k,
                         "total": y.sum(), "squares": (y**2).sum()})
    return {"nps": pd.DataFrame(rows)}, skill


def test_rank_statistics_marks_small_n_insufficient_and_tracks_skill() -> None:
    stats, skill = _synthetic_statistics()
    frame, _ = rank_statistics(stats, RankConfig(measure="nps", case_mix=("contact_reason",),
                                                 min_n=30))
    assert (frame.loc[:4, "group"] == "insufficient").all()
    assert frame.loc[:4, "rank"].isna().all()
    ranked = frame[frame["group"] != "insufficient"]
    assert sorted(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ((ranked["low"] <= ranked["score"]) & (ranked["score"] <= ranked["high"])).all()
    true = skill[ranked["agent_id"].str[1:].astype(int)]
    assert np.corrcoef(ranked["score"], true)[0, 1] > 0.8
    # raw averages are biased by case mix; adjusted scores are not
    assert np.corrcoef(ranked["raw"], true)[0, 1] < np.corrcoef(ranked["score"], true)[0, 1]
