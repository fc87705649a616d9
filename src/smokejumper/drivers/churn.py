"""Churn model: who is likely to leave within ``horizon_days`` of a cutoff date, and how sure.

Per customer and cutoff date, :func:`churn_features` builds one Ibis expression that the
engine runs (only the per-customer frame comes back):

=======================  ====================================================================
feature                  definition (window = the ``window_days`` before the cutoff)
=======================  ====================================================================
contacts                 interactions in the window
contacts_recent          interactions in the last ``recent_days`` before the cutoff
unresolved_contacts      interactions in the window with resolved = false
unresolved_recent        ... of them in the last ``recent_days``
repeat_contacts          interactions in the window that repeat a contact (same customer, same
                         contact_reason) within ``repeat_window_days``
handle_time_min          mean handle time of the window's interactions, minutes
days_since_contact       days from the last interaction in the window to the cutoff
                         (``window_days`` when there was none)
responses                feedback responses in the window
last_nps / min_nps /     the latest, lowest and mean NPS score (0-10) in the window
mean_nps
detractor_responses      responses in the window with NPS 0-6
mean_ces / min_csat      mean effort score, lowest CSAT in the window
days_since_response      days from the last response to the cutoff (``window_days`` if none)
tenure_months            months from customers.joined_at to the cutoff, else
                         customers.tenure_months
revenue                  customers.revenue (yearly)
segment, region          customers' attributes (categorical)
=======================  ====================================================================

The label ``churned`` is 1 when the customer's first churn (``outcomes`` rows of kind
``churn``, or ``customers.churned_at``) falls in ``[cutoff, cutoff + horizon_days)``.
Customers already gone at the cutoff, or not yet joined, are left out. Without a customers
table the customers are the ``customer_id`` values seen in interactions and responses
(a response without a customer_id takes its interaction's), present from their first contact.

:func:`fit_churn_model` fits a regularised logistic regression (log counts, missing-value
indicators, one-hot attributes; ``learner="boosting"``: scikit-learn's
``HistGradientBoostingClassifier``) on rolling cutoffs before the latest training cutoff,
then calibrates it by Platt scaling (a logistic map of its log-odds) on the latest training
cutoff, a later period the fit never saw. The calibration is refitted on bootstrap resamples
of that cutoff's customers: the spread of their predictions is the model's own uncertainty
used by :mod:`~smokejumper.drivers.risk` (the regression itself is not refitted).

>>> config = ChurnModelConfig(horizon_days=90, window_days=90, step_days=14)
>>> [d.isoformat() for d in training_cutoffs(date(2025, 10, 1), date(2025, 1, 1), config)][:2]
['2025-07-03', '2025-06-19']
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smokejumper.errors import DriverError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from smokejumper.workspace import Workspace

SECONDS_PER_DAY = 86_400.0
DAYS_PER_MONTH = 30.4375
#: numeric features, in model order (see the module docstring)
NUMERIC_FEATURES = (
    "contacts", "contacts_recent", "unresolved_contacts", "unresolved_recent",
    "repeat_contacts", "handle_time_min", "days_since_contact", "responses", "last_nps",
    "min_nps", "mean_nps", "detractor_responses", "mean_ces", "min_csat",
    "days_since_response", "tenure_months", "revenue",
)
CATEGORICAL_FEATURES = ("segment", "region")
#: taken on a log scale (log1p): counts and money are skewed
LOG_FEATURES = frozenset({"contacts", "contacts_recent", "unresolved_contacts",
                          "unresolved_recent", "repeat_contacts", "responses",
                          "detractor_responses", "revenue", "handle_time_min"})
MISSING_LEVEL = "(missing)"
LEARNERS = ("logistic", "boosting")
MIN_TRAINING_ROWS = 200
MIN_POSITIVES = 20


@dataclass(frozen=True)
class ChurnModelConfig:
    """How the churn model is built: the label horizon, the feature window, the rolling
    training cutoffs (``step_days`` apart, at most ``max_cutoffs``) and the bootstrap of the
    calibration (``calibration_draws`` resamples, ``seed``)."""

    horizon_days: int = 90
    window_days: int = 90
    recent_days: int = 30
    step_days: int = 14
    max_cutoffs: int = 12
    repeat_window_days: int = 7
    calibration_draws: int = 200
    learner: str = "logistic"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("horizon_days", "window_days", "recent_days", "step_days", "max_cutoffs"):
            if getattr(self, name) < 1:
                raise DriverError(f"{name} must be at least 1")
        if self.learner not in LEARNERS:
            raise DriverError(f"unknown learner {self.learner!r}; use one of: "
                              + ", ".join(LEARNERS))
        if self.calibration_draws < 0:
            raise DriverError("calibration_draws must be 0 or more")


@dataclass(frozen=True)
class ChurnTables:
    """The four inputs of the churn features as expressions over one workspace (no I/O)."""

    customers: ir.Table  # customer_id, segment, region, tenure_months, revenue, joined_at
    churns: ir.Table  # customer_id, churn_ts (first churn)
    contacts: ir.Table  # customer_id, ts, resolved, repeat, handle_time_min + contact columns
    feedback: ir.Table  # customer_id, ts, nps, csat, ces
    has_customers: bool
    has_revenue: bool
    first_day: date
    last_day: date  # the day after the last event: the default "as of" date


def churn_tables(ws: Workspace, repeat_window_days: int = 7) -> ChurnTables:
    """Read a workspace's customers, outcomes, interactions and responses for the churn model.

    Raises :class:`DriverError` when there are no churn events or no dated activity.
    """
    import ibis

    interactions = ws.table("interactions")
    responses = ws.table("responses")
    outcomes = ws.table("outcomes")
    customers = ws.table("customers")
    counts = ibis.memtable({"x": [1]}).select(
        customers=customers.count().as_scalar(),
        churned_customers=customers.churned_at.notnull().sum().as_scalar(),
        with_revenue=customers.revenue.notnull().sum().as_scalar(),
        churn_outcomes=(outcomes.kind.lower().strip() == "churn").sum().as_scalar(),
    ).to_pandas().iloc[0]
    has_customers = int(counts["customers"]) > 0
    if int(counts["churn_outcomes"] or 0) == 0 and int(counts["churned_customers"] or 0) == 0:
        raise DriverError("no churn outcomes to learn from: load rows of kind 'churn' into "
                          "the outcomes table (customer_id, ts, kind=churn)")

    i = interactions
    window = ibis.window(group_by=[i.customer_id, i.contact_reason],
                         order_by=[i.ts, i.interaction_id])
    previous = i.ts.lag().over(window)
    repeat = (i.contact_reason.notnull()
              & (previous >= i.ts - ibis.interval(days=repeat_window_days))).fill_null(False)
    extra = [c for c in i.columns if c not in ("customer_id", "ts", "resolved",
                                               "handle_time_s", "transcript", "_row_hash",
                                               "_load_id", "interaction_id")]
    contacts = i.filter(i.customer_id.notnull()).select(
        "customer_id", "ts", *extra,
        resolved=i.resolved, repeat=repeat,
        handle_time_min=i.handle_time_s.cast("float64") / 60.0,
    )
    owner = interactions.select(_iid=interactions.interaction_id,
                                _owner=interactions.customer_id)
    r = responses.left_join(owner, responses.interaction_id == owner._iid)
    feedback = r.select(customer_id=r.customer_id.coalesce(r._owner), ts=r.ts,
                        nps=r.nps.cast("float64"), csat=r.csat.cast("float64"),
                        ces=r.ces.cast("float64")).filter(lambda t: t.customer_id.notnull())

    churn_events = outcomes.filter(outcomes.kind.lower().strip() == "churn").select(
        "customer_id", "ts")
    if has_customers:
        churn_events = churn_events.union(customers.filter(customers.churned_at.notnull())
                                          .select("customer_id", ts=customers.churned_at))
    churns = churn_events.group_by("customer_id").aggregate(churn_ts=churn_events.ts.min())

    if has_customers:
        people = customers.select("customer_id", "segment", "region",
                                  tenure_months=customers.tenure_months.cast("float64"),
                                  revenue=customers.revenue.cast("float64"),
                                  joined_at=customers.joined_at)
    else:
        seen = contacts.select("customer_id", "ts").union(feedback.select("customer_id", "ts"))
        people = seen.group_by("customer_id").aggregate(joined_at=seen.ts.min()).select(
            "customer_id", segment=ibis.null("string"), region=ibis.null("string"),
            tenure_months=ibis.null("float64"), revenue=ibis.null("float64"),
            joined_at="joined_at")

    span = ibis.memtable({"x": [1]}).select(
        i_min=interactions.ts.min().as_scalar(), i_max=interactions.ts.max().as_scalar(),
        r_min=responses.ts.min().as_scalar(), r_max=responses.ts.max().as_scalar(),
        o_max=outcomes.ts.max().as_scalar(),
    ).to_pandas().iloc[0]
    starts = [pd.Timestamp(v) for v in (span["i_min"], span["r_min"]) if pd.notna(v)]
    ends = [pd.Timestamp(v) for v in (span["i_max"], span["r_max"], span["o_max"])
            if pd.notna(v)]
    if not starts:
        raise DriverError("no interactions or responses with a date: nothing to learn churn from")
    return ChurnTables(people, churns, contacts, feedback, has_customers,
                       int(counts["with_revenue"] or 0) > 0,
                       min(starts).date(), max(ends).date() + timedelta(days=1))


def cutoff_table(cutoffs: Sequence[date], config: ChurnModelConfig) -> ir.Table:
    """A small in-memory table: one row per cutoff with its window and horizon bounds."""
    import ibis

    stamps = [datetime.combine(c, datetime.min.time()) for c in cutoffs]
    frame = pd.DataFrame({
        "cutoff": stamps,
        "window_start": [s - timedelta(days=config.window_days) for s in stamps],
        "recent_start": [s - timedelta(days=min(config.recent_days, config.window_days))
                         for s in stamps],
        "horizon_end": [s + timedelta(days=config.horizon_days) for s in stamps],
    })
    for column in frame.columns:
        frame[column] = frame[column].astype("datetime64[us]")
    return ibis.memtable(frame)


def churn_features(tables: ChurnTables, cutoffs: Sequence[date],
                   config: ChurnModelConfig) -> ir.Table:
    """One row per customer active at each cutoff: ``customer_id, cutoff``, the features and
    the label ``churned`` (see the module docstring). No I/O: the engine runs it."""
    import ibis

    cut = cutoff_table(cutoffs, config)
    window_days = float(config.window_days)

    c = tables.contacts
    in_window = c.join(cut, [c.ts >= cut.window_start, c.ts < cut.cutoff])
    recent = in_window.ts >= in_window.recent_start
    unresolved = in_window.resolved.notnull() & ~in_window.resolved.fill_null(True)
    contact_stats = in_window.group_by(["customer_id", "cutoff"]).aggregate(
        contacts=in_window.count(),
        contacts_recent=recent.cast("int64").sum(),
        unresolved_contacts=unresolved.cast("int64").sum(),
        unresolved_recent=(unresolved & recent).cast("int64").sum(),
        repeat_contacts=in_window.repeat.cast("int64").sum(),
        handle_time_min=in_window.handle_time_min.mean(),
        _last_contact=in_window.ts.max(),
    )

    f = tables.feedback
    said = f.join(cut, [f.ts >= cut.window_start, f.ts < cut.cutoff])
    feedback_stats = said.group_by(["customer_id", "cutoff"]).aggregate(
        responses=said.count(),
        last_nps=said.nps.argmax(said.ts, where=said.nps.notnull()),
        min_nps=said.nps.min(),
        mean_nps=said.nps.mean(),
        detractor_responses=(said.nps <= 6).fill_null(False).cast("int64").sum(),
        mean_ces=said.ces.mean(),
        min_csat=said.csat.min(),
        _last_response=said.ts.max(),
    )

    people = tables.customers.left_join(tables.churns, "customer_id").select(
        "customer_id", "segment", "region", "tenure_months", "revenue", "joined_at",
        "churn_ts")
    base = people.cross_join(cut)
    base = base.filter((base.joined_at.isnull() | (base.joined_at < base.cutoff))
                       & (base.churn_ts.isnull() | (base.churn_ts >= base.cutoff)))
    rows = base.left_join(contact_stats, ["customer_id", "cutoff"]).left_join(
        feedback_stats, ["customer_id", "cutoff"])

    def days_since(last: ir.TimestampValue) -> ir.FloatingValue:
        gap = (rows.cutoff.epoch_seconds() - last.epoch_seconds()) / SECONDS_PER_DAY
        return gap.cast("float64").coalesce(window_days)

    since_joined = ((rows.cutoff.epoch_seconds() - rows.joined_at.epoch_seconds())
                    / (SECONDS_PER_DAY * DAYS_PER_MONTH)).cast("float64")
    churned = rows.churn_ts.notnull() & (rows.churn_ts < rows.horizon_end)
    zero = ibis.literal(0, "int64")
    return rows.select(
        "customer_id", "cutoff",
        contacts=rows.contacts.coalesce(zero),
        contacts_recent=rows.contacts_recent.coalesce(zero),
        unresolved_contacts=rows.unresolved_contacts.coalesce(zero),
        unresolved_recent=rows.unresolved_recent.coalesce(zero),
        repeat_contacts=rows.repeat_contacts.coalesce(zero),
        handle_time_min=rows.handle_time_min,
        days_since_contact=days_since(rows._last_contact),
        responses=rows.responses.coalesce(zero),
        last_nps=rows.last_nps, min_nps=rows.min_nps, mean_nps=rows.mean_nps,
        detractor_responses=rows.detractor_responses.coalesce(zero),
        mean_ces=rows.mean_ces, min_csat=rows.min_csat,
        days_since_response=days_since(rows._last_response),
        tenure_months=since_joined.coalesce(rows.tenure_months) if tables.has_customers
        else since_joined,
        revenue=rows.revenue, segment=rows.segment, region=rows.region,
        churned=churned.cast("int8"),
    )


def training_cutoffs(target: date, first_day: date, config: ChurnModelConfig) -> list[date]:
    """Rolling cutoffs whose horizon ends by ``target`` (so their labels are known then) and
    whose window starts on or after ``first_day``; the latest first."""
    latest = target - timedelta(days=config.horizon_days)
    earliest = first_day + timedelta(days=config.window_days)
    out: list[date] = []
    day = latest
    while day >= earliest and len(out) < config.max_cutoffs:
        out.append(day)
        day -= timedelta(days=config.step_days)
    return out


def fetch_features(ws: Workspace, tables: ChurnTables, cutoffs: Sequence[date],
                   config: ChurnModelConfig) -> pd.DataFrame:
    """Run :func:`churn_features` on the engine and bring the per-customer frame back."""
    with ws.reporter.progress(f"building churn features for {len(cutoffs)} cutoff(s)"):
        frame = churn_features(tables, cutoffs, config).to_pandas()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"]).dt.date
    return frame


# -- the model ---------------------------------------------------------------------------------

def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_platt(score: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None,
              iterations: int = 50) -> np.ndarray:
    """Intercept and slope of ``P(label) = sigmoid(a + b * score)`` by Newton's method
    (a tiny ridge keeps separable data finite).

    >>> a, b = fit_platt(np.array([-1.0, -1.0, 1.0, 1.0]), np.array([0, 1, 1, 1]))
    >>> round(float(_sigmoid(a + b * -1.0)), 3), round(float(_sigmoid(a + b * 1.0)), 3)
    (0.5, 1.0)
    """
    x = np.column_stack([np.ones_like(score), score])
    w = np.ones_like(score) if weight is None else weight
    ridge = 1e-6 * np.eye(2)

    def loss(beta: np.ndarray) -> float:
        eta = x @ beta
        return float(np.sum(w * (np.logaddexp(0.0, eta) - label * eta))
                     + 0.5 * beta @ ridge @ beta)

    beta = np.array([0.0, 1.0])  # the identity map: scores taken as they are
    current = loss(beta)
    for _ in range(iterations):
        p = _sigmoid(x @ beta)
        gradient = x.T @ (w * (label - p)) - ridge @ beta
        hessian = (x * (w * p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        shrink = 1.0
        while loss(beta + shrink * step) > current + 1e-12 and shrink > 1e-4:
            shrink /= 2  # step halving keeps Newton from overshooting
        beta = beta + shrink * step
        previous, current = current, loss(beta)
        if np.max(np.abs(shrink * step)) < 1e-9 or previous - current < 1e-12:
            break
    return beta


@dataclass
class ChurnModel:
    """A fitted, calibrated churn model for one horizon; ``predict`` gives probabilities."""

    config: ChurnModelConfig
    estimator: Any
    numeric: list[str]
    categories: dict[str, list[str]]
    platt: np.ndarray
    platt_draws: np.ndarray  # (draws, 2)
    train_cutoffs: list[date]
    calibration_cutoff: date | None
    rows_trained: int
    base_rate: float
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.numeric + list(self.categories)

    def design(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns: counts and revenue on a log scale, categories aligned
        with training (unknown or missing: a category of its own)."""
        x = frame[self.numeric].astype("float64").copy()
        for name in self.numeric:
            if name in LOG_FEATURES:
                x[name] = np.log1p(x[name].clip(lower=0))
        for name, levels in self.categories.items():
            values = frame[name].astype("string").fillna(MISSING_LEVEL)
            x[name] = pd.Categorical(values.where(values.isin(levels), MISSING_LEVEL),
                                     categories=levels)
        return x

    def raw_score(self, frame: pd.DataFrame) -> np.ndarray:
        """Log-odds of the fitted classifier before calibration."""
        if frame.empty:
            return np.zeros(0)
        return _logit(self.estimator.predict_proba(self.design(frame))[:, 1])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churning within the horizon, per row."""
        z = self.raw_score(frame)
        return _sigmoid(self.platt[0] + self.platt[1] * z)

    def predict_draws(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities under each bootstrap calibration: (draws, rows)."""
        z = self.raw_score(frame)
        return _sigmoid(self.platt_draws[:, :1] + self.platt_draws[:, 1:] * z[None, :])


