"""Root causes inside an alert's segment: the combinations of the other dimensions that
explain its change, each with its share (localised with
:func:`~smokejumper.smoke.explain_change` on the segment's leaves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from smokejumper.smoke.segments import MISSING, PanelBuilder


def root_causes(builder: PanelBuilder, frame: pd.DataFrame, dimensions: Sequence[str], metric: str,
                segment: dict[str, str], start: int, end: int, sign: float,
                periods: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """The combinations inside ``segment`` that explain its change in ``[start, end)``,
    each with its share of the segment's change: the segment's leaves (every other
    dimension), the window against the periods before it, localised with
    :func:`~smokejumper.smoke.explain_change`. A change spread over the whole segment
    has the segment itself as its one cause."""
    from smokejumper.smoke.localize import LocalizeConfig, explain_change

    whole_cause = [{"segment": dict(segment), "share": 1.0}]
    inside = np.zeros(len(frame), dtype=bool)
    inside[builder.keep] = builder.row_mask(segment)
    others = [d for d in dimensions if d not in segment]
    leaves = _window_leaves(frame[inside], others, metric, start, end, periods)
    residual = (leaves["actual"] - leaves["expected"]).to_numpy() * sign
    whole = -float(residual.sum())
    if leaves.empty or not others or whole <= 0:
        return whole_cause
    explanation = explain_change(leaves, others, actual="actual", expected="expected",
                                 actual_denominator="responses",
                                 expected_denominator="expected_responses",
                                 config=LocalizeConfig(max_layer=2))
    causes: list[dict[str, Any]] = []
    for cause in explanation.causes:
        found = {k: v for k, v in cause.segment.items() if v != MISSING}
        part = -float(residual[_mask(leaves, found)].sum())
        if found and part > 0:
            causes.append({"segment": {**segment, **found},
                           "share": round(min(part / whole, 1.0), 4)})
    causes.sort(key=lambda c: -float(c["share"]))
    if not causes or sum(float(c["share"]) for c in causes) < 0.5:
        return whole_cause  # no part of the segment explains most of its change
    return causes


def _mask(leaves: pd.DataFrame, segment: dict[str, str]) -> np.ndarray:
    mask = np.ones(len(leaves), dtype=bool)
    for dimension, value in segment.items():
        mask &= (leaves[dimension] == value).to_numpy()
    return mask


def _window_leaves(frame: pd.DataFrame, dimensions: Sequence[str], metric: str,
                   start: int, end: int, periods: pd.DatetimeIndex) -> pd.DataFrame:
    """Per leaf: the window's score sum and responses, and what the mean score of the
    periods before it (shrunk towards the overall one) would give at the window's volume."""
    from smokejumper.metrics.cube import PERIOD

    n_col, s_col = f"{metric}:n", f"{metric}:sum"
    index = periods.get_indexer(frame[PERIOD])
    in_window = (index >= start) & (index < end)
    keys = list(dimensions)
    inside = frame[in_window].groupby(keys, observed=True)[[n_col, s_col]].sum()
    outside = frame[index < start].groupby(keys, observed=True)[[n_col, s_col]].sum()
    overall = outside[s_col].sum() / max(outside[n_col].sum(), 1.0)
    table = inside.join(outside, rsuffix="_out", how="left").fillna(0.0)
    table = table[table[n_col] > 0]
    prior = 20.0
    rate = (table[f"{s_col}_out"] + prior * overall) / (table[f"{n_col}_out"] + prior)
    out = table.reset_index()[keys].astype(str)
    out["responses"] = table[n_col].to_numpy()
    out["expected_responses"] = out["responses"]
    out["actual"] = table[s_col].to_numpy()
    out["expected"] = (rate * table[n_col]).to_numpy()
    return out
