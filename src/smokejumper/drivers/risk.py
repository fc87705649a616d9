"""Churn and revenue at risk for a segment: ``ws.drivers.risk(segment={...})``.

A :class:`ChurnStudy` holds one workspace's churn inputs and fitted models. For a date
``as_of`` (default: the day after the workspace's last event) it fits
:func:`~smokejumper.drivers.churn.fit_churn_model` on rolling cutoffs whose horizon ended by
``as_of`` and scores every customer active at ``as_of``. A segment's expected lost customers is
the sum of their calibrated probabilities; its interval combines

* the Poisson-binomial variance of that sum, ``Σ p(1-p)`` (who leaves is still chance), and
* the model's own uncertainty: the variance of the sum over the bootstrap refits of the
  calibration (:class:`~smokejumper.drivers.churn.ChurnModel` ``platt_draws``),

as a normal interval (clipped to [0, customers]). Revenue at risk is ``Σ p · revenue`` with the
same two variance parts (``Σ p(1-p) revenue²``). When the horizon after ``as_of`` has already
passed in the data, the realised churn of the segment is given beside the forecast.

Segment keys are customer attributes (``segment``, ``region``: customers with that value) or
contact attributes (``touchpoint``, ``channel``, ``team_id``, ``contact_reason``, ``agent_id``
and the workspace's extra interaction dimensions: customers who had such a contact in the
feature window before ``as_of``; several contact keys must hold on the same contact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smokejumper.drivers.churn import (
    ChurnCalibration,
    ChurnModel,
    ChurnModelConfig,
    ChurnTables,
    churn_features,
    churn_tables,
    evaluate_churn_model,
    fit_churn_model,
    training_cutoffs,
)
from smokejumper.errors import DriverError

if TYPE_CHECKING:
    from smokejumper.workspace import Workspace

CUSTOMER_KEYS = ("segment", "region")
CONTACT_KEYS = ("touchpoint", "channel", "team_id", "contact_reason", "agent_id")
#: training rows (customers × cutoffs) above which a stable share of customers is used
MAX_TRAINING_ROWS = 400_000
MAX_VALUES_SHOWN = 25


@dataclass
class SegmentRisk:
    """Expected churn and revenue at risk of one segment over ``horizon_days`` from ``as_of``."""

    segment: dict[str, Any]
    horizon_days: int
    as_of: date
    customers: int
    expected_lost_customers: float
    lost_customers_low: float
    lost_customers_high: float
    revenue_at_risk: float | None
    revenue_at_risk_low: float | None
    revenue_at_risk_high: float | None
    customers_with_revenue: int
    segment_rate: float | None  # expected / customers
    base_rate: float  # share churning within the horizon at the training cutoffs (all)
    auc: float | None
    brier: float | None
    model_test_cutoff: date | None
    realised_lost_customers: int | None = None  # known when as_of + horizon is in the data
    realised_revenue_lost: float | None = None
    confidence: float = 0.95
    interval: str = ("normal: Poisson-binomial variance of the sum + variance over "
                     "bootstrap refits of the calibration")
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("attrs")
        for key in ("as_of", "model_test_cutoff"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


class ChurnStudy:
    """One workspace's churn inputs and models for one configuration (fits are cached)."""

    def __init__(self, ws: Workspace, config: ChurnModelConfig) -> None:
        self.ws = ws
        self.config = config
        self._tables: ChurnTables | None = None
        self._frames: dict[tuple[date, float], pd.DataFrame] = {}
        self._models: dict[date, ChurnModel] = {}
        self._calibration: ChurnCalibration | None = None

    @property
    def tables(self) -> ChurnTables:
        if self._tables is None:
            self._tables = churn_tables(self.ws, self.config.repeat_window_days)
        return self._tables

    # -- frames --------------------------------------------------------------------------------
    def frames(self, cutoffs: Sequence[date], fraction: float = 1.0) -> pd.DataFrame:
        """Feature rows for ``cutoffs`` (fetched once per cutoff; ``fraction`` < 1: a stable
        share of customers by id hash, for training)."""
        wanted = [c for c in cutoffs if (c, fraction) not in self._frames]
        if wanted:
            expr = churn_features(self.tables, wanted, self.config)
            if fraction < 1.0:
                bucket = expr.customer_id.hash().abs() % 10_000
                expr = expr.filter(bucket < int(round(fraction * 10_000)))
            with self.ws.reporter.progress(
                    f"building churn features for {len(wanted)} cutoff(s)"):
                fetched = expr.to_pandas()
            fetched["cutoff"] = pd.to_datetime(fetched["cutoff"]).dt.date
            for c in wanted:
                self._frames[(c, fraction)] = fetched[fetched["cutoff"] == c].reset_index(
                    drop=True)
        parts = [self._frames[(c, fraction)] for c in cutoffs]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def _fraction(self, cutoffs: Sequence[date]) -> float:
        customers = self.ws.table("customers").count().execute() if self.tables.has_customers \
            else self.tables.customers.count().execute()
        rows = max(int(customers), 1) * max(len(cutoffs), 1)
        return 1.0 if rows <= MAX_TRAINING_ROWS else MAX_TRAINING_ROWS / rows

    # -- models ----------------------------------------------------------------------------------
    def model(self, target: date) -> ChurnModel:
        """The calibrated model using only outcomes known by ``target``."""
        if target not in self._models:
            cutoffs = training_cutoffs(target, self.tables.first_day, self.config)
            if not cutoffs:
                span = (self.tables.last_day - self.tables.first_day).days
                need = self.config.window_days + self.config.horizon_days
                raise DriverError(
                    f"not enough history before {target.isoformat()} for a "
                    f"{self.config.horizon_days}-day horizon: the data covers {span} days "
                    f"from {self.tables.first_day.isoformat()}; one training cutoff needs "
                    f"{need} (window {self.config.window_days} + horizon "
                    f"{self.config.horizon_days}); try a shorter --horizon or --window")
            fraction = self._fraction(cutoffs)
            frame = self.frames(cutoffs, fraction)
            with self.ws.reporter.progress("fitting the churn model"):
                model = fit_churn_model(frame, self.config)
            model.attrs["training_fraction"] = fraction
            self._models[target] = model
        return self._models[target]

    @property
    def test_cutoff(self) -> date:
        """The latest cutoff whose whole horizon is in the data: the held-out test."""
        return self.tables.last_day - timedelta(days=self.config.horizon_days)

    def calibration(self, bins: int = 10) -> ChurnCalibration:
        """AUC, Brier score and reliability on the held-out test cutoff, with a model that
        saw only outcomes known by that cutoff."""
        if self._calibration is None or len(self._calibration.reliability) != bins:
            test = self.test_cutoff
            model = self.model(test)
            self._calibration = evaluate_churn_model(model, self.frames([test]), bins)
        return self._calibration

    # -- segments --------------------------------------------------------------------------------
    def segment_keys(self) -> tuple[list[str], list[str]]:
        """(customer keys, contact keys) valid on this workspace."""
        customer_keys = list(CUSTOMER_KEYS) if self.tables.has_customers else []
        columns = self.tables.contacts.columns
        contact_keys = [c for c in CONTACT_KEYS if c in columns]
        contact_keys += [c for c in columns if c not in contact_keys and c not in customer_keys
                         and c not in ("customer_id", "ts", "repeat", "handle_time_min",
                                       "order_value", "upsell")
                         and self.tables.contacts[c].type().is_string()]
        return customer_keys, contact_keys

    def _values(self, key: str, customer: bool) -> list[str]:
        table = self.tables.customers if customer else self.tables.contacts
        column = table[key]
        values = table.filter(column.notnull()).select(v=column.cast("string")).distinct()
        return sorted(str(v) for v in values.to_pandas()["v"])

    def check_segment(self, segment: Mapping[str, Any]) -> dict[str, list[str]]:
        """Segment as key → list of values; unknown keys or values raise one clear error."""
        customer_keys, contact_keys = self.segment_keys()
        valid = customer_keys + contact_keys
        unknown = [k for k in segment if k not in valid]
        if unknown:
            raise DriverError("unknown segment key(s): " + ", ".join(map(repr, unknown))
                              + "; use one of: " + ", ".join(valid))
        out: dict[str, list[str]] = {}
        for key, value in segment.items():
            values = [str(v) for v in value] if isinstance(value, list | tuple | set) \
                else [str(value)]
            known = self._values(key, key in customer_keys)
            missing = [v for v in values if v not in known]
            if missing:
                shown = ", ".join(known[:MAX_VALUES_SHOWN]) + (
                    f" (and {len(known) - MAX_VALUES_SHOWN} more)"
                    if len(known) > MAX_VALUES_SHOWN else "")
                raise DriverError(f"no {key} {', '.join(map(repr, missing))} in this "
                                  f"workspace; {key} values: {shown or 'none'}")
            out[key] = values
        return out

    def members(self, frame: pd.DataFrame, segment: Mapping[str, list[str]],
                as_of: date) -> pd.DataFrame:
        """The rows of ``frame`` (customers at ``as_of``) that belong to ``segment``."""
        customer_keys, _ = self.segment_keys()
        keep = np.ones(len(frame), dtype=bool)
        contact = {k: v for k, v in segment.items() if k not in customer_keys}
        for key, values in segment.items():
            if key in customer_keys:
                keep &= frame[key].astype("string").isin(values).fillna(False).to_numpy()
        if contact:
            c = self.tables.contacts
            start = datetime.combine(as_of - timedelta(days=self.config.window_days),
                                     datetime.min.time())
            end = datetime.combine(as_of, datetime.min.time())
            matched = c.filter(c.ts >= start, c.ts < end,
                               *[c[k].cast("string").isin(v) for k, v in contact.items()])
            who = set(matched.select("customer_id").distinct().to_pandas()["customer_id"])
            keep &= frame["customer_id"].isin(who).to_numpy()
        return frame[keep]

    def risk(self, segment: Mapping[str, Any] | None = None, as_of: date | None = None,
             confidence: float = 0.95) -> SegmentRisk:
        """Expected lost customers and revenue at risk of ``segment`` (None: everyone)."""
        if not 0 < confidence < 1:
            raise DriverError("confidence must be between 0 and 1")
        chosen = self.check_segment(segment or {})
        as_of = as_of or self.tables.last_day
        model = self.model(as_of)
        try:
            calibration: ChurnCalibration | None = self.calibration()
        except DriverError:
            calibration = None
        frame = self.members(self.frames([as_of]), chosen, as_of)
        p = model.predict(frame)
        draws = model.predict_draws(frame)
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        n = len(frame)
        expected = float(p.sum())
        spread = float(np.sqrt((p * (1 - p)).sum() + _variance(draws.sum(axis=1))))
        revenue = frame["revenue"].to_numpy(dtype=float)
        known = ~np.isnan(revenue)
        money: tuple[float | None, float | None, float | None] = (None, None, None)
        if known.any():
            r = revenue[known]
            at_risk = float((p[known] * r).sum())
            money_spread = float(np.sqrt((p[known] * (1 - p[known]) * r * r).sum()
                                         + _variance(draws[:, known] @ r)))
            money = (at_risk, max(0.0, at_risk - z * money_spread),
                     min(float(r.sum()), at_risk + z * money_spread))
        observed = as_of + timedelta(days=self.config.horizon_days) <= self.tables.last_day
        churned = frame["churned"].to_numpy(dtype=float)
        return SegmentRisk(
            segment={k: (v[0] if len(v) == 1 else v) for k, v in chosen.items()},
            horizon_days=self.config.horizon_days, as_of=as_of, customers=n,
            expected_lost_customers=expected,
            lost_customers_low=max(0.0, expected - z * spread),
            lost_customers_high=min(float(n), expected + z * spread),
            revenue_at_risk=money[0], revenue_at_risk_low=money[1],
            revenue_at_risk_high=money[2], customers_with_revenue=int(known.sum()),
            segment_rate=expected / n if n else None, base_rate=model.base_rate,
            auc=calibration.auc if calibration else None,
            brier=calibration.brier if calibration else None,
            model_test_cutoff=calibration.test_cutoff if calibration else None,
            realised_lost_customers=int(churned.sum()) if observed else None,
            realised_revenue_lost=(float((churned[known] * revenue[known]).sum())
                                   if observed and known.any() else None),
            confidence=confidence,
            attrs={"train_cutoffs": model.train_cutoffs,
                   "calibration_cutoff": model.calibration_cutoff,
                   "calibration_draws": len(model.platt_draws), **model.attrs},
        )


def _variance(values: np.ndarray) -> float:
    return float(np.var(values, ddof=1)) if len(values) > 1 else 0.0


def parse_segment(text: str) -> dict[str, str]:
    """``region=North,touchpoint=call_centre`` → a dict (for the CLI).

    >>> parse_segment("region=North, touchpoint=call_centre")
    {'region': 'North', 'touchpoint': 'call_centre'}
    """
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DriverError(f"segment part {part!r} is not KEY=VALUE "
                              "(e.g. --segment region=North,touchpoint=call_centre)")
        out[key.strip()] = value.strip()
    return out
