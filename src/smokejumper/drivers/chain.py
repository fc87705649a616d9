"""The service profit chain: employee → service → customer → outcome, linked across teams
and time.

Per team and period (a month by default) :func:`chain_panel` builds one row of measures:

=====================  ==================================================================
measure                definition
=====================  ==================================================================
engagement             mean ``employees.engagement`` of the team's staff on the roster in
                       the period (employed on any of its days; team leads left out)
attrition              staff who left in the period / headcount, in %
tenure_years           mean tenure of the roster at the middle of the period
headcount              staff on the roster
contacts_per_agent     the team's contacts / headcount
fcr                    % of the team's contacts resolved (``interactions.resolved``)
repeat_rate            % of contacts the customer follows up within the repeat window
handle_time_min        mean ``handle_time_s`` / 60
conversation_score     mean latest ``enrichments.conversation_score`` per transcript × 100
nps, csat              NPS points and % satisfied (CSAT 4-5) of the responses linked to
                       the team's contacts
churn                  % of the team's contacts after which the customer churned within
                       ``churn_window_days`` (``outcomes`` kind 'churn' or
                       ``customers.churned_at``); periods whose window is not over by the
                       end of the data are left out
revenue_lost           yearly ``customers.revenue`` of the customers who churned that way
=====================  ==================================================================

Service, customer and churn measures are **mix-adjusted**: a two-way additive model
``value = cell + team-period`` over the cells of ``mix`` (touchpoint × channel ×
contact_reason × segment by default, :func:`~smokejumper.frontline.shrinkage.fit_case_mix`)
so that a team that serves hard touchpoints and reasons is not mistaken for a weak one.
The raw measure is kept beside it (``fcr_raw``...). The aggregation is one Ibis query per
source table, run by the engine; the statistics run on the small team × period × cell
table that comes back.

Each link of the chain is then a slope estimated twice (:mod:`smokejumper.drivers.panel`):
with team and period fixed effects (within teams over time, cluster-robust by team) and
between teams (team means, weighted by volume). The fixed-effects estimate is used unless
the upstream measure barely varies within teams (``within_share`` below
``min_within_share``: engagement changes only when the roster changes), in which case the
between-team estimate is used and the result says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from smokejumper.drivers import panel
from smokejumper.errors import DriverError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from smokejumper.workspace import Workspace

GRAINS: dict[str, str] = {"week": "W", "month": "M", "quarter": "Q"}
PANDAS_FREQ: dict[str, str] = {"week": "7D", "month": "MS", "quarter": "QS"}
MISSING = "(none)"

#: measure → (label, unit for the chain drawing, stage)
MEASURES: dict[str, tuple[str, str, str]] = {
    "engagement": ("engagement", "pt", "employee"),
    "attrition": ("attrition", "% pts", "employee"),
    "tenure_years": ("tenure", "years", "employee"),
    "headcount": ("headcount", "staff", "employee"),
    "contacts_per_agent": ("contacts per agent", "contacts", "employee"),
    "fcr": ("FCR", "FCR pts", "service"),
    "repeat_rate": ("repeat rate", "% pts", "service"),
    "handle_time_min": ("handle time", "min", "service"),
    "conversation_score": ("conversation score", "pts", "service"),
    "nps": ("NPS", "NPS pts", "customer"),
    "csat": ("CSAT", "% pts", "customer"),
    "churn": ("churn", "churn pts", "outcome"),
    "revenue_lost": ("revenue lost", "revenue", "outcome"),
}
#: mix-adjusted measure → (source, n column, sum column, squares column, scale)
ADJUSTED: dict[str, tuple[str, str, str, str, float]] = {
    "fcr": ("contacts", "resolved_n", "resolved_sum", "resolved_sum", 100.0),
    "repeat_rate": ("contacts", "contacts", "repeat_sum", "repeat_sum", 100.0),
    "handle_time_min": ("contacts", "handle_n", "handle_sum", "handle_squares", 1.0),
    "churn": ("contacts", "churn_n", "churn_sum", "churn_sum", 100.0),
    "nps": ("responses", "nps_n", "nps_sum", "nps_squares", 1.0),
    "csat": ("responses", "csat_n", "csat_sum", "csat_sum", 100.0),
    "conversation_score": ("conversations", "score_n", "score_sum", "score_squares", 100.0),
}


@dataclass(frozen=True)
class LinkSpec:
    """One link ``upstream → downstream``; ``lag`` periods between them (1: last
    period's upstream measure with this period's downstream one)."""

    upstream: str
    downstream: str
    lag: int = 0
    why: str = ""


#: the chain itself (drawn) and further links worth estimating
CHAIN: tuple[LinkSpec, ...] = (
    LinkSpec("engagement", "fcr", 0, "the roster of the period serves its contacts"),
    LinkSpec("fcr", "nps", 0, "the responses are about the same contacts"),
    LinkSpec("nps", "churn", 0, "churn is already measured after the same contacts"),
)
EXTRA_LINKS: tuple[LinkSpec, ...] = (
    LinkSpec("attrition", "fcr", 1, "leavers are replaced by new hires who ramp up next "
             "period"),
    LinkSpec("contacts_per_agent", "handle_time_min", 0, "staffing of the same period"),
    LinkSpec("fcr", "churn", 0, "churn is measured after the same contacts"),
    LinkSpec("conversation_score", "nps", 0, "the responses are about the same contacts"),
)


@dataclass(frozen=True)
class ChainConfig:
    """How the chain is built: period grain, mix cells, windows, links and the rule
    that picks an estimator."""

    grain: str = "month"
    mix: tuple[str, ...] = ("touchpoint", "channel", "contact_reason", "segment")
    churn_window_days: int = 90
    repeat_window_days: int = 7
    exclude_roles: tuple[str, ...] = ("team_lead",)
    chain: tuple[LinkSpec, ...] = CHAIN
    extra_links: tuple[LinkSpec, ...] = EXTRA_LINKS
    min_within_share: float = 0.2
    period_effects: bool = True
    adjust: bool = True
    min_teams: int = 3
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise DriverError(f"unknown grain {self.grain!r}; choose one of "
                              + ", ".join(GRAINS))
        for link in (*self.chain, *self.extra_links):
            for name in (link.upstream, link.downstream):
                if name not in MEASURES:
                    raise DriverError(f"unknown chain measure {name!r}; available: "
                                      + ", ".join(MEASURES))
            if link.lag < 0:
                raise DriverError("a link's lag must be 0 or more periods")
        if not 0 < self.level < 1:
            raise DriverError("level must be between 0 and 1")


@dataclass
class ServiceProfitChain:
    """The estimated chain: ``links`` (one row per link), ``missing`` (links that could not
    be estimated, with why), ``panel`` (team × period measures) and the config."""

    links: pd.DataFrame
    missing: list[dict[str, str]]
    panel: pd.DataFrame
    config: ChainConfig
    notes: list[str] = field(default_factory=list)

    def draw(self) -> str:
        """The chain as text: ``engagement ─(+0.27 FCR pts/pt [0.10, 0.40])→ FCR ─…``; a
        link that could not be estimated is drawn ``─(?)→``."""
        rows = {(r["from"], r["to"]): r for r in self.links.to_dict("records")}
        parts: list[str] = []
        for link in self.config.chain:
            if not parts:
                parts.append(MEASURES[link.upstream][0])
            row = rows.get((link.upstream, link.downstream))
            if row is None or not np.isfinite(row["estimate"]):
                label = "?"
            else:
                label = (f"{row['estimate']:+.3g} {row['unit']} [{row['low']:.3g}, "
                         f"{row['high']:.3g}]" + (" between" if row["estimator"]
                                                  == "between teams" else ""))
            parts.append(f" ─({label})→ {MEASURES[link.downstream][0]}")
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: links, missing links, the chain drawing and the settings."""
        links = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                  for k, v in row.items()} for row in self.links.to_dict("records")]
        return {"chain": self.draw(), "links": links, "missing": self.missing,
                "notes": self.notes,
                "grain": self.config.grain, "mix": list(self.config.mix),
                "teams": int(self.panel["team_id"].nunique()) if len(self.panel) else 0,
                "team_periods": len(self.panel)}


