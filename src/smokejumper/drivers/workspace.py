"""``ws.drivers``: key driver analysis on any workspace's canonical tables.

The analysis table is one Ibis query that the engine runs: each response with a score
(the outcome) left-joined to its interaction (operational drivers) and its customer
(tenure). Only the needed columns come back; above ``max_rows`` rows a seeded sample of
responses is fetched instead (reported in ``attrs``). Statistics then run in memory on
that table with :func:`~smokejumper.drivers.key_drivers`, and each driver is placed in the
importance × performance quadrant.

Candidate drivers (:data:`DRIVERS`):

===================  ============================================================
driver               definition
===================  ============================================================
resolved             interactions.resolved of the response's interaction, 1/0
ces                  responses.ces, customer effort 1-7 (not when it is the outcome)
csat                 responses.csat 1-5 (only when named: a second outcome score)
repeat_contact       1 when the same customer contacted about the same contact_reason
                     in the ``repeat_window_days`` before the interaction, else 0
handle_time_min      interactions.handle_time_s / 60
tenure_years         years from customers.joined_at to the interaction (or response);
                     customers.tenure_months / 12 when joined_at is missing
order_value          interactions.order_value
upsell               interactions.upsell, 1/0
===================  ============================================================

Default drivers (``drivers=None``): every candidate but ``csat`` and the outcome that has a
value on at least :data:`MIN_COVERAGE` of the fetched rows and at least :data:`MIN_VALUES`
values; a constant one is dropped with a warning through the workspace reporter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from smokejumper.errors import DriverError, SmokejumperError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from smokejumper.drivers.chain import ServiceProfitChain
    from smokejumper.drivers.churn import ChurnCalibration
    from smokejumper.drivers.risk import ChurnStudy, SegmentRisk
    from smokejumper.workspace import Workspace

#: outcome → (responses column, whether it is a yes/no outcome)
OUTCOMES: dict[str, tuple[str, bool]] = {
    "nps": ("nps", False),
    "detractor": ("nps", True),
    "csat": ("csat", False),
    "ces": ("ces", False),
}
#: candidate driver → its scale ends (None: observed range), and whether lower is better
DRIVERS: dict[str, tuple[tuple[float, float] | None, bool]] = {
    "resolved": ((0.0, 1.0), False),
    "ces": ((1.0, 7.0), True),
    "csat": ((1.0, 5.0), False),
    "repeat_contact": ((0.0, 1.0), True),
    "handle_time_min": (None, True),
    "tenure_years": (None, False),
    "order_value": (None, False),
    "upsell": ((0.0, 1.0), False),
}
#: named only on request: a second outcome score rather than something to act on
NOT_DEFAULT = frozenset({"csat"})
MIN_COVERAGE = 0.25
MIN_VALUES = 30
MAX_ROWS = 2_000_000
SECONDS_PER_YEAR = 365.25 * 86_400


@dataclass(frozen=True)
class DriverTableConfig:
    """What the analysis table holds: ``outcome``, the driver columns, the repeat window
    and ``filters`` on responses columns (column → value or list of values)."""

    outcome: str
    drivers: tuple[str, ...]
    repeat_window_days: int = 7
    filters: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise DriverError(f"unknown outcome {self.outcome!r}; use one of: "
                              + ", ".join(OUTCOMES))
        unknown = [d for d in self.drivers if d not in DRIVERS]
        if unknown:
            raise DriverError("unknown driver(s): " + ", ".join(map(repr, unknown))
                              + "; available: " + ", ".join(DRIVERS))
        if OUTCOMES[self.outcome][0] in self.drivers:
            raise DriverError(f"the outcome {self.outcome!r} cannot also be a driver")


def scored_responses(responses: ir.Table, config: DriverTableConfig) -> ir.Table:
    """Responses with the outcome's score, after the filters (no I/O)."""
    from smokejumper.metrics.cube import filter_predicates

    column, _ = OUTCOMES[config.outcome]
    if column not in responses.columns:
        raise DriverError(f"the responses table has no {column!r} column")
    try:
        predicates = filter_predicates(responses, dict(config.filters), config.outcome,
                                       "responses")
    except SmokejumperError as exc:
        raise DriverError(str(exc)) from None
    return responses.filter(responses[column].notnull(), *predicates)


