"""Churn model and revenue at risk: features by hand, calibration on the demo, segments,
the CLI, and a plain CSV workspace with no customers table."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smokejumper.cli.app import app
from smokejumper.drivers.churn import ChurnModelConfig, fit_platt, reliability_table
from smokejumper.errors import DriverError
from smokejumper.workspace import Workspace


@pytest.fixture(scope="module")
def demo(small_demo_path: Path):
    ws = Workspace(small_demo_path)
    yield ws
    ws.close()


def test_calibration_on_a_held_out_later_cutoff(demo: Workspace) -> None:
    result = demo.drivers.churn_calibration(90)
    study = demo.drivers.churn_study(90)
    assert result.test_cutoff == study.tables.last_day - timedelta(days=90)
    assert max(result.train_cutoffs) <= result.test_cutoff - timedelta(days=90)
    assert result.auc > 0.55
    assert result.brier < result.brier_base_rate
    table = result.reliability
    assert len(table) == 10 and table["n"].sum() == result.customers
    assert result.bins_agreeing >= 7
    assert table["mean_predicted"].is_monotonic_increasing


def test_segment_risk_against_a_hand_count(demo: Workspace) -> None:
    study = demo.drivers.churn_study(90)
    as_of = study.test_cutoff
    risk = demo.drivers.risk({"region": "North", "touchpoint": "call_centre"}, 90, as_of=as_of)
    customers = demo.table("customers").to_pandas()
    contacts = demo.table("interactions").to_pandas()
    start = pd.Timestamp(as_of) - pd.Timedelta(days=90)
    called = contacts[(contacts.touchpoint == "call_centre") & (contacts.ts >= start)
                      & (contacts.ts < pd.Timestamp(as_of))].customer_id
    active = customers[(customers.region == "North") & customers.customer_id.isin(called)
                       & (customers.churned_at.isna()
                          | (customers.churned_at >= pd.Timestamp(as_of)))]
    assert risk.customers == len(active)
    gone = active.churned_at < pd.Timestamp(as_of) + pd.Timedelta(days=90)
    assert risk.realised_lost_customers == int(gone.sum())
    assert risk.realised_revenue_lost == pytest.approx(active.revenue[gone].sum())
    assert risk.lost_customers_low < risk.expected_lost_customers < risk.lost_customers_high
    assert risk.revenue_at_risk_low < risk.revenue_at_risk < risk.revenue_at_risk_high
    # the segment churns more than the base rate (an incident runs there)
    assert risk.segment_rate > risk.base_rate
    everyone = demo.drivers.risk(None, 90, as_of=as_of)
    assert everyone.customers > risk.customers
    assert everyone.lost_customers_low < everyone.realised_lost_customers \
        < everyone.lost_customers_high


@pytest.mark.parametrize(("segment", "message"), [
    ({"planet": "mars"}, "unknown segment key.*'planet'.*region.*touchpoint"),
    ({"region": "Atlantis"}, "no region 'Atlantis'.*North"),
    ({"touchpoint": "fax"}, "no touchpoint 'fax'.*call_centre"),
])
def test_unknown_segment_is_one_clear_error(demo: Workspace, segment: dict,
                                            message: str) -> None:
    with pytest.raises(DriverError, match=message):
        demo.drivers.risk(segment)


def test_cli_risk_and_calibration_json(small_demo_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["-w", str(small_demo_path), "risk", "--segment",
                                 "region=North,touchpoint=call_centre", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["segment"] == {"region": "North", "touchpoint": "call_centre"}
    assert data["lost_customers_low"] <= data["expected_lost_customers"] \
        <= data["lost_customers_high"]
    assert data["realised_lost_customers"] is None  # the future is not in the data
    calibration = runner.invoke(app, ["-w", str(small_demo_path), "risk", "--calibration",
                                      "--format", "json"])
    assert calibration.exit_code == 0, calibration.output
    report = json.loads(calibration.stdout)
    assert len(report["reliability"]) == 10 and 0.5 < report["auc"] <= 1


# -- pieces ----------------------------------------------------------------------------------

def test_platt_recovers_a_planted_calibration() -> None:
    rng = np.random.default_rng(0)
    score = rng.normal(-3, 1, 200_000)
    label = rng.random(len(score)) < 1 / (1 + np.exp(-(0.5 + 0.8 * score)))
    a, b = fit_platt(score, label.astype(float))
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(0.8, abs=0.02)


def test_reliability_table_bins() -> None:
    predicted = np.linspace(0, 1, 100)
    observed = (predicted > 0.5).astype(int)
    table = reliability_table(predicted, observed, bins=10)
    assert table["n"].tolist() == [10] * 10
    assert table["observed_rate"].tolist() == [0] * 5 + [1] * 5
    assert table["mean_predicted"].iloc[0] == pytest.approx(predicted[:10].mean())


# -- a plain CSV workspace: arbitrary ids, no customers table ----------------------------------

@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Contacts, surveys (no customer_id) and churn events for 800 accounts over 14 months;
    an unresolved contact raises the chance of leaving within about a month."""
    root = Path(tmp_path_factory.mktemp("plain-churn"))
    rng = np.random.default_rng(5)
    start, days = pd.Timestamp("2024-01-01"), 425
    contacts, churns = [], []
    for k in range(800):
        account = f"acct-{rng.integers(10**5):05d}-{k}"
        gone = days + 1.0
        if rng.random() < 0.10:
            gone = rng.uniform(0, days)
        t = rng.uniform(0, 30)
        while t < min(gone, days):
            resolved = rng.random() < 0.65
            contacts.append((account, t, resolved))
            if not resolved and rng.random() < 0.25:
                gone = min(gone, t + rng.exponential(20))
            t += rng.exponential(35)
        if gone < days:
            churns.append((account, start + pd.Timedelta(days=gone)))
    n = len(contacts)
    ids = [f"c{i}" for i in range(n)]
    ts = [start + pd.Timedelta(days=c[1]) for c in contacts]
    resolved = np.array([c[2] for c in contacts])
    pd.DataFrame({"interaction_id": ids, "ts": ts, "customer_id": [c[0] for c in contacts],
                  "touchpoint": rng.choice(["phone", "chat"], n), "resolved": resolved,
                  "handle_time_s": rng.gamma(3, 200, n).round(1),
                  "contact_reason": rng.choice(["bill", "outage"], n)}).to_csv(
        root / "contacts.csv", index=False)
    score = np.clip(np.round(8 - 4 * ~resolved + rng.normal(0, 1.5, n)), 0, 10).astype(int)
    answered = rng.random(n) < 0.6
    pd.DataFrame({"response_id": [f"s{i}" for i in range(n)],
                  "ts": [t + pd.Timedelta(hours=2) for t in ts], "interaction_id": ids,
                  "nps": score})[answered].to_csv(root / "survey.csv", index=False)
    pd.DataFrame({"customer_id": [c[0] for c in churns], "ts": [c[1] for c in churns],
                  "kind": "churn"}).to_csv(root / "churn.csv", index=False)
    ws = Workspace.init(root / "ws")
    ws.ingest([root / "contacts.csv"], "interactions")
    ws.ingest([root / "survey.csv"], "responses")
    ws.close()
    ws = Workspace.init(root / "ws-churn")
    for file, table in (("contacts.csv", "interactions"), ("survey.csv", "responses"),
                        ("churn.csv", "outcomes")):
        ws.ingest([root / file], table)
    ws.close()
    return root