# -- the Ibis side: one aggregate per source ---------------------------------------------------
def _mix_columns(interactions: ir.Table, customers: ir.Table, mix: Sequence[str]
                 ) -> tuple[ir.Table, list[str]]:
    """Interactions with each mix column (from interactions, else from customers)."""
    import ibis

    wanted = [c for c in mix if c in interactions.columns or c in customers.columns]
    from_customers = [c for c in wanted if c in customers.columns]
    table = interactions
    if from_customers:
        people = customers.select(_mix_customer=customers.customer_id,
                                  **{f"_c_{c}": customers[c].cast("string")
                                     for c in from_customers})
        table = table.left_join(people, table.customer_id == people._mix_customer)
    values: dict[str, ir.Value] = {}
    for c in wanted:
        own = table[c].cast("string") if c in interactions.columns else ibis.null("string")
        other = table[f"_c_{c}"] if c in from_customers else ibis.null("string")
        values[f"_mix_{c}"] = own.coalesce(other).fill_null(MISSING)
    table = table.mutate(**values)
    return table, wanted


def _cell_key(table: ir.Table, mix: Sequence[str]) -> ir.StringValue:
    import ibis

    if not mix:
        return ibis.literal("all")
    key = table[f"_mix_{mix[0]}"]
    for c in mix[1:]:
        key = key.concat("|", table[f"_mix_{c}"])
    return key


