"""Theme impact on NPS: the pure function on planted data, and the workspace path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smokejumper.cli.app import app
from smokejumper.drivers import theme_impact
from smokejumper.errors import DriverError
from smokejumper.workspace import Workspace

COLUMNS = ["theme", "mentions", "share", "nps_with", "nps_without", "impact", "impact_low",
           "impact_high", "adjusted", "adjusted_low", "adjusted_high"]


def test_figures_by_hand() -> None:
    # s = +100 promoter, 0 passive, -100 detractor
    df = pd.DataFrame({"nps": [10, 9, 8, 7, 6, 0, 10, 3],
                       "price": [0, 0, 0, 1, 1, 1, 0, 1],
                       "wait": [0, 1, 0, 0, 1, 0, 0, 0]})
    out = theme_impact(df, themes=["price", "wait"]).set_index("theme")
    assert list(out.reset_index().columns) == COLUMNS
    s = np.array([100, 100, 0, 0, -100, -100, 100, -100.0])
    price = df["price"].to_numpy() == 1
    assert out.loc["price", "mentions"] == 4 and out.loc["price", "share"] == 0.5
    assert out.loc["price", "nps_without"] == pytest.approx(s[~price].mean())  # 75
    assert out.loc["price", "nps_with"] == pytest.approx(s[price].mean())  # -75
    assert out.loc["price", "impact"] == pytest.approx(s.mean() - s[~price].mean())  # -75
    assert out.loc["wait", "nps_without"] == pytest.approx(0.0)
    # the adjusted figure is the OLS coefficient of s on both themes
    x = np.column_stack([np.ones(8), df["price"], df["wait"]])
    beta = np.linalg.lstsq(x, s, rcond=None)[0]
    assert out.loc["price", "adjusted"] == pytest.approx(beta[1])
    assert out.loc["wait", "adjusted"] == pytest.approx(beta[2])
    assert out.index[0] == "price"  # most negative impact first


def test_one_theme_adjusted_is_the_gap_and_impact_is_share_times_gap() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"nps": rng.integers(0, 11, 500), "t": rng.random(500) < 0.3})
    row = theme_impact(df, themes=["t"]).iloc[0]
    gap = row.nps_with - row.nps_without
    assert row.adjusted == pytest.approx(gap)
    assert row.impact == pytest.approx(row.share * gap)
    assert row.impact_low < row.impact < row.impact_high


def planted(n: int = 40_000, seed: int = 3) -> pd.DataFrame:
    """'outage' moves NPS by -40 points; 'billing' only co-occurs with it (no effect of its
    own); 'praise' adds +30."""
    rng = np.random.default_rng(seed)
    outage = rng.random(n) < 0.2
    billing = rng.random(n) < np.where(outage, 0.7, 0.1)
    praise = rng.random(n) < 0.15
    promoter = 0.45 - 0.20 * outage + 0.15 * praise
    detractor = 0.20 + 0.20 * outage - 0.15 * praise
    u = rng.random(n)
    score = np.where(u < promoter, rng.integers(9, 11, n),
                     np.where(u < promoter + detractor, rng.integers(0, 7, n),
                              rng.integers(7, 9, n)))
    return pd.DataFrame({"nps": score, "outage": outage.astype(int),
                         "billing": billing.astype(int), "praise": praise.astype(int)})


def test_planted_effects_and_no_double_counting() -> None:
    out = theme_impact(planted(), themes=["outage", "billing", "praise"]).set_index("theme")
    assert out.loc["outage", "adjusted_low"] < -40 < out.loc["outage", "adjusted_high"]
    assert out.loc["praise", "adjusted_low"] < 30 < out.loc["praise", "adjusted_high"]
    # billing looks bad on its own (it comes with outages) but is worth nothing adjusted
    assert out.loc["billing", "nps_with"] - out.loc["billing", "nps_without"] < -15
    assert out.loc["billing", "impact_high"] < 0
    assert out.loc["billing", "adjusted_low"] < 0 < out.loc["billing", "adjusted_high"]


def test_delta_interval_matches_the_bootstrap() -> None:
    df = planted(8000, seed=5)
    delta = theme_impact(df, themes=["outage", "praise"]).set_index("theme")
    boot = theme_impact(df, themes=["outage", "praise"], bootstrap=400,
                        seed=1).set_index("theme")
    assert boot.attrs["interval"] == "bootstrap"
    for theme in ("outage", "praise"):
        width = delta.loc[theme, "impact_high"] - delta.loc[theme, "impact_low"]
        bwidth = boot.loc[theme, "impact_high"] - boot.loc[theme, "impact_low"]
        assert bwidth == pytest.approx(width, rel=0.2)


@pytest.mark.parametrize(("frame", "kwargs", "message"), [
    (pd.DataFrame({"nps": [1, 2]}), {"themes": ["x"]}, "unknown theme column"),
    (pd.DataFrame({"nps": [1, 12], "x": [0, 1]}), {}, "0 to 10"),
    (pd.DataFrame({"nps": [1, 2], "x": [0, 2]}), {}, "0/1"),
    (pd.DataFrame({"score": [1, 2], "x": [0, 1]}), {}, "no 'nps' column"),
])
def test_bad_input_is_one_clear_error(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(DriverError, match=message):
        theme_impact(frame, **kwargs)


# -- the workspace path ----------------------------------------------------------------------

def write_themes(ws: Workspace, rows: pd.DataFrame) -> None:
    """Put theme mentions into the workspace's enrichment_themes table."""
    import ibis

    backend = ws.analytics.backend
    data = rows.assign(source_table="responses", confidence=1.0,
                       text_hash="h", model_version="test")
    if "enrichment_themes" in backend.list_tables():
        schema = backend.table("enrichment_themes").schema()
        for column in schema.names:
            if column not in data.columns:
                data[column] = None
        backend.insert("enrichment_themes", ibis.memtable(data[list(schema.names)],
                                                          schema=schema))
    else:
        backend.create_table("enrichment_themes", data)


