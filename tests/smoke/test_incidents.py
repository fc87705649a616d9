"""One incident, one alert: the segment that explains a shift, spikes, slow declines and
weekday patterns, on synthetic panels where the truth is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from smokejumper.metrics.definitions import builtin_definitions
from smokejumper.smoke.detect import DetectorConfig, detect_declines
from smokejumper.smoke.incidents import MetricView, change, refine
from smokejumper.smoke.scan import analyse
from smokejumper.smoke.segments import PanelBuilder, build_panel, remove_weekday_effects

TOUCHPOINTS = ("app", "web", "store")
CHANNELS = ("chat", "self_service")
REGIONS = ("North", "South", "East")


def nps_frame(shift: Any, periods: int = 40, n: int = 120, seed: int = 5,
              freq: str = "W-MON") -> pd.DataFrame:
    """Leaves touchpoint × channel × region × period with simulated NPS statistics;
    ``shift(tp, ch, rg, t)`` gives the change in promoter share (negative: worse)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-06", periods=periods, freq=freq)
    rows = []
    for tp in TOUCHPOINTS:
        for ch in CHANNELS:
            for rg in REGIONS:
                for t, day in enumerate(dates):
                    promoters = float(np.clip(0.45 + shift(tp, ch, rg, t, day), 0.02, 0.65))
                    counts = rng.multinomial(n, [promoters, 0.35, 0.65 - promoters])
                    p, _, d = counts
                    rows.append({"touchpoint": tp, "channel": ch, "region": rg,
                                 "period": day, "nps:n": float(n),
                                 "nps:sum": 100.0 * (p - d), "nps:squares": 1e4 * (p + d)})
    return pd.DataFrame(rows)


def scan_frame(frame: pd.DataFrame, config: DetectorConfig | None = None) -> list[Any]:
    dims = ["touchpoint", "channel", "region"]
    builder = PanelBuilder(frame, dims, ["nps"])
    return analyse(builder, frame, dims, [builtin_definitions()["nps"]],
                   config or DetectorConfig())


def test_an_incident_in_a_whole_touchpoint_is_attached_to_the_touchpoint() -> None:
    frame = nps_frame(lambda tp, ch, rg, t, day: -0.15 if tp == "app" and t >= 28 else 0.0)
    alerts = scan_frame(frame)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.segment == {"touchpoint": "app"}
    assert alert.start == pd.Timestamp("2025-01-06") .date() + pd.Timedelta(weeks=28)
    assert alert.root_cause[0]["segment"] == {"touchpoint": "app"}
    assert alert.after.value < alert.before.value


def test_an_incident_in_a_pair_is_attached_to_the_pair_not_its_parents() -> None:
    frame = nps_frame(lambda tp, ch, rg, t, day:
                      -0.2 if (tp, rg) == ("web", "North") and t >= 30 else 0.0)
    alerts = scan_frame(frame)
    assert [a.segment for a in alerts] == [{"touchpoint": "web", "region": "North"}]


def test_two_incidents_overlapping_in_one_channel_stay_two_alerts() -> None:
    def shift(tp: str, ch: str, rg: str, t: int, day: Any) -> float:
        if tp == "app" and 10 <= t < 20:
            return -0.15
        if rg == "South" and t >= 26:
            return -0.15
        return 0.0

    alerts = scan_frame(nps_frame(shift))
    assert sorted(map(str, (a.segment for a in alerts))) == sorted(
        map(str, ({"touchpoint": "app"}, {"region": "South"})))


def test_refine_moves_only_on_evidence() -> None:
    frame = nps_frame(lambda tp, ch, rg, t, day: -0.15 if tp == "app" and t >= 28 else 0.0)
    panel = build_panel(frame, ["touchpoint", "channel"], ["nps"])
    view = MetricView(panel.segments, panel.n["nps"], panel.total["nps"],
                      panel.squares["nps"])
    pair = view.row({"touchpoint": "app", "channel": "chat"})
    single = view.row({"touchpoint": "app"})
    assert pair is not None and single is not None
    # the drop spreads over the whole touchpoint: the pair generalises, the single stays
    assert refine(view, pair, 28, 40, sign=1.0, min_effect=3.0) == single
    assert refine(view, single, 28, 40, sign=1.0, min_effect=3.0) == single
    # the same statistics, exact: the rest of the parent is the parent minus the pair
    whole = view.change(single, 28, 40)
    rest = view.change(single, 28, 40, minus=pair)
    other = view.row({"touchpoint": "app", "channel": "self_service"})
    assert other is not None
    assert rest.effect == pytest.approx(view.change(other, 28, 40).effect, abs=1e-9)
    assert whole.n == rest.n + view.change(pair, 28, 40).n