def contact_table(interactions: ir.Table, customers: ir.Table, outcomes: ir.Table,
                  config: ChainConfig, data_end: Any) -> tuple[ir.Table, list[str]]:
    """The team's contacts with period, mix cell, repeat flag, and churn after them."""
    import ibis

    from smokejumper.metrics.cube import repeat_column, with_repeat_flags

    flagged = with_repeat_flags(interactions, [config.repeat_window_days])
    table, mix = _mix_columns(flagged, customers, config.mix)
    churn_events = outcomes.filter(outcomes.kind == "churn").group_by(
        _churn_customer=outcomes.customer_id).aggregate(_churn_event=outcomes.ts.min())
    people = customers.select(_rev_customer=customers.customer_id,
                              _revenue=customers.revenue.cast("float64"),
                              _churned_at=customers.churned_at)
    table = table.left_join(churn_events, table.customer_id == churn_events._churn_customer)
    table = table.left_join(people, table.customer_id == people._rev_customer)
    churn_at = table._churn_event.coalesce(table._churned_at)
    churn_at = ibis.least(churn_at, table._churned_at.coalesce(churn_at))
    window = ibis.interval(days=config.churn_window_days)
    eligible = table.ts + window <= ibis.literal(data_end, type="timestamp")
    churned = (churn_at >= table.ts) & (churn_at < table.ts + window)
    repeat = table[repeat_column(config.repeat_window_days)].fill_null(False)
    table = table.filter(table.team_id.notnull())
    return table.select(
        interaction_id=table.interaction_id, customer_id=table.customer_id,
        team_id=table.team_id.cast("string"),
        agent=(table.agent_id.cast("string") if "agent_id" in table.columns
               else ibis.null("string")).fill_null(MISSING),
        period=table.ts.truncate(GRAINS[config.grain]),
        cell=_cell_key(table, mix),
        resolved=table.resolved.cast("int64"),
        repeat=repeat.cast("int64"),
        handle_min=table.handle_time_s.cast("float64") / 60.0,
        eligible=eligible,
        churned=ibis.ifelse(eligible, churned.fill_null(False).cast("int64"),
                            ibis.null("int64")),
        revenue=table._revenue,
    ), mix


def contact_statistics(contacts: ir.Table) -> ir.Table:
    """Per team × period × cell: contacts, resolved, repeats, handle time and churn sums."""
    c = contacts
    return c.group_by(["team_id", "period", "cell", "agent"]).aggregate(
        contacts=c.count(), resolved_n=c.resolved.count(), resolved_sum=c.resolved.sum(),
        repeat_sum=c.repeat.sum(), handle_n=c.handle_min.count(),
        handle_sum=c.handle_min.sum(), handle_squares=(c.handle_min * c.handle_min).sum(),
        churn_n=c.churned.count(), churn_sum=c.churned.sum())


def revenue_statistics(contacts: ir.Table) -> ir.Table:
    """Per team × period: yearly revenue of the distinct customers who churned after a
    contact (within the window)."""
    c = contacts.filter(contacts.churned == 1)
    per_customer = c.group_by(["team_id", "period", "customer_id"]).aggregate(
        revenue=c.revenue.max())
    return per_customer.group_by(["team_id", "period"]).aggregate(
        revenue_lost=per_customer.revenue.sum(), churned_customers=per_customer.count())