def driver_table(feedback: ir.Table, interactions: ir.Table, customers: ir.Table,
                 config: DriverTableConfig) -> ir.Table:
    """The analysis table as one expression: ``outcome`` then one column per driver.

    ``feedback`` is :func:`scored_responses` (maybe sampled). The repeat flag is a window
    over all interactions (before any filter), so an earlier contact outside the slice counts.
    """
    import ibis

    column, binary = OUTCOMES[config.outcome]
    wanted = set(config.drivers)
    score = feedback[column]
    outcome = (score <= 6).cast("int8") if binary else score.cast("float64")
    rows = feedback.select(
        _interaction_id=feedback.interaction_id, _customer_id=feedback.customer_id,
        _response_ts=feedback.ts, outcome=outcome,
        **{name: feedback[name].cast("float64") for name in ("ces", "csat") if name in wanted},
    )
    contact_drivers = wanted & {"resolved", "repeat_contact", "handle_time_min",
                                "order_value", "upsell", "tenure_years"}
    if contact_drivers:
        i = interactions
        contact: dict[str, ir.Value] = {
            "_contact_id": i.interaction_id, "_contact_customer": i.customer_id,
            "_contact_ts": i.ts,
        }
        if "resolved" in wanted:
            contact["resolved"] = i.resolved.cast("float64")
        if "handle_time_min" in wanted:
            contact["handle_time_min"] = i.handle_time_s.cast("float64") / 60.0
        if "order_value" in wanted:
            contact["order_value"] = i.order_value.cast("float64")
        if "upsell" in wanted:
            contact["upsell"] = i.upsell.cast("float64")
        if "repeat_contact" in wanted:
            window = ibis.window(group_by=[i.customer_id, i.contact_reason],
                                 order_by=[i.ts, i.interaction_id])
            previous = i.ts.lag().over(window)
            within = (previous >= i.ts - ibis.interval(days=config.repeat_window_days))
            flag = within.fill_null(False).cast("float64")
            contact["repeat_contact"] = ibis.ifelse(i.contact_reason.notnull(), flag,
                                                    ibis.null("float64"))
        contacts = i.select(**contact)
        rows = rows.left_join(contacts, rows._interaction_id == contacts._contact_id)
    if "tenure_years" in wanted:
        c = customers.select(_joined_customer=customers.customer_id,
                             _joined_at=customers.joined_at,
                             _tenure_months=customers.tenure_months)
        who = rows._customer_id.coalesce(rows._contact_customer)
        rows = rows.left_join(c, who == c._joined_customer)
        at = rows._contact_ts.coalesce(rows._response_ts)
        since_joined = (at.epoch_seconds() - rows._joined_at.epoch_seconds()) / SECONDS_PER_YEAR
        rows = rows.mutate(tenure_years=since_joined.cast("float64").coalesce(
            rows._tenure_months.cast("float64") / 12.0))
    return rows.select("outcome", *config.drivers)