def test_change_matches_a_hand_computation() -> None:
    n = np.array([100.0, 100.0, 50.0, 50.0])
    total = np.array([3000.0, 1000.0, 0.0, -500.0])
    squares = np.array([5e5, 4e5, 2e5, 2e5])
    found = change(n, total, squares, 2, 4)
    assert found.effect == pytest.approx(-5.0 - 20.0)
    count, mean = 300.0, 3500.0 / 300.0
    variance = 13e5 / count - mean ** 2
    assert found.variance == pytest.approx(variance * (1 / 100 + 1 / 200))


def test_a_calm_panel_raises_no_alert() -> None:
    assert scan_frame(nps_frame(lambda *_: 0.0)) == []


def test_a_slow_decline_is_found_as_a_decline_with_its_start() -> None:
    frame = nps_frame(lambda tp, ch, rg, t, day:
                      -0.012 * (t - 22) if tp == "store" and t >= 22 else 0.0, n=150)
    alerts = scan_frame(frame)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.segment == {"touchpoint": "store"}
    assert alert.pattern == "decline"
    start = (alert.start - pd.Timestamp("2025-01-06").date()).days // 7
    assert abs(start - 22) <= 3
    assert alert.end is None


def test_detect_declines_is_calibrated_on_flat_series() -> None:
    rng = np.random.default_rng(1)
    n = np.full((2000, 40), 200.0)
    total = rng.normal(0.0, 80.0 * np.sqrt(200.0), size=n.shape)
    squares = np.full(n.shape, 80.0 ** 2 * 200.0)
    found = detect_declines(n, total, squares)
    assert (found.p_value < 0.01).mean() <= 0.01  # Bonferroni over starts: conservative
    assert (found.p_value < 0.2).mean() > 0.005  # not dead either


def test_a_daily_weekday_pattern_is_not_smoke_and_hides_no_real_drop() -> None:
    def weekly_pattern(tp: str, ch: str, rg: str, t: int, day: Any) -> float:
        return -0.2 if tp == "store" and day.weekday() == 5 else 0.0  # busy Saturdays

    dims = ["touchpoint", "channel", "region"]
    nps = [builtin_definitions()["nps"]]
    config = DetectorConfig(min_baseline=14)
    calm = nps_frame(weekly_pattern, periods=120, n=40, freq="D")
    adjusted = remove_weekday_effects(calm, dims, ["nps"])
    assert adjusted["nps:n"].equals(calm["nps:n"])
    assert analyse(PanelBuilder(adjusted, dims, ["nps"]), adjusted, dims, nps, config) == []

    def with_drop(tp: str, ch: str, rg: str, t: int, day: Any) -> float:
        return weekly_pattern(tp, ch, rg, t, day) - (0.08 if tp == "store" and t >= 100
                                                     else 0.0)

    dropped = nps_frame(with_drop, periods=120, n=40, freq="D")
    raw = analyse(PanelBuilder(dropped, dims, ["nps"]), dropped, dims, nps, config)
    adjusted = remove_weekday_effects(dropped, dims, ["nps"])
    found = analyse(PanelBuilder(adjusted, dims, ["nps"]), adjusted, dims, nps, config)
    assert [a.segment for a in found] == [{"touchpoint": "store"}]
    assert abs((found[0].start - pd.Timestamp("2025-01-06").date()).days - 100) <= 2
    # the Saturdays' swings blur the raw series: the same drop is less credible there
    raw_z = max((a.z for a in raw if a.segment == {"touchpoint": "store"}), default=0.0)
    assert found[0].z > raw_z + 1.0
