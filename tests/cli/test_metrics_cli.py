"""``smokejumper metrics``: JSON rows that match a hand computation, --list, clear errors."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import smokejumper
from smokejumper.cli.testing import invoke as run

TOUCHPOINTS = ["billing", "call_centre", "web"]




@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    """A DuckDB workspace with 400 seeded survey responses over Jan-Apr 2025 (read-only)."""
    import ibis

    rng = np.random.default_rng(11)
    size = 400
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 120 * 86_400, size), "s")
    scores = [None if rng.random() < 0.1 else int(v) for v in rng.integers(0, 11, size)]
    frame = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(size)],
        "ts": ts.astype("datetime64[us]"),
        "touchpoint": rng.choice(TOUCHPOINTS, size).tolist(),
        "nps": scores,
        "csat": [int(v) for v in rng.integers(1, 6, size)],
    })
    root = tmp_path_factory.mktemp("metrics-cli") / "ws"
    ws = smokejumper.Workspace.init(root)
    schema = ws.analytics.table("responses").schema()
    data = frame.reindex(columns=schema.names).astype(object)
    data = data.where(data.notna(), None)
    data["ts"] = frame["ts"]
    ws.analytics.backend.insert("responses", ibis.memtable(data, schema=schema))
    ws.close()
    return str(root), frame


def hand_nps(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """NPS by touchpoint × month, one response at a time, with the multinomial interval."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in frame.itertuples():
        if pd.isna(row.nps):
            continue
        key = (row.touchpoint, f"{row.ts.year:04d}-{row.ts.month:02d}-01T00:00:00")
        counts[key][0] += 1
        counts[key][1] += row.nps >= 9
        counts[key][2] += row.nps <= 6
    z = stats.norm.ppf(0.975)
    expected = {}
    for key, (n, promoters, detractors) in counts.items():
        p_promoter, p_detractor = promoters / n, detractors / n
        score = p_promoter - p_detractor
        half = z * math.sqrt((p_promoter + p_detractor - score * score) / n)
        expected[key] = {"value": 100 * score, "n": n,
                         "low": 100 * max(score - half, -1.0),
                         "high": 100 * min(score + half, 1.0)}
    return expected


def test_nps_by_touchpoint_and_month_json_matches_hand_computation(workspace, capsys):
    path, frame = workspace
    code, out, err = run(["-w", path, "metrics", "nps", "--by", "touchpoint", "--grain",
                          "month", "--format", "json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert set(rows[0]) == {"touchpoint", "period", "metric", "value", "n", "low", "high"}
    got = {(r["touchpoint"], r["period"]): {k: r[k] for k in ("value", "n", "low", "high")}
           for r in rows}
    expected = hand_nps(frame)
    assert len(rows) == len(expected) == 12  # 3 touchpoints × 4 months
    assert got == expected  # exactly: the same arithmetic on the same integers
    assert [(r["touchpoint"], r["period"]) for r in rows] == sorted(got)


def test_filters_dates_and_csv(workspace, capsys):
    path, frame = workspace
    code, out, _ = run(["-w", path, "metrics", "nps", "csat", "--filter", "touchpoint=web",
                        "--start", "2025-02-01", "--end", "2025-03-01", "--format", "csv"],
                       capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "metric,value,n,low,high"
    kept = frame[(frame["touchpoint"] == "web") & (frame["ts"] >= "2025-02-01")
                 & (frame["ts"] < "2025-03-01")]
    csat_n = int(lines[2].split(",")[2])
    assert lines[1].startswith("nps,") and lines[2].startswith("csat,")
    assert csat_n == len(kept)


def test_table_output(workspace, capsys):
    path, frame = workspace
    code, out, _ = run(["-w", path, "metrics", "responses", "--by", "touchpoint",
                        "--grain", "year"], capsys)
    assert code == 0
    assert "responses by touchpoint per year" in out
    assert "2025-01-01" in out
    assert f"{(frame['touchpoint'] == 'web').sum()}" in out


def test_several_dimensions_by_repeating_or_commas(workspace, capsys):
    path, _ = workspace
    outputs = []
    for by in (["--by", "touchpoint,channel"], ["--by", "touchpoint", "-b", "channel"]):
        code, out, _ = run(["-w", path, "metrics", "csat", *by, "--format", "json"], capsys)
        assert code == 0
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1]
    assert {"touchpoint", "channel"} <= set(outputs[0][0])


def test_list_shows_builtins_and_workspace_metrics(tmp_path, capsys):
    path = str(tmp_path)
    smokejumper.Workspace.init(tmp_path).close()
    with open(f"{path}/smokejumper.toml", "a", encoding="utf-8") as toml:
        toml.write('\n[metrics.low_effort]\nkind = "share"\ncolumn = "ces"\n'
                   'condition = "ces <= 2"\nscale = 100\n')
    code, out, _ = run(["-w", path, "metrics", "--list", "--format", "json"], capsys)
    assert code == 0
    definitions = {d["name"]: d for d in json.loads(out)}
    assert {"nps", "csat", "csat_mean", "ces", "responses", "fcr", "repeat_rate",
            "churn_rate", "aht", "aov", "upsell_rate", "contacts", "low_effort"} <= set(
        definitions)
    assert definitions["low_effort"]["interval"] == "wilson"
    assert definitions["nps"]["builtin"] is True
    code, out, _ = run(["-w", path, "metrics", "--list"], capsys)
    assert code == 0 and "churn_rate" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["nps", "--by", "shoe_size"], "has no dimension 'shoe_size'; available:"),
    (["nsp"], "unknown metric 'nsp'; available: nps, csat"),
    (["nps", "--grain", "fortnight"], "unknown grain 'fortnight'; choose one of day, week"),
    (["nps", "--filter", "touchpoint"], "write COLUMN=VALUE"),
    (["nps", "--filter", "colour=red"], "has no filter column 'colour'"),
    (["nps", "--start", "yesterday-ish"], "not a date or time"),
    ([], "name at least one metric"),
])
def test_user_errors_are_one_line(workspace, capsys, argv, message):
    path, _ = workspace
    code, out, err = run(["-w", path, "metrics", *argv], capsys)
    assert code == 1
    assert out == ""
    assert message in " ".join(err.split())
    assert err.strip().count("\n") == 0 or len(err) > 120  # soft-wrapped, not a traceback
    assert "Traceback" not in err
