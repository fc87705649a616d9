"""The demo company's customers: segment, region, tenure, revenue, contact propensity, and
the hidden leaning that colours everything they say."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from smokejumper.simulate import model as m


@dataclass
class Customers:
    """One block of customers as arrays; ``number`` is the global customer number."""

    number: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    joined_day: np.ndarray  # days from the period start; negative: joined before
    joined_s: np.ndarray  # seconds from the period start
    revenue: np.ndarray
    propensity: np.ndarray
    bias: np.ndarray
    treated: np.ndarray
    contract: np.ndarray
    churn_s: np.ndarray | None = None  # seconds from the period start; inf when still a customer

    def __len__(self) -> int:
        return len(self.number)

    @property
    def first_active_day(self) -> np.ndarray:
        return np.maximum(self.joined_day, 0)


def generate_customers(rng: np.random.Generator, first_number: int, n: int) -> Customers:
    """``n`` customers numbered from ``first_number``."""
    number = np.arange(first_number, first_number + n, dtype=np.int64)
    segment = rng.choice(len(m.SEGMENTS), size=n, p=m.SEGMENT_SHARE).astype(np.int8)
    region = rng.choice(len(m.REGIONS), size=n, p=m.REGION_SHARE).astype(np.int8)
    new = rng.random(n) < m.NEW_CUSTOMER_SHARE
    tenure_days = np.minimum(rng.exponential(m.MEAN_TENURE_YEARS * 365.25, n), 30 * 365.25)
    joined_day = np.where(new, rng.integers(0, m.N_DAYS - 30, n),
                          -np.ceil(tenure_days).astype(np.int64) - 1).astype(np.int32)
    joined_s = joined_day.astype(np.int64) * m.DAY_S + rng.integers(8 * 3600, 20 * 3600, n)
    medians = np.array([m.REVENUE[s][0] for s in m.SEGMENTS])
    sds = np.array([m.REVENUE[s][1] for s in m.SEGMENTS])
    revenue = np.round(medians[segment] * np.exp(rng.normal(0.0, 1.0, n) * sds[segment]), 2)
    propensity = np.exp(rng.normal(-m.PROPENSITY_SD**2 / 2, m.PROPENSITY_SD, n))
    bias = rng.normal(0.0, m.CUSTOMER_BIAS_SD, n)
    contract = rng.random(n) < np.array(m.CONTRACT_SHARE)[segment]
    return Customers(number, segment, region, joined_day, joined_s, revenue, propensity, bias,
                     m.treated_customers(number), contract)


def customer_ids(number: np.ndarray) -> pa.Array:
    """``C0000042`` style identifiers."""
    return format_ids("C", number, 7)


def format_ids(prefix: str, number: np.ndarray, width: int) -> pa.Array:
    """Zero-padded identifiers built in Arrow (no Python string per row)."""
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(number, pa.int64()), pa.string()), width=width,
                          padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds from the period start (NaN/inf = null) as UTC timestamps without a zone."""
    seconds = np.asarray(seconds, dtype=np.float64)
    missing = ~np.isfinite(seconds)
    micros = (np.where(missing, 0, seconds).astype(np.int64) + m.EPOCH_START_S) * 1_000_000
    return pa.array(micros, pa.timestamp("us"), mask=missing if missing.any() else None)


def customers_table(c: Customers) -> pa.Table:
    """The canonical customers table of a block (after churn is known)."""
    assert c.churn_s is not None
    end_s = np.minimum(c.churn_s, m.N_DAYS * m.DAY_S)
    tenure_months = np.round((end_s - c.joined_s) / (30.4375 * m.DAY_S), 1)
    return pa.table({
        "customer_id": customer_ids(c.number),
        "segment": labels(c.segment, m.SEGMENTS),
        "region": labels(c.region, m.REGIONS),
        "tenure_months": pa.array(np.maximum(tenure_months, 0.0), pa.float64()),
        "revenue": pa.array(c.revenue, pa.float64()),
        "joined_at": timestamps(c.joined_s),
        "churned_at": timestamps(c.churn_s),
    })


def labels(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.Array:
    """Integer codes (-1 = null) as a plain string array."""
    codes = np.asarray(codes)
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes).astype(np.int32),
                       mask=missing if missing.any() else None)
    return pa.array(list(names), pa.string()).take(indices)