def _contact_keys(contacts: ir.Table) -> ir.Table:
    return contacts.select(_contact=contacts.interaction_id, _k_team=contacts.team_id,
                           _k_period=contacts.period, _k_cell=contacts.cell,
                           _k_agent=contacts.agent)


def response_statistics(responses: ir.Table, contacts: ir.Table) -> ir.Table:
    """Per team × period × cell of the contact: NPS and CSAT sufficient statistics."""
    import ibis

    r = responses.filter(responses.interaction_id.notnull()
                         & (responses.nps.notnull() | responses.csat.notnull()))
    keys = _contact_keys(contacts)
    joined = r.inner_join(keys, r.interaction_id == keys._contact)
    points = ibis.ifelse(joined.nps >= 9, 100.0, ibis.ifelse(joined.nps <= 6, -100.0, 0.0))
    points = ibis.ifelse(joined.nps.isnull(), ibis.null("float64"), points)
    satisfied = ibis.ifelse(joined.csat.isnull(), ibis.null("int64"),
                            (joined.csat >= 4).cast("int64"))
    joined = joined.select(team_id=joined._k_team, period=joined._k_period,
                           cell=joined._k_cell, agent=joined._k_agent, _points=points,
                           _satisfied=satisfied)
    return joined.group_by(["team_id", "period", "cell", "agent"]).aggregate(
        nps_n=joined._points.count(), nps_sum=joined._points.sum(),
        nps_squares=(joined._points * joined._points).sum(),
        csat_n=joined._satisfied.count(), csat_sum=joined._satisfied.sum())


def conversation_statistics(enrichments: ir.Table, contacts: ir.Table) -> ir.Table:
    """Per team × period × cell: conversation scores of the team's enriched transcripts,
    each transcript once, from its latest enrichment (as the ``conversation_score``
    metric reads it)."""
    from smokejumper.metrics.text import latest_enrichments

    e = latest_enrichments(enrichments, "interactions", ("conversation_score",))
    e = e.filter(e.conversation_score.notnull())
    keys = _contact_keys(contacts)
    joined = e.inner_join(keys, e.text_id == keys._contact)
    joined = joined.select(team_id=joined._k_team, period=joined._k_period,
                           cell=joined._k_cell, agent=joined._k_agent,
                           _score=joined.conversation_score.cast("float64"))
    score = joined._score
    return joined.group_by(["team_id", "period", "cell", "agent"]).aggregate(
        score_n=score.count(), score_sum=score.sum(), score_squares=(score * score).sum())


# -- in memory: mix adjustment and employee measures -------------------------------------------
def adjust_for_mix(stats: pd.DataFrame, n: str, total: str, squares: str, scale: float,
                   adjust: bool = True, by_agent: bool = False) -> pd.DataFrame:
    """Per team × period: n, the raw mean and the mix-adjusted mean (× ``scale``); with
    ``by_agent`` the cells are mix × agent, so each agent is compared with themselves."""
    import pandas as pd

    from smokejumper.frontline.shrinkage import fit_case_mix

    rows = stats[stats[n] > 0]
    if rows.empty:
        return pd.DataFrame(columns=["team_id", "period", "n", "raw", "adjusted"])
    units = rows["team_id"].astype(str) + "\x1f" + rows["period"].astype(str)
    unit_codes, unit_labels = pd.factorize(units)
    cells = rows["cell"] + "\x1f" + rows["agent"] if by_agent else rows["cell"]
    cell_codes, cell_labels = pd.factorize(cells)
    count = rows[n].to_numpy(np.float64)
    fit = fit_case_mix(unit_codes, cell_codes, count,
                       rows[total].to_numpy(np.float64) * scale,
                       rows[squares].to_numpy(np.float64) * scale * scale,
                       len(unit_labels), len(cell_labels))
    first = rows.groupby(unit_codes, sort=True)[["team_id", "period"]].first()
    out = first.reset_index(drop=True)
    out["n"] = fit.n
    out["raw"] = fit.raw_mean
    out["adjusted"] = fit.grand_mean + fit.effect if adjust else fit.raw_mean
    return out


