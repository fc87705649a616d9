"""Key driver analysis speed on a million rows, against the bare row pass in the same run.

Usage: python bench/drivers_bench.py [--rows 1000000] [--repeat 3] [--seed 0]

Generates seeded survey-like data (correlated drivers sharing a few latent factors, an outcome
that depends on most of them), then times ``key_drivers`` with ``bootstrap=0``:

- exact Shapley, 15 drivers (goal ≤ 5 s);
- 30 drivers: sampled Shapley and relative weights (goal ≤ 10 s);
- for reference, 200 bootstrap replicates (exact Shapley on 15 drivers, sampled on 30) and
  the logistic variant (15 drivers, a 0/1 outcome), each timed once.

The baseline is one bare ``XᵀX`` over the same float64 matrix (the least any covariance-based
method must do); ``ratio`` is each time over that baseline. Prints one JSON document; times
are medians over ``--repeat`` runs after a warm-up. BLAS runs one thread unless
``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) is set; the JSON says which.
"""

from __future__ import annotations

import os

# One BLAS thread unless the environment says otherwise: on a 2-core machine a second thread
# buys little for these tall, narrow products, and when other processes compete for the cores
# OpenBLAS's spinning threads stall (measured: a 0.1 s XᵀX taking 4 s). Set before numpy loads.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from smokejumper.drivers import key_drivers  # noqa: E402

GOALS_S = {"exact_shapley_15": 5.0, "sampled_shapley_30": 10.0, "relative_weights_30": 10.0}


def make_data(rows: int, drivers: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Drivers loading on 3 latent factors plus noise; outcome = weighted drivers + noise.

    Returns the frame (drivers, a numeric ``outcome``, a 0/1 ``detractor``) and driver names.
    """
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((rows, 3))
    loadings = rng.uniform(0.2, 0.8, size=(3, drivers))
    x = factors @ loadings + rng.standard_normal((rows, drivers))
    signal = x @ (np.linspace(1.0, 0.0, drivers) ** 2)
    y = signal + signal.std() * rng.standard_normal(rows)  # R² about 0.5, as in surveys
    names = [f"driver_{i:02d}" for i in range(drivers)]
    columns: dict[str, Any] = {name: x[:, i] for i, name in enumerate(names)}
    columns["outcome"] = y
    columns["detractor"] = y < np.quantile(y, 0.25)
    return pd.DataFrame(columns), names


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bare_row_pass_seconds(df: pd.DataFrame, columns: list[str], repeat: int) -> float:
    """The baseline: one ``XᵀX`` over the columns, already a float64 matrix in memory."""
    matrix = df[columns].to_numpy(np.float64)
    seconds, _ = timed(lambda: matrix.T @ matrix, repeat)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    df, names = make_data(args.rows, 30, args.seed)
    baseline = bare_row_pass_seconds(df, [*names, "outcome"], args.repeat)
    d15 = names[:15]

    cases: dict[str, Callable[[], pd.DataFrame]] = {
        "exact_shapley_15": lambda: key_drivers(df, "outcome", d15),
        "sampled_shapley_30": lambda: key_drivers(df, "outcome", names),
        "relative_weights_30": lambda: key_drivers(df, "outcome", names, "relative_weights"),
        "exact_shapley_15_bootstrap_200": lambda: key_drivers(df, "outcome", d15, bootstrap=200),
        "sampled_shapley_30_bootstrap_200": lambda: key_drivers(df, "outcome", names,
                                                                bootstrap=200),
        "logistic_shapley_15": lambda: key_drivers(df, "detractor", d15, model="logistic"),
    }
    results: dict[str, Any] = {}
    for name, run in cases.items():
        seconds, table = timed(run, args.repeat if name in GOALS_S else 1)
        entry: dict[str, Any] = {
            "seconds": round(seconds, 3),
            "ratio_to_bare_xtx": round(seconds / baseline, 1),
            "r2": round(float(table.attrs["r2"]), 4),
            "exact": bool(table.attrs["exact"]),
        }
        if not table.attrs["exact"]:
            entry["max_mc_error"] = float(table["mc_error"].max())
        if name in GOALS_S:
            entry["goal_seconds"] = GOALS_S[name]
            entry["meets_goal"] = seconds <= GOALS_S[name]
        results[name] = entry

    print(json.dumps({
        "benchmark": "drivers",
        "rows": args.rows,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline_bare_xtx_31_columns_seconds": round(baseline, 3),
        "cases": results,
        "all_goals_met": all(r["meets_goal"] for r in results.values() if "meets_goal" in r),
    }, indent=2))


if __name__ == "__main__":
    main()