def test_plain_workspace_features_by_hand(plain: Path) -> None:
    ws = Workspace(plain / "ws-churn")
    study = ws.drivers.churn_study(30, window_days=60)
    cutoff = date(2024, 9, 1)
    frame = study.frames([cutoff]).set_index("customer_id")
    contacts = pd.read_csv(plain / "contacts.csv", parse_dates=["ts"])
    survey = pd.read_csv(plain / "survey.csv", parse_dates=["ts"])
    churn = pd.read_csv(plain / "churn.csv", parse_dates=["ts"]).set_index("customer_id").ts
    at = pd.Timestamp(cutoff)
    window = contacts[(contacts.ts >= at - pd.Timedelta(days=60)) & (contacts.ts < at)]
    first = contacts.groupby("customer_id").ts.min()
    active = first[first < at].index
    active = [c for c in active if c not in churn.index or churn[c] >= at]
    assert sorted(frame.index) == sorted(active)
    counts = window.groupby("customer_id").size()
    unresolved = window[~window.resolved].groupby("customer_id").size()
    said = survey.merge(contacts[["interaction_id", "customer_id"]], on="interaction_id")
    said = said[(said.ts >= at - pd.Timedelta(days=60)) & (said.ts < at)]
    for customer in frame.index[:50]:
        row = frame.loc[customer]
        assert row.contacts == counts.get(customer, 0)
        assert row.unresolved_contacts == unresolved.get(customer, 0)
        mine = said[said.customer_id == customer].sort_values("ts")
        assert row.responses == len(mine)
        if len(mine):
            assert row.last_nps == mine.nps.iloc[-1] and row.min_nps == mine.nps.min()
        leaves = customer in churn.index and churn[customer] < at + pd.Timedelta(days=30)
        assert row.churned == int(leaves)
    assert frame["segment"].isna().all() and frame["revenue"].isna().all()
    ws.close()


def test_plain_workspace_risk_cli(plain: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["-w", str(plain / "ws-churn"), "risk", "--segment",
                                 "touchpoint=phone", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["customers"] > 100 and data["expected_lost_customers"] > 0
    assert data["revenue_at_risk"] is None and data["customers_with_revenue"] == 0
    assert data["auc"] > 0.55  # unresolved contacts predict leaving
    bad = runner.invoke(app, ["-w", str(plain / "ws-churn"), "risk", "--segment",
                              "region=North"])
    assert bad.exit_code != 0
    with pytest.raises(DriverError, match="no region .North.*values: none"):
        Workspace(plain / "ws-churn").drivers.risk({"region": "North"})


def test_no_churn_outcomes_is_one_clear_error(plain: Path) -> None:
    ws = Workspace(plain / "ws")
    with pytest.raises(DriverError, match="no churn outcomes"):
        ws.drivers.risk({"touchpoint": "phone"})
    ws.close()


def test_config_is_checked() -> None:
    with pytest.raises(DriverError, match="horizon_days"):
        ChurnModelConfig(horizon_days=0)
    with pytest.raises(DriverError, match="unknown learner"):
        ChurnModelConfig(learner="magic")
