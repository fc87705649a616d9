"""Seeded synthetic survey data for the key driver tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def survey(rows: int, drivers: int, seed: int, *, noise: float = 1.0) -> pd.DataFrame:
    """Correlated drivers (two shared factors) and an outcome with decreasing planted weights.

    Driver ``d00`` matters most, the last one not at all.
    """
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((rows, 2))
    x = factors @ rng.uniform(0.2, 0.7, size=(2, drivers)) + rng.standard_normal((rows, drivers))
    weights = np.linspace(1.0, 0.0, drivers)
    df = pd.DataFrame(x, columns=[f"d{i:02d}" for i in range(drivers)])
    df["outcome"] = x @ weights + noise * rng.standard_normal(rows)
    return df


def driver_names(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("d")]
