"""Root-cause localisation: planted causes are found exactly, the explanation's numbers
are the hand-computed ones, bad tables fail clearly, and the Squeeze B0 cases reach
pooled F1 >= 0.95 in every setting."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from smokejumper.errors import LocalizeError, SmokejumperError
from smokejumper.smoke import LocalizeConfig, explain_change, localize
from smokejumper.smoke._leaves import read_leaves
from smokejumper.smoke.synthetic import additive_case, ratio_case

RATIO = {"actual_denominator": "responses", "expected_denominator": "expected_responses"}
REGIONS = ("north", "south", "east", "west")
CHANNELS = ("web", "app", "phone")
SEGMENTS = ("consumer", "business")
DIMENSIONS = ["region", "channel", "segment"]


# -- small hand-built cubes -------------------------------------------------------------------

def cube(seed: int = 7) -> pd.DataFrame:
    """4 regions x 3 channels x 2 segments, one row per leaf, with seeded volumes."""
    rng = np.random.default_rng(seed)
    rows = list(itertools.product(REGIONS, CHANNELS, SEGMENTS))
    frame = pd.DataFrame(rows, columns=DIMENSIONS)
    frame["volume"] = rng.integers(200, 2000, len(frame)).astype(float)
    return frame


def in_segment(frame: pd.DataFrame, segment: dict[str, str]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for dimension, value in segment.items():
        mask &= frame[dimension] == value
    return mask


def additive(causes: list[tuple[dict[str, str], float]], seed: int = 7) -> pd.DataFrame:
    """Expected = the volume; actual = Poisson around it, times 1 + effect in each cause."""
    rng = np.random.default_rng(seed + 1)
    frame = cube(seed)
    factor = pd.Series(1.0, index=frame.index)
    for segment, effect in causes:
        factor[in_segment(frame, segment)] *= 1.0 + effect
    frame["expected"] = frame["volume"]
    frame["actual"] = rng.poisson(frame["volume"] * factor).astype(float)
    return frame


def rate(causes: list[tuple[dict[str, str], float]], seed: int = 7) -> pd.DataFrame:
    """A rate with counts: responses, and a binary outcome per response at the region's
    rate (0.2 to 0.35) plus the cause's shift; expected values at the region's rate for
    the same number of responses."""
    rng = np.random.default_rng(seed + 2)
    frame = cube(seed)
    base = frame["region"].map(dict(zip(REGIONS, (0.35, 0.3, 0.25, 0.2), strict=True)))
    shift = pd.Series(0.0, index=frame.index)
    for segment, effect in causes:
        shift[in_segment(frame, segment)] += effect
    frame["responses"] = frame["volume"]
    frame["expected_responses"] = frame["volume"]
    frame["expected"] = base * frame["volume"]
    frame["actual"] = rng.binomial(frame["volume"].astype(int), base + shift).astype(float)
    return frame


HAND_CASES = [
    pytest.param("additive", [({"region": "north"}, -0.4)], id="additive-one-dimension"),
    pytest.param("additive", [({"region": "south", "channel": "web"}, 0.6)],
                 id="additive-two-dimensions"),
    pytest.param("additive", [({"region": "east", "channel": "app", "segment": "business"},
                               -0.7)], id="additive-three-dimensions"),
    pytest.param("additive", [({"region": "north"}, -0.5),
                              ({"region": "east", "channel": "app"}, 0.8)],
                 id="additive-two-causes"),
    pytest.param("ratio", [({"channel": "phone"}, -0.15)], id="ratio-one-dimension"),
    pytest.param("ratio", [({"region": "west", "segment": "business"}, -0.2)],
                 id="ratio-two-dimensions"),
    pytest.param("ratio", [({"channel": "web"}, -0.2), ({"region": "south", "channel": "app"},
                                                        0.15)], id="ratio-two-causes"),
]


@pytest.mark.parametrize(("kind", "causes"), HAND_CASES)
def test_planted_causes_are_found_exactly(kind: str,
                                          causes: list[tuple[dict[str, str], float]]) -> None:
    if kind == "additive":
        found = localize(additive(causes), DIMENSIONS)
    else:
        found = localize(rate(causes), DIMENSIONS, **RATIO)
    assert sorted(map(sorted, (c.items() for c in found))) == \
        sorted(map(sorted, (segment.items() for segment, _ in causes)))


@pytest.mark.parametrize("kind", ["additive", "ratio"])
def test_no_change_has_no_cause(kind: str) -> None:
    if kind == "additive":
        assert localize(additive([]), DIMENSIONS) == []
    else:
        assert localize(rate([]), DIMENSIONS, **RATIO) == []


# -- seeded synthetic cases (smokejumper.smoke.synthetic) -------------------------------------

SYNTHETIC = [
    # kind, options, seed, planted causes (as the generator draws them for that seed)
    ("additive", {"layer": 1}, 1, [{"b": "b5"}]),
    ("additive", {"layer": 2}, 0, [{"c": "c2", "d": "d1"}]),
    ("additive", {"layer": 3}, 2, [{"a": "a2", "b": "b3", "c": "c3"}]),
    ("additive", {"layer": 2, "n_causes": 2}, 2, [{"a": "a6", "b": "b6"},
                                                  {"a": "a5", "b": "b7"}]),
    ("additive", {"layer": 1, "n_causes": 3}, 2, [{"a": "a3"}, {"a": "a2"}, {"a": "a6"}]),
    ("nps", {"layer": 1}, 1, [{"a": "a1"}]),
    ("nps", {"layer": 2}, 2, [{"c": "c4", "d": "d1"}]),
    ("nps", {"layer": 2, "n_causes": 2}, 1, [{"a": "a2", "c": "c3"}, {"a": "a1", "d": "d5"}]),
    ("nps", {"layer": 1, "n_causes": 3, "siblings": True}, 2,
     [{"d": "d4"}, {"d": "d1"}, {"d": "d2"}]),
    ("failure", {"layer": 1, "effects": (0.05, 0.2)}, 0, [{"c": "c2"}]),
    ("failure", {"layer": 2, "n_causes": 2, "effects": (0.05, 0.2)}, 2,
     [{"a": "a3", "c": "c1"}, {"a": "a1", "b": "b12"}]),
]


@pytest.mark.parametrize(("kind", "options", "seed", "planted"), SYNTHETIC,
                         ids=[f"{k}-{'-'.join(f'{a}{b}' for a, b in o.items() if a != 'effects')}"
                              for k, o, _, _ in SYNTHETIC])
def test_synthetic_cases(kind: str, options: dict[str, Any], seed: int,
                         planted: list[dict[str, str]]) -> None:
    if kind == "additive":
        case = additive_case(seed, **options)
    else:
        case = ratio_case(seed, kind=kind, **options)  # type: ignore[arg-type]
    assert case.causes == planted  # the generator is seeded: the table above stays true
    found = localize(case.leaves, case.dimensions, **case.columns)
    assert {frozenset(c.items()) for c in found} == {frozenset(c.items()) for c in planted}
    assert len(found) == len(planted)


@pytest.mark.slow
def test_ordinary_drift_is_rarely_a_cause() -> None:
    """Every value of every dimension drifts by a few per cent (3 % standard deviation).
    Over ten tables with one planted cause each, every cause is found; the drift band
    (three standard deviations of the drift measured on each table) keeps out at least
    four in five of the drifting segments reported without it."""
    def run(config: LocalizeConfig) -> tuple[int, int]:
        missed = extra = 0
        for seed in range(10):
            case = additive_case(seed, layer=2, drift=0.03)
            causes = localize(case.leaves, case.dimensions, **case.columns, config=config)
            missed += sum(c not in causes for c in case.causes)
            extra += sum(c not in case.causes for c in causes)
        return missed, extra

    missed, extra = run(LocalizeConfig())
    missed_without_band, extra_without_band = run(LocalizeConfig(drift_sigmas=0.0))
    assert missed == missed_without_band == 0
    assert extra_without_band >= 10
    assert extra <= extra_without_band / 5


# -- the explanation ---------------------------------------------------------------------------

def test_additive_explanation_matches_hand_computation() -> None:
    north = {"region": "north"}
    frame = additive([(north, -0.4)])
    result = explain_change(frame, DIMENSIONS)
    mask = in_segment(frame, north)
    change = frame["actual"].sum() - frame["expected"].sum()
    assert result.kind == "additive"
    assert result.change == pytest.approx(change)
    (cause,) = result.causes
    assert cause.segment == north
    assert cause.actual == pytest.approx(frame.loc[mask, "actual"].sum())
    assert cause.expected == pytest.approx(frame.loc[mask, "expected"].sum())
    assert cause.change == pytest.approx(cause.actual - cause.expected)
    assert cause.share == pytest.approx(cause.change / change)
    assert cause.effect == pytest.approx(-0.4, abs=0.02)
    assert cause.leaves == int(mask.sum())
    assert cause.actual_denominator is None and result.mix_share == 0.0
    assert result.to_dict()["causes"][0]["segment"] == north


def test_ratio_explanation_matches_hand_computation() -> None:
    phone = {"channel": "phone"}
    frame = rate([(phone, -0.15)])
    frame.loc[frame["region"] == "north", "responses"] += 50  # volumes move too (mix)
    frame.loc[frame["region"] == "north", "actual"] += 15
    result = explain_change(frame, DIMENSIONS, **RATIO)
    a, b = frame["actual"], frame["responses"]
    fa, fb = frame["expected"], frame["expected_responses"]
    overall = fa.sum() / fb.sum()
    assert result.kind == "ratio"
    assert result.expected == pytest.approx(overall)
    assert result.actual == pytest.approx(a.sum() / b.sum())
    assert result.change == pytest.approx(a.sum() / b.sum() - overall)
    (cause,) = result.causes
    mask = in_segment(frame, phone)
    assert cause.segment == phone
    assert cause.actual == pytest.approx(a[mask].sum() / b[mask].sum())
    assert cause.expected == pytest.approx(fa[mask].sum() / fb[mask].sum())
    assert cause.actual_denominator == pytest.approx(b[mask].sum())
    part = ((a[mask] - fa[mask]) - overall * (b[mask] - fb[mask])).sum() / b.sum()
    assert cause.change == pytest.approx(part)
    assert cause.share == pytest.approx(part / result.change)
    assert cause.effect == pytest.approx(-0.15, abs=0.03)  # a shift of the rate
    assert result.mix_share != 0.0


def test_ratio_contributions_add_up_to_the_change() -> None:
    frame = rate([({"channel": "web"}, -0.1)])
    frame["responses"] = frame["responses"] * np.linspace(0.5, 1.5, len(frame))
    table = read_leaves(frame, DIMENSIONS, actual="actual", expected="expected", **RATIO)
    assert table.contribution().sum() == pytest.approx(table.actual_kpi() - table.expected_kpi())
    assert table.mix_contribution().sum() != pytest.approx(0.0)


def test_causes_are_ranked_by_their_part_of_the_change() -> None:
    frame = additive([({"region": "north"}, -0.2), ({"region": "east", "channel": "app"},
                                                    -0.9)])
    result = explain_change(frame, DIMENSIONS)
    parts = [abs(cause.change) for cause in result.causes]
    assert parts == sorted(parts, reverse=True)
    assert len(parts) == 2


def test_dimension_values_come_back_as_text() -> None:
    frame = additive([({"region": "north"}, -0.5)])
    frame["region"] = frame["region"].map({r: 500 * (i + 1) for i, r in enumerate(REGIONS)})
    assert localize(frame, DIMENSIONS) == [{"region": "500"}]


def test_max_layer_limits_how_many_dimensions_a_cause_fixes() -> None:
    frame = additive([({"region": "south", "channel": "web", "segment": "consumer"}, -0.8)])
    found = localize(frame, DIMENSIONS, config=LocalizeConfig(max_layer=2))
    assert all(len(cause) <= 2 for cause in found)


def test_empty_table_has_no_cause() -> None:
    empty = additive([]).iloc[0:0]
    assert localize(empty, DIMENSIONS) == []


# -- input validation --------------------------------------------------------------------------

def _drop(column: str) -> Any:
    return lambda f: f.drop(columns=column)


def _set(column: str, value: Any, row: int = 0) -> Any:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return change


BAD_TABLES = [
    pytest.param(_drop("channel"), {}, "missing columns", id="missing-dimension"),
    pytest.param(_drop("actual"), {}, "missing columns", id="missing-actual"),
    pytest.param(lambda f: pd.concat([f, f.iloc[:1]]), {}, "repeat a leaf", id="repeated-leaf"),
    pytest.param(lambda f: f, {"actual_denominator": "responses"}, "both",
                 id="one-denominator"),
    pytest.param(_set("actual", "many"), {}, "must be numeric", id="text-value"),
    pytest.param(_set("expected", np.nan), {}, "missing or infinite", id="missing-value"),
    pytest.param(_set("responses", -3.0), RATIO, "negative", id="negative-denominator"),
    pytest.param(lambda f: f.assign(responses=0.0), RATIO, "positive total",
                 id="zero-denominators"),
]


@pytest.mark.parametrize(("spoil", "options", "message"), BAD_TABLES)
def test_bad_tables_raise_a_clear_error(spoil: Any, options: dict[str, str],
                                        message: str) -> None:
    frame = spoil(rate([]))
    with pytest.raises(LocalizeError, match=message) as raised:
        localize(frame, DIMENSIONS, **options)
    assert isinstance(raised.value, SmokejumperError)


@pytest.mark.parametrize(("leaves", "dimensions", "message"), [
    pytest.param([1, 2], DIMENSIONS, "DataFrame", id="not-a-frame"),
    pytest.param(None, [], "non-empty list", id="no-dimensions"),
    pytest.param(None, "region", "non-empty list", id="dimension-as-text"),
    pytest.param(None, ["region", "region"], "repeated", id="repeated-dimension"),
    pytest.param(None, ["region", "actual"], "both as dimension and as value",
                 id="dimension-is-value"),
])
def test_bad_arguments_raise_a_clear_error(leaves: Any, dimensions: Any, message: str) -> None:
    with pytest.raises(LocalizeError, match=message):
        localize(additive([]) if leaves is None else leaves, dimensions)


@pytest.mark.parametrize("options", [{"max_layer": 0}, {"max_causes": 0}, {"tail": -1.0},
                                     {"drift_sigmas": -1.0}])
def test_bad_config_raises(options: dict[str, float]) -> None:
    with pytest.raises(LocalizeError):
        LocalizeConfig(**options)  # type: ignore[arg-type]


# -- the Squeeze B0 cases ----------------------------------------------------------------------

RCA_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rca"


def _parse(text: str) -> set[frozenset[str]]:
    return {frozenset(part.split("&")) for part in text.split(";") if part}


@pytest.mark.slow
def test_squeeze_b0_pooled_f1_per_setting() -> None:
    settings = sorted(p for p in RCA_DATA.glob("*") if (p / "injection_info.csv").exists())
    if not settings:
        reason = f"the Squeeze B0 cases are not at {RCA_DATA}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)",
                        pytrace=False)
        pytest.skip(reason)
    scores = {}
    for folder in settings:
        truth = pd.read_csv(folder / "injection_info.csv")
        tp = fp = fn = 0
        for timestamp, label in zip(truth["timestamp"], truth["set"], strict=True):
            frame = pd.read_csv(folder / f"{timestamp}.csv", dtype=str)
            frame[["real", "predict"]] = frame[["real", "predict"]].astype(float)
            found = localize(frame, ["a", "b", "c", "d"], actual="real", expected="predict")
            predicted = {frozenset(f"{k}={v}" for k, v in c.items()) for c in found}
            true = _parse(label)
            tp += len(predicted & true)
            fp += len(predicted - true)
            fn += len(true - predicted)
        scores[folder.name] = 2 * tp / (2 * tp + fp + fn)
    assert len(scores) == 9
    assert min(scores.values()) >= 0.95, scores


# -- a broader sweep of synthetic ratio KPIs ---------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nps", "failure"])
def test_ratio_kpi_sweep(kind: str) -> None:
    """Ten seeds of one- and two-dimension causes, one to three of them: pooled F1."""
    effects = (0.05, 0.2) if kind == "failure" else (0.15, 0.4)
    tp = fp = fn = 0
    for seed, layer, n_causes in itertools.product(range(10), (1, 2), (1, 2, 3)):
        case = ratio_case(seed, kind=kind, layer=layer, n_causes=n_causes,  # type: ignore[arg-type]
                          effects=effects)
        found = {frozenset(c.items())
                 for c in localize(case.leaves, case.dimensions, **case.columns)}
        planted = {frozenset(c.items()) for c in case.causes}
        tp, fp, fn = tp + len(found & planted), fp + len(found - planted), fn + len(planted - found)
    assert 2 * tp / (2 * tp + fp + fn) >= 0.95
