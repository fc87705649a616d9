"""The detector on seeded synthetic series: shifts found where planted, sample size
weighed, false alarms controlled, and the helpers exact."""

from __future__ import annotations

import numpy as np
import pytest

from smokejumper.errors import SmokeError, SmokejumperError
from smokejumper.smoke.alerts import severity_of
from smokejumper.smoke.detect import (
    DetectorConfig,
    benjamini_hochberg,
    detect_shifts,
    windows,
)

PERIODS = 52


def nps_series(rng: np.random.Generator, responses: float, shift: float = 0.0,
               start: int = 30, end: int = PERIODS, count: int = 1
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` NPS series of multinomial responses; ``shift`` moves promoters to
    detractors in ``[start, end)``."""
    n = np.full((count, PERIODS), float(responses))
    promoters = np.empty_like(n)
    detractors = np.empty_like(n)
    for t in range(PERIODS):
        moved = shift / 200 if start <= t < end else 0.0
        probabilities = [0.45 + moved, 0.35, 0.20 - moved]  # promoter, passive, detractor
        draws = rng.multinomial(int(responses), probabilities, size=count)
        promoters[:, t], detractors[:, t] = draws[:, 0], draws[:, 2]
    return n, 100 * (promoters - detractors), 1e4 * (promoters + detractors)


def test_a_persistent_drop_is_found_with_its_window() -> None:
    rng = np.random.default_rng(1)
    found = detect_shifts(*nps_series(rng, 500, shift=-10.0, start=30, end=40),
                          DetectorConfig())
    assert (int(found.start[0]), int(found.end[0])) == (30, 40)
    assert found.p_value[0] < 1e-6
    assert found.inside[0] - found.before[0] == pytest.approx(-10.0, abs=3.0)


def test_sample_size_decides_between_noise_and_smoke() -> None:
    rng = np.random.default_rng(2)
    small = detect_shifts(*nps_series(rng, 40 / 8, shift=-5.0, start=44), DetectorConfig(
        min_n=1))
    large = detect_shifts(*nps_series(rng, 1000, shift=-5.0, start=44), DetectorConfig())
    assert small.p_value[0] > 0.05
    assert large.p_value[0] < 0.01


def test_a_rise_is_not_smoke() -> None:
    rng = np.random.default_rng(3)
    found = detect_shifts(*nps_series(rng, 500, shift=+15.0, start=30), DetectorConfig())
    assert found.p_value[0] > 0.05


def test_false_alarms_are_controlled_across_many_null_series() -> None:
    rng = np.random.default_rng(4)
    found = detect_shifts(*nps_series(rng, 200, count=2000), DetectorConfig())
    q = benjamini_hochberg(found.p_value)
    assert int((q < 0.01).sum()) == 0
    assert float((found.p_value < 0.05).mean()) < 0.08  # calibrated, a little conservative


def test_benjamini_hochberg_matches_the_hand_computation() -> None:
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5, np.nan]))
    assert q.round(4).tolist() == [0.05, 0.0667, 0.0667, 0.625, 1.0]


def test_windows_and_config_checks() -> None:
    starts, ends = windows(8, DetectorConfig(min_baseline=5, min_window=2))
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(5, 7), (5, 8), (6, 8),
                                                                      (7, 8)]
    with pytest.raises(SmokeError):
        DetectorConfig(fdr=0)
    assert issubclass(SmokeError, SmokejumperError)


@pytest.mark.parametrize(("q", "impact", "expected"), [
    (1e-12, 500.0, "critical"), (1e-12, 150.0, "high"), (1e-5, 150.0, "medium"),
    (5e-3, 150.0, "low"), (1e-12, 10.0, "low"), (1e-12, 1.0, None), (0.5, 500.0, None),
])
def test_severity_combines_credibility_and_materiality(q: float, impact: float,
                                                       expected: str | None) -> None:
    assert severity_of(q, impact, 0.01) == expected