def employee_measures(employees: pd.DataFrame, periods: Sequence[Any], grain: str,
                      exclude_roles: Sequence[str] = ("team_lead",)) -> pd.DataFrame:
    """Per team × period: headcount, engagement, attrition (%), tenure (years) of the roster.

    >>> import pandas as pd
    >>> staff = pd.DataFrame({"team_id": ["A", "A"], "role": ["agent", "agent"],
    ...     "hired_at": pd.to_datetime(["2024-01-01", "2024-06-01"]),
    ...     "left_at": pd.to_datetime([None, "2025-01-20"]), "engagement": [80.0, 60.0]})
    >>> out = employee_measures(staff, [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")],
    ...                         "month")
    >>> out[["headcount", "engagement", "attrition"]].values.tolist()
    [[2.0, 70.0, 50.0], [1.0, 80.0, 0.0]]
    """
    import pandas as pd

    columns = ["team_id", "period", "headcount", "engagement", "attrition", "tenure_years"]
    staff = employees[employees["team_id"].notna()]
    if "role" in staff.columns and exclude_roles:
        staff = staff[~staff["role"].isin(list(exclude_roles))]
    if staff.empty or not len(periods):
        return pd.DataFrame(columns=columns)
    starts = pd.DatetimeIndex(sorted(pd.to_datetime(list(periods)).unique()))
    offset = pd.tseries.frequencies.to_offset(PANDAS_FREQ[grain])
    hired = pd.to_datetime(staff["hired_at"]).to_numpy("datetime64[ns]")
    left = pd.to_datetime(staff["left_at"]).to_numpy("datetime64[ns]")
    engagement = staff["engagement"].to_numpy(np.float64)
    team = staff["team_id"].astype(str).to_numpy()
    rows = []
    never = np.datetime64("2262-01-01")
    left_or_never = np.where(np.isnat(left), never, left)
    hired_or_ever = np.where(np.isnat(hired), np.datetime64("1677-10-01"), hired)
    for start in starts:
        end = (start + offset).to_datetime64()
        begin = start.to_datetime64()
        middle = begin + (end - begin) / 2
        on_roster = (hired_or_ever < end) & (left_or_never >= begin)
        leaving = on_roster & (left_or_never >= begin) & (left_or_never < end)
        tenure = (middle - hired) / np.timedelta64(1, "D") / 365.25
        for name in np.unique(team[on_roster]):
            members = on_roster & (team == name)
            count = int(members.sum())
            scores = engagement[members]
            years = tenure[members]
            rows.append((name, start, float(count),
                         float(np.nanmean(scores)) if np.isfinite(scores).any() else np.nan,
                         100.0 * float((leaving & (team == name)).sum()) / count,
                         float(np.nanmean(years)) if np.isfinite(years).any() else np.nan))
    return pd.DataFrame(rows, columns=columns)


