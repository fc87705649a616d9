"""``ws.drivers`` and ``smokejumper drivers`` on the demo company and on a plain CSV workspace."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from smokejumper.cli.app import app
from smokejumper.errors import DriverError
from smokejumper.workspace import Workspace

PLANTED = ("resolved", "ces", "repeat_contact", "handle_time_min", "tenure_years")
JSON_KEYS = {"driver", "importance", "share", "low", "high", "rank", "sign", "performance",
             "quadrant"}


@pytest.fixture(scope="module")
def demo(small_demo_path: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Workspace, dict[str, dict]]]:
    """A private copy of the session's small demo (seed 7), which these tests may change."""
    root = Path(tmp_path_factory.mktemp("drivers")) / "demo"
    shutil.copytree(small_demo_path, root)
    ws = Workspace(root)
    truth = json.loads((root / "ground_truth.json").read_text())["driver_weights"]
    yield ws, truth
    ws.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace from two ordinary CSV files: arbitrary ids, no customers table."""
    root = Path(tmp_path_factory.mktemp("plain"))
    rng = np.random.default_rng(11)
    n = 600
    ids = [f"call-{rng.integers(10**6):06d}-{i}" for i in range(n)]
    ts = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h")
    resolved = rng.random(n) < 0.7
    handle = rng.gamma(3.0, 200.0, n)
    pd.DataFrame({
        "interaction_id": ids, "ts": ts, "customer_id": [f"acct{k}" for k in
                                                         rng.integers(0, 150, n)],
        "touchpoint": rng.choice(["phone", "chat"], n), "handle_time_s": handle.round(1),
        "resolved": resolved, "contact_reason": rng.choice(["bill", "outage", "move"], n),
    }).to_csv(root / "contacts.csv", index=False)
    score = np.clip(np.round(5 + 3 * resolved - handle / 400 + rng.normal(0, 1.2, n)), 0, 10)
    answered = rng.random(n) < 0.8
    pd.DataFrame({
        "response_id": [f"s{i}" for i in range(n)], "ts": ts + pd.Timedelta(hours=3),
        "interaction_id": ids, "nps": score.astype(int),
        "csat": np.clip(np.round(score / 2.5), 1, 5).astype(int),
    })[answered].to_csv(root / "survey.csv", index=False)
    ws = Workspace.init(root / "ws")
    ws.ingest([root / "contacts.csv"], "interactions")
    ws.ingest([root / "survey.csv"], "responses")
    ws.close()
    return root / "ws"


def test_importances_rank_the_planted_driver_weights(demo) -> None:
    ws, truth = demo
    frame = ws.drivers.analyse("nps", bootstrap=50)
    importance = frame.set_index("driver")["importance"]
    assert set(PLANTED) <= set(importance.index)
    rho = spearmanr([importance[d] for d in PLANTED],
                    [abs(truth[d]["standardized"]) for d in PLANTED])[0]
    assert rho >= 0.9
    assert frame["share"].sum() == pytest.approx(1.0)
    assert frame["importance"].sum() == pytest.approx(frame.attrs["r2"])
    assert (frame["low"] <= frame["importance"]).all()
    assert (frame["importance"] <= frame["high"]).all()
    assert frame.attrs["sampled"] is False
    assert frame.attrs["rows_fetched"] == frame.attrs["rows_available"]
    assert set(frame["quadrant"]) <= {"fix first", "protect", "maintain", "lower priority"}


def test_relative_weights_and_the_detractor_model(demo) -> None:
    ws, _ = demo
    weights = ws.drivers.analyse("nps", ["resolved", "ces"], method="relative_weights",
                                 bootstrap=0)
    assert weights["driver"].tolist() == ["resolved", "ces"]
    assert weights.attrs["method"] == "relative_weights"
    detractor = ws.drivers.analyse("detractor", ["resolved", "ces"], bootstrap=0)
    assert detractor.attrs["model"] == "logistic"
    signs = detractor.set_index("driver")["sign"].to_dict()
    assert signs == {"resolved": -1, "ces": 1}  # resolving lowers the odds of a detractor


def test_sampling_cap_is_seeded_and_reported(demo) -> None:
    ws, _ = demo
    first = ws.drivers.table("nps", ["resolved"], max_rows=5000, seed=3)
    again = ws.drivers.table("nps", ["resolved"], max_rows=5000, seed=3)
    assert first.attrs["sampled"] is True
    assert 4000 < len(first) < 6000 < first.attrs["rows_available"]
    pd.testing.assert_frame_equal(first.sort_values(list(first.columns)).reset_index(drop=True),
                                  again.sort_values(list(again.columns)).reset_index(drop=True))


def test_cli_json_on_the_demo(demo) -> None:
    ws, _ = demo
    result = CliRunner().invoke(app, ["-w", str(ws.root), "drivers", "--outcome", "nps",
                                      "--bootstrap", "20", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["driver"] for row in rows} >= set(PLANTED)
    assert all(set(row) == JSON_KEYS for row in rows)
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)


def test_plain_csv_workspace(plain: Path) -> None:
    result = CliRunner().invoke(app, ["-w", str(plain), "drivers", "--outcome", "nps",
                                      "--format", "json", "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    rows = {row["driver"]: row for row in json.loads(result.stdout)}
    # no customers, no effort scores: only the interaction measures qualify
    assert set(rows) == {"resolved", "repeat_contact", "handle_time_min"}
    assert rows["resolved"]["rank"] == 1 and rows["resolved"]["sign"] == 1
    assert rows["handle_time_min"]["sign"] == -1
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)
    filtered = CliRunner().invoke(app, ["-w", str(plain), "drivers", "--outcome", "csat",
                                        "--driver", "resolved", "--filter", "nps=6,7,8",
                                        "--bootstrap", "0", "--format", "csv"])
    assert filtered.exit_code == 0, filtered.output
    assert filtered.stdout.splitlines()[1].startswith("resolved,")


@pytest.mark.parametrize(("args", "message"), [
    (["--outcome", "loyalty"], "unknown outcome 'loyalty'"),
    (["--driver", "wait_time"], "unknown driver(s): 'wait_time'"),
    (["--outcome", "csat", "--driver", "csat"], "cannot also be a driver"),
    (["--filter", "planet=mars"], "planet"),
])
def test_unknown_outcome_or_driver_is_one_clear_error(plain: Path, args: list[str],
                                                      message: str) -> None:
    ws = Workspace(plain)
    outcome = args[1] if args[0] == "--outcome" else "nps"
    driver = [args[-1]] if "--driver" in args else None
    filters = {"planet": "mars"} if "--filter" in args else None
    with pytest.raises(DriverError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ws.drivers.analyse(outcome, driver, filters=filters, bootstrap=0)
    ws.close()