def _estimator(learner: str, numeric: Sequence[str], categorical: Sequence[str],
               seed: int) -> Any:
    """The classifier before calibration: a regularised logistic regression on log counts
    with missing-value indicators and one-hot attributes, or boosted trees."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if learner == "boosting":
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=200, max_depth=3, min_samples_leaf=500,
            l2_regularization=1.0, early_stopping=False, categorical_features="from_dtype",
            random_state=seed)
    columns = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                keep_empty_features=True),
                                  StandardScaler()), list(numeric)),
        ("attributes", OneHotEncoder(handle_unknown="ignore"), list(categorical)),
    ])
    return make_pipeline(columns, LogisticRegression(C=1.0, max_iter=1000))


def fit_churn_model(frame: pd.DataFrame, config: ChurnModelConfig) -> ChurnModel:
    """Fit the classifier on every training cutoff but the latest and calibrate it on
    the latest (with one cutoff: on a stable 30 % of its customers, by id hash)."""
    if len(frame) < MIN_TRAINING_ROWS or int(frame["churned"].sum()) < MIN_POSITIVES:
        raise DriverError(
            f"too little history to learn churn: {len(frame)} customer-cutoff rows with "
            f"{int(frame['churned'].sum())} churned (need {MIN_TRAINING_ROWS} rows and "
            f"{MIN_POSITIVES} churned); try a shorter --horizon or a longer data period")
    cutoffs = sorted(set(frame["cutoff"]))
    if len(cutoffs) >= 2:
        calibrating = (frame["cutoff"] == cutoffs[-1]).to_numpy()
        calibration_cutoff: date | None = cutoffs[-1]
    else:
        bucket = frame["customer_id"].astype(str).map(lambda s: zlib.crc32(s.encode()) % 10)
        calibrating = (bucket < 3).to_numpy()
        calibration_cutoff = None
    numeric = [c for c in NUMERIC_FEATURES if frame[c].notna().any()]
    categories = {c: sorted(frame[c].dropna().astype(str).unique().tolist()) + [MISSING_LEVEL]
                  for c in CATEGORICAL_FEATURES if frame[c].notna().any()}
    categories = {c: v for c, v in categories.items() if len(v) >= 3}
    fitting = frame[~calibrating]
    held = frame[calibrating]
    if fitting["churned"].nunique() < 2 or held["churned"].nunique() < 2:
        raise DriverError("the training cutoffs have churned customers in only one part; "
                          "try a longer data period or a shorter --horizon")
    model = ChurnModel(config, _estimator(config.learner, numeric, list(categories),
                                          config.seed), numeric, categories,
                       np.array([0.0, 1.0]), np.zeros((0, 2)),
                       [c for c in cutoffs if c != calibration_cutoff], calibration_cutoff,
                       len(frame), float(frame["churned"].mean()))
    model.estimator.fit(model.design(fitting), fitting["churned"].to_numpy())
    z = model.raw_score(held)
    y = held["churned"].to_numpy().astype(float)
    model.platt = fit_platt(z, y)
    rng = np.random.default_rng(config.seed)
    draws = []
    for _ in range(config.calibration_draws):
        counts = np.bincount(rng.integers(0, len(z), len(z)), minlength=len(z)).astype(float)
        draws.append(fit_platt(z, y, counts))
    model.platt_draws = np.array(draws) if draws else model.platt[None, :]
    model.attrs.update(rows_fitted=len(fitting), rows_calibrating=len(held),
                       churned_fitted=int(fitting["churned"].sum()),
                       churned_calibrating=int(y.sum()))
    return model


# -- evaluation --------------------------------------------------------------------------------

@dataclass
class ChurnCalibration:
    """How good the churn model is on a later, held-out cutoff."""

    horizon_days: int
    test_cutoff: date
    train_cutoffs: list[date]
    calibration_cutoff: date | None
    customers: int
    churned: int
    auc: float
    brier: float
    brier_base_rate: float  # Brier score of always predicting the training base rate
    reliability: pd.DataFrame
    bins_agreeing: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_days": self.horizon_days, "test_cutoff": self.test_cutoff.isoformat(),
            "train_cutoffs": [c.isoformat() for c in self.train_cutoffs],
            "calibration_cutoff": (self.calibration_cutoff.isoformat()
                                   if self.calibration_cutoff else None),
            "customers": self.customers, "churned": self.churned,
            "auc": self.auc, "brier": self.brier, "brier_base_rate": self.brier_base_rate,
            "bins_agreeing": self.bins_agreeing, "bins": len(self.reliability),
            "reliability": records(self.reliability),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (NaN → None, numpy scalars → Python)."""
    out = frame.astype(object).where(pd.notna(frame), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in out.to_dict(orient="records")]