def chain_panel(ws: Workspace, config: ChainConfig) -> tuple[pd.DataFrame, list[str]]:
    """The team × period panel of every measure that this workspace can provide, and notes
    on what it could not."""
    import pandas as pd

    notes: list[str] = []
    interactions = ws.table("interactions")
    if "team_id" not in interactions.columns:
        raise DriverError("the interactions table has no team_id column: the service profit "
                          "chain needs contacts by team")
    handled = interactions.filter(interactions.team_id.notnull())
    counts = handled.aggregate(n=handled.count(), end=interactions.ts.max()).to_pandas()
    if not len(counts) or int(counts["n"].iloc[0]) == 0:
        raise DriverError("no interactions with a team_id: the service profit chain needs "
                          "contacts by team")
    data_end = pd.Timestamp(interactions.ts.max().to_pandas())
    outcomes, customers = ws.table("outcomes"), ws.table("customers")
    contacts, mix = contact_table(interactions, customers, outcomes, config, data_end)
    if config.adjust:
        notes.append("service, customer and churn measures are adjusted for the mix of "
                     + (" × ".join(mix) if mix else "nothing (no mix columns found)"))
    with ws.reporter.progress("aggregating the service profit chain panel"):
        sources = {"contacts": contact_statistics(contacts).to_pandas(),
                   "responses": response_statistics(ws.table("responses"),
                                                    contacts).to_pandas()}
        if "enrichments" in ws.analytics.backend.list_tables():
            sources["conversations"] = conversation_statistics(
                ws.table("enrichments"), contacts).to_pandas()
        revenue = revenue_statistics(contacts).to_pandas()
        staff = ws.table("employees").select(
            "team_id", "role", "hired_at", "left_at", "engagement").to_pandas()
    for frame in (*sources.values(), revenue):
        frame["period"] = pd.to_datetime(frame["period"])
        frame["team_id"] = frame["team_id"].astype(str)
    roster = bool((sources["contacts"]["agent"] != MISSING).any())
    if roster and config.adjust:
        notes.append("links from a service measure are also estimated with each agent "
                     "compared with themselves (mix × agent cells), so that a change of "
                     "roster does not pass for an effect of the service")
    base = sources["contacts"].groupby(["team_id", "period"], as_index=False)["contacts"].sum()
    for name, (source, n, total, squares, scale) in ADJUSTED.items():
        if source not in sources:
            continue
        part = adjust_for_mix(sources[source], n, total, squares, scale, config.adjust)
        part = part.rename(columns={"n": f"{name}_n", "raw": f"{name}_raw",
                                    "adjusted": name})
        part["period"] = pd.to_datetime(part["period"])
        base = base.merge(part, on=["team_id", "period"], how="left")
        if roster and config.adjust:
            agent = adjust_for_mix(sources[source], n, total, squares, scale, True, True)
            agent = agent.rename(columns={"adjusted": f"{name}_roster"})
            agent["period"] = pd.to_datetime(agent["period"])
            base = base.merge(agent[["team_id", "period", f"{name}_roster"]],
                              on=["team_id", "period"], how="left")
    base = base.merge(revenue, on=["team_id", "period"], how="left")
    churn_events = int(outcomes.filter(outcomes.kind == "churn").count().to_pandas()) + int(
        customers.churned_at.count().to_pandas())
    if churn_events == 0:
        base = base.drop(columns=[c for c in base.columns if c.startswith("churn")])
        notes.append("no churn events (outcomes kind 'churn' or customers.churned_at): "
                     "churn links are missing")
        base["churn_n"] = 0.0
    censored = base["churn_n"].fillna(0) == 0
    base.loc[censored, ["revenue_lost", "churned_customers"]] = np.nan
    base.loc[~censored, ["revenue_lost", "churned_customers"]] = base.loc[
        ~censored, ["revenue_lost", "churned_customers"]].fillna(0.0)
    people = employee_measures(staff, base["period"].unique(), config.grain,
                               config.exclude_roles)
    if people.empty:
        notes.append("no employees with a team_id: employee measures are missing")
    people["period"] = pd.to_datetime(people["period"])
    base = base.merge(people, on=["team_id", "period"], how="left")
    base["contacts_per_agent"] = base["contacts"] / base["headcount"]
    if "churn_n" in base and base["churn_n"].fillna(0).eq(0).any():
        notes.append(f"churn is left out for periods less than {config.churn_window_days} "
                     "days before the end of the data (the window is not over)")
    return base.sort_values(["team_id", "period"]).reset_index(drop=True), notes


# -- the links ---------------------------------------------------------------------------------
def _volume(frame: pd.DataFrame, measure: str) -> pd.Series:
    for column in (f"{measure}_n", "contacts"):
        if column in frame.columns:
            return frame[column].astype(float)
    return frame["contacts"].astype(float)


def _lagged(frame: pd.DataFrame, column: str, lag: int) -> pd.Series:
    """``column`` of ``lag`` periods before, within a team (NaN when that period is absent)."""
    if lag == 0:
        return frame[column]
    import pandas as pd

    index = frame.assign(_order=pd.factorize(frame["period"], sort=True)[0])
    lookup = index.set_index(["team_id", "_order"])[column]
    keys = pd.MultiIndex.from_arrays([index["team_id"], index["_order"] - lag])
    return pd.Series(lookup.reindex(keys).to_numpy(), index=frame.index)