class DriverService:
    """Key driver analysis of one workspace: ``ws.drivers.analyse(outcome="nps")``."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def table(self, outcome: str = "nps", drivers: Sequence[str] | None = None,
              filters: Mapping[str, Any] | None = None, *, seed: int = 0,
              max_rows: int = MAX_ROWS) -> pd.DataFrame:
        """The analysis table (``outcome`` column, then drivers), fetched in one query.

        With ``drivers=None`` every candidate is fetched (see the module docstring for the
        default rule). Above ``max_rows`` scored responses a seeded Bernoulli sample of about
        ``max_rows`` is fetched; ``attrs`` says ``rows_available``, ``sampled`` and ``seed``.
        """
        if max_rows < MIN_VALUES:
            raise DriverError(f"max_rows must be at least {MIN_VALUES}")
        chosen = tuple(drivers) if drivers is not None else tuple(
            d for d in DRIVERS if d != OUTCOMES.get(outcome, ("",))[0])
        config = DriverTableConfig(outcome, chosen,
                                   self.workspace.config.analysis.repeat_window_days,
                                   tuple((filters or {}).items()))
        ws = self.workspace
        feedback = scored_responses(ws.table("responses"), config)
        available = int(feedback.count().execute())
        sampled = available > max_rows
        if sampled:
            feedback = feedback.sample(max_rows / available, method="row", seed=seed)
        expr = driver_table(feedback, ws.table("interactions"), ws.table("customers"), config)
        with ws.reporter.progress("fetching the driver table"):
            frame = expr.to_pandas()
        frame.attrs.update(rows_available=available, sampled=sampled, seed=seed,
                           max_rows=max_rows)
        return frame

    def analyse(self, outcome: str = "nps", drivers: Sequence[str] | None = None,
                method: str = "shapley", bootstrap: int = 200,
                filters: Mapping[str, Any] | None = None, *, seed: int = 0,
                max_rows: int = MAX_ROWS) -> pd.DataFrame:
        """Relative importance of each driver for ``outcome`` with intervals and quadrant.

        ``outcome``: ``nps`` (0-10), ``detractor`` (nps ≤ 6 as 1/0, logistic model),
        ``csat`` or ``ces``. Returns one row per driver, most important first: ``driver,
        importance, share, low, high, rank, sign, performance, quadrant`` (plus
        ``mc_error``); ``attrs`` carries the :func:`key_drivers` attrs plus the outcome,
        rows fetched / available, sampling, dropped drivers and the quadrant cuts.
        """
        from smokejumper.drivers.api import key_drivers
        from smokejumper.drivers.quadrant import driver_performance, importance_performance

        if bootstrap < 0:
            raise DriverError("bootstrap must be 0 or more")
        frame = self.table(outcome, drivers, filters, seed=seed, max_rows=max_rows)
        if frame.empty:
            raise DriverError(f"no responses with a {OUTCOMES[outcome][0]} score"
                              + (" after the filters" if filters else ""))
        names = list(frame.columns[1:]) if drivers is not None else self._defaults(frame, outcome)
        dropped = [d for d in names if frame[d].nunique(dropna=True) < 2]
        if dropped and drivers is not None:
            raise DriverError("constant driver(s) explain nothing: " + ", ".join(dropped))
        for name in dropped:
            self.workspace.reporter.warn(f"driver {name!r} never varies here; left out")
        names = [d for d in names if d not in dropped]
        if not names:
            raise DriverError("no driver has enough values to analyse; name one with "
                              "--driver (available: " + ", ".join(DRIVERS) + ")")
        model: Literal["linear", "logistic"] = (
            "logistic" if OUTCOMES[outcome][1] else "linear")
        result = key_drivers(frame, "outcome", names, method=method, bootstrap=bootstrap,
                             seed=seed, model=model)
        complete = frame[names].dropna()
        performance = driver_performance(
            complete, names,
            bounds={d: scale for d in names if (scale := DRIVERS[d][0]) is not None},
            lower_is_better=[d for d in names if DRIVERS[d][1]])
        placed = importance_performance(result, performance)
        out = result.merge(placed[["driver", "performance", "quadrant"]], on="driver")
        out = out.sort_values("rank", kind="stable").reset_index(drop=True)
        out.attrs.update(result.attrs)
        out.attrs.update(
            outcome=outcome, rows_fetched=len(frame),
            rows_available=frame.attrs["rows_available"], sampled=frame.attrs["sampled"],
            seed=seed, drivers_dropped=dropped, filters=dict(filters or {}),
            importance_cut=placed.attrs["importance_cut"],
            performance_cut=placed.attrs["performance_cut"])
        return out

    # -- the service profit chain and bright spots (smokejumper.drivers.chain, .bright_spots)
    def chain(self, grain: str = "month", **settings: Any) -> ServiceProfitChain:
        """The service profit chain: employee → service → customer → churn links per team
        and period, each a slope with an interval (``ChainConfig`` fields as keywords)."""
        from smokejumper.drivers.chain import ChainConfig, service_profit_chain

        return service_profit_chain(self.workspace, ChainConfig(grain=grain, **settings))

    def bright_spots(self, **settings: Any) -> pd.DataFrame:
        """Delighted against negative customers, fact by fact, with effect sizes
        (``BrightSpotConfig`` fields as keywords)."""
        from smokejumper.drivers.bright_spots import BrightSpotConfig, contrast_facts

        return contrast_facts(self.workspace, BrightSpotConfig(**settings))

    def deviants(self, level: str = "team", **settings: Any) -> pd.DataFrame:
        """Units whose NPS beats what their mix predicts, shrunk, with what the top ones do
        differently in ``attrs["profiles"]`` (``DeviantConfig`` fields as keywords)."""
        from smokejumper.drivers.bright_spots import DeviantConfig, positive_deviants

        return positive_deviants(self.workspace, DeviantConfig(level=level, **settings))

    # -- churn and revenue at risk, theme impact (drivers/risk.py, drivers/themes.py) ------
    def churn_study(self, horizon_days: int = 90, **settings: Any) -> ChurnStudy:
        """The churn inputs and fitted models for one horizon (cached per settings);
        ``settings`` are :class:`~smokejumper.drivers.churn.ChurnModelConfig` fields."""
        from smokejumper.drivers.churn import ChurnModelConfig
        from smokejumper.drivers.risk import ChurnStudy

        config = ChurnModelConfig(horizon_days=horizon_days, **settings)
        studies: dict[Any, ChurnStudy] = self.__dict__.setdefault("_churn_studies", {})
        if config not in studies:
            studies[config] = ChurnStudy(self.workspace, config)
        return studies[config]

    def churn_calibration(self, horizon_days: int = 90, bins: int = 10,
                          **settings: Any) -> ChurnCalibration:
        """AUC, Brier score and reliability table of the churn model on the latest cutoff
        whose horizon is in the data, fitted only on outcomes known by that cutoff."""
        return self.churn_study(horizon_days, **settings).calibration(bins)

    def risk(self, segment: Mapping[str, Any] | None = None, horizon_days: int = 90, *,
             as_of: date | None = None, confidence: float = 0.95,
             **settings: Any) -> SegmentRisk:
        """Expected lost customers and revenue at risk over ``horizon_days`` from ``as_of``
        (default: the day after the last event) for ``segment``, e.g. ``{"region": "North",
        "touchpoint": "call_centre"}``, with intervals, the base rate and the model's AUC."""
        return self.churn_study(horizon_days, **settings).risk(segment, as_of, confidence)

    def theme_impact(self, *, by_sentiment: bool = False, commented_only: bool = False,
                     confidence: float = 0.95, bootstrap: int = 0,
                     seed: int = 0) -> pd.DataFrame:
        """NPS impact of each theme in ``enrichment_themes``: all-minus-without and
        regression-adjusted, with intervals (see :func:`smokejumper.drivers.theme_impact`)."""
        from smokejumper.drivers.themes import theme_impact, workspace_theme_table

        frame = workspace_theme_table(self.workspace, by_sentiment=by_sentiment,
                                      commented_only=commented_only)
        return theme_impact(frame, "nps", list(frame.columns[1:]), confidence=confidence,
                            bootstrap=bootstrap, seed=seed)

    def _defaults(self, frame: pd.DataFrame, outcome: str) -> list[str]:
        """Candidates with values on at least MIN_COVERAGE of rows and MIN_VALUES values."""
        n = len(frame)
        chosen = []
        for name in frame.columns[1:]:
            count = int(frame[name].notna().sum())
            if name in NOT_DEFAULT or name == OUTCOMES[outcome][0]:
                continue
            if count >= MIN_VALUES and count >= MIN_COVERAGE * n:
                chosen.append(name)
        return chosen
