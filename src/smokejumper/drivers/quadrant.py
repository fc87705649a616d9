"""Importance × performance: what to fix first, what to protect.

Each driver is placed by how much it moves the outcome (its share of explained variance, from
:func:`~smokejumper.drivers.key_drivers`) and how well the company does on it today (e.g. the mean
rating as a percentage of the scale). Cuts default to the averages across drivers:

============  ================  =================  =========================================
importance    performance       quadrant           meaning
============  ================  =================  =========================================
high          low               fix first          matters and is weak: the top priority
high          high              protect            matters and is strong: keep it that way
low           high              maintain           strong but matters less: don't over-invest
low           low               lower priority     weak but matters less: later
============  ================  =================  =========================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from smokejumper.errors import DriverError

FIX_FIRST = "fix first"
PROTECT = "protect"
MAINTAIN = "maintain"
LOWER_PRIORITY = "lower priority"
QUADRANTS = (FIX_FIRST, PROTECT, MAINTAIN, LOWER_PRIORITY)


def driver_performance(
    df: pd.DataFrame,
    drivers: Sequence[str],
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    lower_is_better: Sequence[str] = (),
) -> pd.Series:
    """Each driver's mean as a percentage of its scale (0 = worst end, 100 = best end).

    ``bounds`` gives a driver's scale ends (e.g. ``(1, 5)`` for a 5-point rating); without it
    the observed minimum and maximum are used. Drivers in ``lower_is_better`` (wait time,
    repeats) are flipped so that 100 is always good.

    >>> df = pd.DataFrame({"staff": [4, 5, 3], "wait_min": [2.0, 10.0, 4.0]})
    >>> driver_performance(df, ["staff", "wait_min"], bounds={"staff": (1, 5)},
    ...                    lower_is_better=["wait_min"]).round(1).to_dict()
    {'staff': 75.0, 'wait_min': 58.3}
    """
    bounds = dict(bounds or {})
    missing = [d for d in [*drivers, *bounds, *lower_is_better] if d not in df.columns]
    if missing:
        raise DriverError("unknown column(s): " + ", ".join(dict.fromkeys(missing)))
    values = {}
    for driver in drivers:
        column = pd.to_numeric(df[driver], errors="coerce").astype(float)
        low, high = bounds.get(driver, (float(column.min()), float(column.max())))
        if not high > low:
            raise DriverError(f"driver {driver!r} has no spread to measure performance on")
        score = 100.0 * (float(column.mean()) - low) / (high - low)
        values[driver] = 100.0 - score if driver in lower_is_better else score
    return pd.Series(values, name="performance", dtype=float)


def importance_performance(
    drivers: pd.DataFrame,
    performance: Mapping[str, float] | pd.Series,
    *,
    importance_cut: float | None = None,
    performance_cut: float | None = None,
) -> pd.DataFrame:
    """Place each driver in the importance × performance quadrant.

    ``drivers`` is a :func:`key_drivers` table (``driver`` and ``share`` columns). Returns
    ``driver, share, performance, quadrant``, ordered fix first, protect, maintain, lower
    priority and, within each, by share.

    >>> table = pd.DataFrame({"driver": ["staff", "wait", "price", "app"],
    ...                       "share": [0.4, 0.3, 0.2, 0.1]})
    >>> placed = importance_performance(table, {"staff": 80, "wait": 40, "price": 30, "app": 90})
    >>> placed[["driver", "quadrant"]].values.tolist()
    [['wait', 'fix first'], ['staff', 'protect'], ['app', 'maintain'], ['price', 'lower priority']]
    """
    for column in ("driver", "share"):
        if column not in drivers.columns:
            raise DriverError(f"the drivers table needs a {column!r} column")
    scores = pd.Series(performance, dtype=float)
    absent = [d for d in drivers["driver"] if d not in scores.index]
    if absent:
        raise DriverError("no performance given for: " + ", ".join(absent))
    out = drivers[["driver", "share"]].reset_index(drop=True).copy()
    out["performance"] = scores.reindex(out["driver"]).to_numpy()
    importance_cut = float(out["share"].mean()) if importance_cut is None else importance_cut
    performance_cut = (
        float(out["performance"].mean()) if performance_cut is None else performance_cut
    )
    important = out["share"].to_numpy() >= importance_cut
    strong = out["performance"].to_numpy() >= performance_cut
    out["quadrant"] = np.select(
        [important & ~strong, important & strong, ~important & strong],
        [FIX_FIRST, PROTECT, MAINTAIN],
        default=LOWER_PRIORITY,
    )
    order = out["quadrant"].map({name: rank for rank, name in enumerate(QUADRANTS)})
    out = out.assign(_order=order).sort_values(["_order", "share"], ascending=[True, False])
    out = out.drop(columns="_order").reset_index(drop=True)
    out.attrs.update(importance_cut=importance_cut, performance_cut=performance_cut)
    return out