def wilson(successes: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Wilson score interval of a binomial proportion.

    >>> low, high = wilson(np.array([5]), np.array([10]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.2366, 0.7634)
    """
    n = np.asarray(n, dtype=float)
    p = np.asarray(successes, dtype=float) / np.where(n > 0, n, 1)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def reliability_table(predicted: np.ndarray, observed: np.ndarray, bins: int = 10
                      ) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: ``bin, n, mean_predicted,
    observed_rate, low, high`` (Wilson 95 % interval of the observed rate) and ``agrees``
    (the mean prediction lies inside that interval)."""
    order = np.argsort(predicted, kind="stable")
    groups = np.array_split(order, bins)
    rows = []
    for k, index in enumerate(groups, start=1):
        if len(index) == 0:
            continue
        n = len(index)
        positives = float(observed[index].sum())
        low, high = wilson(np.array([positives]), np.array([n]))
        mean_predicted = float(predicted[index].mean())
        rows.append({"bin": k, "n": n, "mean_predicted": mean_predicted,
                     "observed_rate": positives / n, "low": float(low[0]),
                     "high": float(high[0]),
                     "agrees": bool(low[0] <= mean_predicted <= high[0])})
    return pd.DataFrame(rows)


def evaluate_churn_model(model: ChurnModel, test: pd.DataFrame, bins: int = 10
                         ) -> ChurnCalibration:
    """AUC, Brier score and the reliability table of ``model`` on a held-out cutoff frame."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = test["churned"].to_numpy().astype(int)
    if y.min() == y.max():
        raise DriverError("the held-out cutoff has no churned (or only churned) customers; "
                          "cannot measure the model")
    p = model.predict(test)
    table = reliability_table(p, y, bins)
    return ChurnCalibration(
        model.config.horizon_days, test["cutoff"].iloc[0], model.train_cutoffs,
        model.calibration_cutoff, len(test), int(y.sum()), float(roc_auc_score(y, p)),
        float(brier_score_loss(y, p)),
        float(brier_score_loss(y, np.full(len(y), model.base_rate))),
        table, int(table["agrees"].sum()))