def estimate_link(frame: pd.DataFrame, link: LinkSpec, config: ChainConfig
                  ) -> dict[str, Any] | str:
    """One link's estimates (a row of ``links``) or why it cannot be estimated."""
    for name in (link.upstream, link.downstream):
        if name not in frame.columns or frame[name].notna().sum() == 0:
            return f"no {MEASURES[name][0]} measure in this workspace"
    x = _lagged(frame, link.upstream, link.lag)
    y = frame[link.downstream]
    weight = _volume(frame, link.downstream)
    keep = x.notna() & y.notna() & (weight > 0)
    if not keep.any():
        return "no team-period has both measures"
    team = frame.loc[keep, "team_id"].to_numpy()
    period = frame.loc[keep, "period"].to_numpy() if config.period_effects else None
    xs, ys, ws_ = (v[keep].to_numpy(np.float64) for v in (x, y, weight))
    n_teams = len(np.unique(team))
    if n_teams < config.min_teams:
        return f"{n_teams} team(s) have both measures; at least {config.min_teams} are needed"
    # a service measure's effect: each agent compared with themselves (see the docstring)
    by_agent = (MEASURES[link.upstream][2] == "service"
                and f"{link.upstream}_roster" in frame.columns
                and f"{link.downstream}_roster" in frame.columns)
    if by_agent:
        fx = _lagged(frame, f"{link.upstream}_roster", link.lag)[keep].to_numpy(np.float64)
        fy = frame.loc[keep, f"{link.downstream}_roster"].to_numpy(np.float64)
        good = np.isfinite(fx) & np.isfinite(fy)
        fe = panel.fixed_effects(fy[good], fx[good], team[good],
                                 None if period is None else period[good], ws_[good],
                                 config.level)
        share = panel.within_share(fx[good], team[good],
                                   None if period is None else period[good], ws_[good])
    else:
        fe = panel.fixed_effects(ys, xs, team, period, ws_, config.level)
        share = panel.within_share(xs, team, period, ws_)
    bt = panel.between(ys, xs, team, ws_, config.level)
    if not np.isfinite(fe.estimate) and not np.isfinite(bt.estimate):
        return f"{MEASURES[link.upstream][0]} does not vary across teams or periods"
    name = MEASURES[link.upstream][0]
    if share < config.min_within_share and np.isfinite(bt.estimate):
        chosen = bt
        reason = (f"{name} varies little within teams ({share:.0%} of its variance): the "
                  "between-team link is used; it is open to team-level confounding")
    elif np.isfinite(fe.estimate):
        chosen = fe
        reason = (f"{share:.0%} of the variance of {name} is within teams: team fixed "
                  "effects compare each team with itself"
                  + (", and each agent with themselves (mix × agent cells)" if by_agent
                     else ""))
    else:
        chosen = bt
        reason = "no within-team variation: the between-team link is used"
    unit = f"{MEASURES[link.downstream][1]}/{MEASURES[link.upstream][1]}"
    return {
        "from": link.upstream, "to": link.downstream, "lag": link.lag,
        "estimate": chosen.estimate, "low": chosen.low, "high": chosen.high,
        "se": chosen.se, "estimator": chosen.estimator, "unit": unit,
        "n_teams": chosen.n_teams, "n_obs": chosen.n_obs,
        "within_share": share, "reason": reason,
        "fe_estimate": fe.estimate, "fe_low": fe.low, "fe_high": fe.high,
        "between_estimate": bt.estimate, "between_low": bt.low, "between_high": bt.high,
        "fe_adjustment": "mix × agent" if by_agent else "mix",
        "in_chain": link in config.chain,
    }


LINK_COLUMNS = ["from", "to", "lag", "estimate", "low", "high", "se", "estimator", "unit",
                "n_teams", "n_obs", "within_share", "reason", "fe_estimate", "fe_low",
                "fe_high", "between_estimate", "between_low", "between_high", "fe_adjustment",
                "in_chain"]


def estimate_chain(panel_frame: pd.DataFrame, config: ChainConfig,
                   notes: Sequence[str] = ()) -> ServiceProfitChain:
    """Estimate every link of ``config`` on a team × period panel."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    for link in (*config.chain, *config.extra_links):
        out = estimate_link(panel_frame, link, config)
        if isinstance(out, str):
            missing.append({"from": link.upstream, "to": link.downstream, "why": out})
        else:
            rows.append(out)
    links = pd.DataFrame(rows, columns=LINK_COLUMNS)
    return ServiceProfitChain(links, missing, panel_frame, config, list(notes))


def service_profit_chain(ws: Workspace, config: ChainConfig | None = None
                         ) -> ServiceProfitChain:
    """Build the team × period panel of ``ws`` and estimate the chain's links."""
    config = config or ChainConfig()
    panel_frame, notes = chain_panel(ws, config)
    return estimate_chain(panel_frame, config, notes)
