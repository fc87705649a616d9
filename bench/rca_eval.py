"""Root-cause localisation on the Squeeze B0 cases: exact-match F1 and time per case.

Usage: python bench/rca_eval.py [DATA] [--details] [--synthetic SEEDS]

DATA defaults to ../shared/data/rca relative to the repository (one folder per setting,
each with ``<timestamp>.csv`` cases and ``injection_info.csv``; see its README). Prints
one JSON document: per setting and overall, the pooled F1 (2·TP / (2·TP + FP + FN)),
TP/FP/FN, and the mean and max seconds of ``smokejumper.smoke.localize`` per case
(reading the CSV not included; one untimed call first, so that importing SciPy is not
counted against the first case), with, as a baseline measured in the same run, the time
of one pandas ``groupby(...).sum()`` of every cuboid the search considers, and the ratio
of the two. ``--details`` adds every case with its truth and prediction.

``--synthetic SEEDS`` adds the same scores on seeded synthetic cases
(``smokejumper.smoke.synthetic``): an additive volume, an NPS-like rate and a failure
rate, causes fixing one to three dimensions, one to three causes, with and without an
ordinary drift of every segment, SEEDS cases each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from smokejumper.smoke import localize

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rca"
ATTRIBUTES = ["a", "b", "c", "d"]


def parse_causes(text: str) -> set[frozenset[str]]:
    """``a=a1&b=b2;c=c3`` → {{"a=a1", "b=b2"}, {"c=c3"}}."""
    return {frozenset(part.split("&")) for part in str(text).split(";") if part}


def as_causes(segments: list[dict[str, str]]) -> set[frozenset[str]]:
    return {frozenset(f"{k}={v}" for k, v in segment.items()) for segment in segments}


def groupby_baseline(frame: pd.DataFrame) -> float:
    """Seconds for one pandas groupby-sum of every cuboid up to all four attributes."""
    start = time.perf_counter()
    for layer in range(1, len(ATTRIBUTES) + 1):
        for cuboid in combinations(ATTRIBUTES, layer):
            frame.groupby(list(cuboid), sort=False)[["real", "predict"]].sum()
    return time.perf_counter() - start


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    seconds = [r["seconds"] for r in rows]
    baseline = statistics.mean(r["baseline_seconds"] for r in rows)
    return {"cases": len(rows), "f1": round(f1(tp, fp, fn), 4), "tp": tp, "fp": fp, "fn": fn,
            "mean_seconds": round(statistics.mean(seconds), 4),
            "max_seconds": round(max(seconds), 4),
            "baseline_groupby_seconds": round(baseline, 4),
            "ratio_to_baseline": round(statistics.mean(seconds) / baseline, 1)}


def evaluate(data: Path) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    by_setting: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(p for p in data.iterdir() if (p / "injection_info.csv").exists()):
        truth = pd.read_csv(folder / "injection_info.csv")
        for timestamp, label in zip(truth["timestamp"], truth["set"], strict=True):
            frame = pd.read_csv(folder / f"{timestamp}.csv", dtype={a: str for a in ATTRIBUTES})
            start = time.perf_counter()
            predicted = localize(frame, ATTRIBUTES, actual="real", expected="predict")
            seconds = time.perf_counter() - start
            true_set, predicted_set = parse_causes(label), as_causes(predicted)
            tp = len(true_set & predicted_set)
            by_setting.setdefault(folder.name, []).append({
                "case": f"{folder.name}/{timestamp}", "tp": tp,
                "fp": len(predicted_set) - tp, "fn": len(true_set) - tp,
                "seconds": seconds, "baseline_seconds": groupby_baseline(frame),
                "truth": label,
                "predicted": ";".join("&".join(f"{k}={v}" for k, v in p.items())
                                      for p in predicted)})
    every = [row for rows in by_setting.values() for row in rows]
    return by_setting, every


def synthetic(seeds: int) -> dict[str, Any]:
    """Pooled scores on seeded synthetic cases, one entry per kind × layer × drift."""
    from smokejumper.smoke.synthetic import additive_case, ratio_case

    out: dict[str, Any] = {}
    for kind in ("additive", "nps", "failure"):
        for layer in (1, 2, 3):
            for drift in (0.0, 0.03):
                rows = []
                for seed in range(seeds):
                    for n_causes in (1, 2, 3):
                        options: dict[str, Any] = {"n_causes": n_causes, "layer": layer,
                                                   "drift": drift}
                        try:
                            if kind == "additive":
                                case = additive_case(seed, **options)
                            else:
                                effects = (0.05, 0.2) if kind == "failure" else (0.15, 0.4)
                                case = ratio_case(seed, kind=kind,  # type: ignore[arg-type]
                                                  effects=effects, **options)
                        except ValueError:  # no room for that many disjoint causes
                            continue
                        start = time.perf_counter()
                        found = localize(case.leaves, case.dimensions, **case.columns)
                        seconds = time.perf_counter() - start
                        true_set = {frozenset(f"{k}={v}" for k, v in c.items())
                                    for c in case.causes}
                        tp = len(true_set & as_causes(found))
                        rows.append({"tp": tp, "fp": len(found) - tp, "fn": len(true_set) - tp,
                                     "seconds": seconds, "baseline_seconds": 1.0})
                name = f"{kind}_layer_{layer}" + ("_drift" if drift else "")
                score = summary(rows)
                for key in ("baseline_groupby_seconds", "ratio_to_baseline"):
                    score.pop(key)
                out[name] = score
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA,
                        help="folder of setting folders (default: ../shared/data/rca)")
    parser.add_argument("--details", action="store_true", help="list every case")
    parser.add_argument("--synthetic", type=int, default=0, metavar="SEEDS",
                        help="also score seeded synthetic cases, SEEDS of each kind")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no RCA data at {args.data}", file=sys.stderr)
        return 2
    from smokejumper.smoke.synthetic import additive_case

    warm_up = additive_case(0)
    localize(warm_up.leaves, warm_up.dimensions, **warm_up.columns)
    by_setting, every = evaluate(args.data)
    if not every:
        print(f"no cases under {args.data}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "data": str(args.data),
        "settings": {name: summary(rows) for name, rows in by_setting.items()},
        "overall": summary(every),
    }
    result["overall"]["min_setting_f1"] = min(s["f1"] for s in result["settings"].values())
    if args.synthetic:
        result["synthetic"] = synthetic(args.synthetic)
    if args.details:
        result["cases"] = [{k: (round(v, 4) if isinstance(v, float) else v)
                            for k, v in row.items()} for row in every]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
