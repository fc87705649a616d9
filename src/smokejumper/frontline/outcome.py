"""Did coaching work? Difference in differences: each mentee's change in their coached
area after the pair started, less the change of unpaired agents in the same area over
the same dates, on case-mix adjusted outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from smokejumper.errors import FrontlineError
from smokejumper.frontline.measures import cell_statistics, fetch, resolve_measure
from smokejumper.metrics.intervals import z_value

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

PERIOD = "_week"


def weekly_statistics(tables: Mapping[str, ir.Table], measure: str, area: str,
                      cells: tuple[str, ...]) -> pd.DataFrame:
    """Per agent × cell × week n, sum and sum of squares of ``measure`` (engine side)."""
    spec = resolve_measure(measure)
    table = tables[spec.table]
    keys = tuple(c for c in dict.fromkeys((area, *cells)) if c in table.columns)
    return fetch(cell_statistics(table, spec, ["agent_id"], keys,
                                 {PERIOD: table.ts.truncate("W")}))


def difference_in_differences(weekly: pd.DataFrame, pairs: pd.DataFrame, measure: str,
                              area: str = "contact_reason", cells: tuple[str, ...] = (),
                              level: float = 0.95) -> pd.DataFrame:
    """One row per pair, per area and overall (``scope``): mentee change, control change,
    effect (their difference), low, high, n before and after; outcomes in the measure's
    units, higher is better for the customer as the measure defines it.

    Overall and per-area effects weight pairs by the mentee's responses after the start.
    """
    import pandas as pd

    if pairs.empty:
        raise FrontlineError("no coaching pairs to measure (record some with record-pair)")
    spec = resolve_measure(measure)
    sign = 1.0 if spec.higher_is_better else -1.0
    keys = list(dict.fromkeys((area, *cells)))
    data = weekly.copy()
    cell_codes = data.groupby(keys, sort=False).ngroup().to_numpy()
    n = data["n"].to_numpy(float)
    total = sign * data["total"].to_numpy(float)
    cell_mean = np.bincount(cell_codes, total) / np.maximum(np.bincount(cell_codes, n), 1)
    data["residual"] = total - n * cell_mean[cell_codes]
    squares = data["squares"].to_numpy(float)
    residual_ss = squares - 2 * total * cell_mean[cell_codes] + n * cell_mean[cell_codes] ** 2
    sigma2 = float(residual_ss.sum() / max(n.sum() - cell_mean.size, 1))
    week = pd.to_datetime(data[PERIOD])
    paired = set(pairs["mentee"])
    z = z_value(level)
    rows = []
    for pair in pairs.itertuples():
        start = pd.Timestamp(pair.start)
        end = pd.Timestamp(pair.end) if getattr(pair, "end", None) else None
        in_area = data[area].to_numpy() == pair.area
        after = (week >= start).to_numpy()
        if end is not None:
            after &= (week < end).to_numpy()
        before = (week < start).to_numpy()
        frame = data[in_area]
        post = frame[after[in_area]].groupby("agent_id")[["n", "residual"]].sum()
        pre = frame[before[in_area]].groupby("agent_id")[["n", "residual"]].sum()
        both = post.join(pre, lsuffix="_post", rsuffix="_pre", how="inner")
        both = both[(both.n_post > 0) & (both.n_pre > 0)]
        change = both.residual_post / both.n_post - both.residual_pre / both.n_pre
        h = 1.0 / (1.0 / both.n_post + 1.0 / both.n_pre)
        if pair.mentee not in both.index:
            continue
        controls = ~both.index.isin(paired)
        if not controls.any():
            continue
        control = float((h[controls] * change[controls]).sum() / h[controls].sum())
        mentee_change = float(change[pair.mentee])
        variance = sigma2 / float(h[pair.mentee]) + sigma2 / float(h[controls].sum())
        rows.append({"scope": "pair", "mentee": pair.mentee, "area": pair.area,
                     "mentee_change": mentee_change, "control_change": control,
                     "effect": mentee_change - control, "variance": variance,
                     "n_before": int(both.n_pre[pair.mentee]),
                     "n_after": int(both.n_post[pair.mentee])})
    if not rows:
        raise FrontlineError("no pair has outcomes both before and after its start")
    per_pair = pd.DataFrame(rows)
    summaries = [_pool(per_pair, "overall", None)]
    summaries += [_pool(part, "area", name) for name, part in per_pair.groupby("area")]
    out = pd.concat([pd.DataFrame(summaries), per_pair], ignore_index=True)
    half = z * np.sqrt(out["variance"])
    out["low"] = out["effect"] - half
    out["high"] = out["effect"] + half
    out["measure"] = measure
    return out[["scope", "area", "mentee", "measure", "effect", "low", "high",
                "mentee_change", "control_change", "n_before", "n_after"]]


def _pool(part: pd.DataFrame, scope: str, area: str | None) -> dict[str, object]:
    w = part["n_after"].to_numpy(float)
    w = w / w.sum()
    return {"scope": scope, "mentee": None, "area": area,
            "mentee_change": float((w * part.mentee_change).sum()),
            "control_change": float((w * part.control_change).sum()),
            "effect": float((w * part.effect).sum()),
            "variance": float((w**2 * part.variance).sum()),
            "n_before": int(part.n_before.sum()), "n_after": int(part.n_after.sum())}