SENTIMENT = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


@pytest.fixture
def demo_with_themes(small_demo_copy: Path) -> tuple[Path, pd.DataFrame]:
    truth = pd.read_parquet(small_demo_copy / "data" / "comment_truth.parquet")
    rows = truth[["response_id", "themes", "theme_sentiments"]].explode(
        ["themes", "theme_sentiments"]).dropna(subset=["themes"])
    rows = pd.DataFrame({"text_id": rows["response_id"], "theme": rows["themes"],
                         "sentiment": rows["theme_sentiments"].map(SENTIMENT)})
    ws = Workspace(small_demo_copy)
    write_themes(ws, rows)
    ws.close()
    return small_demo_copy, rows


def test_demo_negative_themes_have_negative_adjusted_impact(demo_with_themes) -> None:
    root, rows = demo_with_themes
    ws = Workspace(root)
    out = ws.drivers.theme_impact().set_index("theme")
    split = ws.drivers.theme_impact(by_sentiment=True).set_index("theme")
    ws.close()
    mostly_negative = rows.groupby("theme")["sentiment"].apply(lambda s: (s < 0).mean() > 0.5)
    negative = sorted(mostly_negative[mostly_negative].index)
    assert negative  # the demo plants some (wait_time, resolution, billing_error, ...)
    for theme in negative:
        assert out.loc[theme, "adjusted_high"] < 0, theme
    # every theme mentioned negatively lowers NPS, every positive mention raises it
    negatives = [t for t in split.index if t.endswith("(negative)")]
    positives = [t for t in split.index if t.endswith("(positive)")]
    assert len(negatives) == len(set(rows["theme"]))
    assert (split.loc[negatives, "adjusted"] < 0).all()
    assert (split.loc[positives, "adjusted"] > 0).all()
    # the mention counts are the planted ones (one row per response and theme)
    planted_counts = rows.drop_duplicates(["text_id", "theme"]).groupby("theme").size()
    scored = out["mentions"]
    assert (scored <= planted_counts.reindex(scored.index)).all()


def test_cli_json_and_the_missing_themes_error(demo_with_themes,
                                               small_demo_path: Path) -> None:
    root, _ = demo_with_themes
    result = CliRunner().invoke(app, ["-w", str(root), "theme-impact", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records and set(records[0]) == set(COLUMNS)
    ws = Workspace(small_demo_path)
    with pytest.raises(DriverError, match="smokejumper enrich"):
        ws.drivers.theme_impact()
    ws.close()


def test_plain_csv_workspace(tmp_path: Path) -> None:
    """A workspace from an ordinary survey CSV (arbitrary ids) with themes written for it."""
    rng = np.random.default_rng(8)
    n = 400
    ids = [f"resp-{rng.integers(10**6)}-{i}" for i in range(n)]
    slow = rng.random(n) < 0.3
    score = np.clip(np.round(8 - 4 * slow + rng.normal(0, 1.5, n)), 0, 10).astype(int)
    pd.DataFrame({"response_id": ids, "ts": "2025-03-01 10:00:00", "nps": score}).to_csv(
        tmp_path / "survey.csv", index=False)
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([tmp_path / "survey.csv"], "responses")
    with pytest.raises(DriverError, match="smokejumper enrich"):
        ws.drivers.theme_impact()
    write_themes(ws, pd.DataFrame({"text_id": [i for i, s in zip(ids, slow, strict=True) if s],
                                   "theme": "wait_time", "sentiment": -0.8}))
    ws.close()
    result = CliRunner().invoke(app, ["-w", str(tmp_path / "ws"), "theme-impact",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["theme"] == "wait_time" and row["mentions"] == int(slow.sum())
    assert row["adjusted_high"] < 0 and row["impact_high"] < 0
