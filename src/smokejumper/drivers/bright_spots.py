"""Bright spots: learn from the delighted, and from the units that beat their mix.

* :func:`contrast_facts` — extremely satisfied customers (NPS 10, or CSAT 5 when there is no
  NPS) against negative ones (detractors, NPS 0-6, or CSAT 1-2): for each categorical fact
  (touchpoint, channel, contact_reason, segment, region, team, agent, themes) the difference
  in the share of each value between the two groups, with a 95% interval and Cohen's h; for
  each numeric fact (handle time, resolved, repeat contact, CES) Hedges' g with an interval.
  Ranked by the effect size nearest zero within the interval, so that a small group with a
  wide interval is not ranked above a well-measured one; values seen fewer than ``min_n``
  times are left out.
* :func:`positive_deviants` — units (teams, sites, regions) whose NPS beats what their mix
  of customers and contacts predicts: a two-way additive model ``NPS points = cell + unit``
  over response-level +100/0/-100 scores (cells: segment × touchpoint × channel ×
  contact_reason), the unit effect (observed − expected) shrunk by empirical Bayes, and, for
  the top deviants, their operational measures against peers with the same mix.

The aggregation runs on the engine (one Ibis query per fact); statistics run on the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from smokejumper.errors import DriverError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from smokejumper.workspace import Workspace

MISSING = "(none)"
CATEGORICAL = ("touchpoint", "channel", "contact_reason", "segment", "region", "team_id",
               "agent_id")
NUMERIC = ("handle_time_min", "resolved", "repeat_contact", "ces", "wait_time_s")
DEFAULT_MIX = ("segment", "touchpoint", "channel", "contact_reason")
LEVELS = {"team": "team_id", "agent": "agent_id", "site": "site", "region": "region"}


@dataclass(frozen=True)
class BrightSpotConfig:
    """Who counts as delighted and as negative, which facts, how small a value may be."""

    delighted_nps: int = 10
    delighted_csat: int = 5
    negative_nps: int = 6
    negative_csat: int = 2
    categorical: tuple[str, ...] = CATEGORICAL
    numeric: tuple[str, ...] = NUMERIC
    themes: bool = True
    min_n: int = 30
    level: float = 0.95
    repeat_window_days: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.negative_nps < self.delighted_nps <= 10:
            raise DriverError("need 0 <= negative_nps < delighted_nps <= 10")
        if not 1 <= self.negative_csat < self.delighted_csat <= 5:
            raise DriverError("need 1 <= negative_csat < delighted_csat <= 5")
        if self.min_n < 1 or not 0 < self.level < 1:
            raise DriverError("min_n must be at least 1 and level between 0 and 1")


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def feedback_table(ws: Workspace, repeat_window_days: int = 7) -> ir.Table:
    """Responses with an NPS or CSAT, joined to their contact and customer: one row each,
    with the categorical and numeric facts as columns (missing ones as NULL)."""
    import ibis

    from smokejumper.metrics.cube import repeat_column, with_repeat_flags

    r = ws.table("responses")
    r = r.filter(r.nps.notnull() | r.csat.notnull())
    contacts = with_repeat_flags(ws.table("interactions"), [repeat_window_days])
    i = contacts.select(
        _iid=contacts.interaction_id, _i_customer=contacts.customer_id,
        **{f"_i_{c}": contacts[c].cast("string") for c in CATEGORICAL if c in contacts.columns},
        handle_time_min=contacts.handle_time_s.cast("float64") / 60.0,
        resolved=contacts.resolved.cast("float64"),
        repeat_contact=contacts[repeat_column(repeat_window_days)].fill_null(False)
        .cast("float64"),
        **({"wait_time_s": contacts.wait_time_s.cast("float64")}
           if "wait_time_s" in contacts.columns else {}))
    rows = r.left_join(i, r.interaction_id == i._iid)
    customers = ws.table("customers")
    people = customers.select(_cid=customers.customer_id,
                              **{f"_c_{c}": customers[c].cast("string")
                                 for c in ("segment", "region") if c in customers.columns})
    who = rows.customer_id.coalesce(rows._i_customer)
    rows = rows.left_join(people, who == people._cid)
    values: dict[str, Any] = {"response_id": rows.response_id, "nps": rows.nps,
                              "csat": rows.csat, "ces": rows.ces.cast("float64")}
    for c in CATEGORICAL:
        options = [rows[name] for name in (f"_i_{c}", f"_c_{c}") if name in rows.columns]
        if c in r.columns:
            options.insert(0, rows[c].cast("string"))
        if options:
            value = options[0]
            for other in options[1:]:
                value = value.coalesce(other)
            values[c] = value
        else:
            values[c] = ibis.null("string")
    for c in ("handle_time_min", "resolved", "repeat_contact", "wait_time_s"):
        values[c] = rows[c] if c in rows.columns else ibis.null("float64")
    return rows.select(**values)


def _grouped(feedback: ir.Table, config: BrightSpotConfig) -> ir.Table:
    import ibis

    nps, csat = feedback.nps, feedback.csat
    delighted = ibis.ifelse(nps.notnull(), nps >= config.delighted_nps,
                            csat >= config.delighted_csat)
    negative = ibis.ifelse(nps.notnull(), nps <= config.negative_nps,
                           csat <= config.negative_csat)
    group = ibis.ifelse(delighted, "delighted", ibis.ifelse(negative, "negative",
                                                            ibis.null("string")))
    table = feedback.mutate(group=group)
    return table.filter(table.group.notnull())


def contrast_facts(ws: Workspace, config: BrightSpotConfig | None = None) -> pd.DataFrame:
    """Delighted against negative customers, fact by fact (see the module docstring).

    Columns: ``fact, value, kind, delighted, negative`` (share or mean in each group),
    ``difference, low, high`` (difference in share, or in means), ``effect, effect_low,
    effect_high`` (Cohen's h or Hedges' g), ``n_delighted, n_negative, n, rank``.
    """
    import pandas as pd

    config = config or BrightSpotConfig()
    table = _grouped(feedback_table(ws, config.repeat_window_days), config)
    with ws.reporter.progress("contrasting delighted and negative customers"):
        sizes = table.group_by("group").aggregate(n=table.count()).to_pandas()
        totals = dict(zip(sizes["group"], sizes["n"].astype(float), strict=True))
        n_d, n_n = totals.get("delighted", 0.0), totals.get("negative", 0.0)
        if n_d < 2 or n_n < 2:
            raise DriverError("too few delighted or negative customers to contrast "
                              f"({int(n_d)} delighted, {int(n_n)} negative)")
        rows: list[dict[str, Any]] = []
        for fact in config.categorical:
            present = table.filter(table[fact].notnull())
            counts = present.group_by(["group", fact]).aggregate(
                k=present.count()).to_pandas()
            rows += _share_rows(counts, fact, fact, n_d, n_n, config)
        if config.themes and "enrichment_themes" in ws.analytics.backend.list_tables():
            from smokejumper.metrics.text import latest_enrichments

            themes = ws.table("enrichment_themes")
            latest = latest_enrichments(ws.table("enrichments"), "responses", ())
            themes = themes.filter(themes.source_table == "responses").semi_join(
                latest, ["text_id", "text_hash", "model_version"]).select(
                "text_id", "theme").distinct()
            joined = table.inner_join(themes, table.response_id == themes.text_id)
            counts = joined.group_by(["group", "theme"]).aggregate(k=joined.count()).to_pandas()
            rows += _share_rows(counts, "theme", "theme", n_d, n_n, config)
        numeric = [c for c in config.numeric if c in table.columns]
        if numeric:
            moments = table.group_by("group").aggregate(**{
                **{f"{c}__n": table[c].count() for c in numeric},
                **{f"{c}__sum": table[c].sum() for c in numeric},
                **{f"{c}__squares": (table[c] * table[c]).sum() for c in numeric},
            }).to_pandas().set_index("group")
            rows += _mean_rows(moments, numeric, config)
    out = pd.DataFrame(rows, columns=CONTRAST_COLUMNS[:-1])
    out = out[out["n"] >= config.min_n]
    strength = np.where((out["effect_low"] > 0) | (out["effect_high"] < 0),
                        np.minimum(out["effect_low"].abs(), out["effect_high"].abs()), 0.0)
    out = out.assign(_strength=strength, _size=out["effect"].abs()).sort_values(
        ["_strength", "_size"], ascending=False, kind="stable").drop(
        columns=["_strength", "_size"]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out.attrs.update(n_delighted=int(n_d), n_negative=int(n_n), min_n=config.min_n,
                     delighted=f"nps >= {config.delighted_nps} (csat >= "
                               f"{config.delighted_csat} without nps)",
                     negative=f"nps <= {config.negative_nps} (csat <= "
                              f"{config.negative_csat} without nps)")
    return out


CONTRAST_COLUMNS = ["fact", "value", "kind", "delighted", "negative", "difference", "low",
                    "high", "effect", "effect_low", "effect_high", "n_delighted", "n_negative",
                    "n", "rank"]


def share_difference(k_d: float, n_d: float, k_n: float, n_n: float, level: float = 0.95
                     ) -> tuple[float, float, float, float, float, float]:
    """Difference in shares (Wald interval) and Cohen's h with its interval.

    >>> [round(v, 4) for v in share_difference(50, 100, 25, 100)]
    [0.25, 0.1204, 0.3796, 0.5236, 0.2464, 0.8008]
    """
    z = _z(level)
    p_d, p_n = k_d / n_d, k_n / n_n
    diff = p_d - p_n
    se = np.sqrt(p_d * (1 - p_d) / n_d + p_n * (1 - p_n) / n_n)
    h = 2 * np.arcsin(np.sqrt(p_d)) - 2 * np.arcsin(np.sqrt(p_n))
    se_h = np.sqrt(1 / n_d + 1 / n_n)
    return (float(diff), float(diff - z * se), float(diff + z * se), float(h),
            float(h - z * se_h), float(h + z * se_h))


def hedges_g(mean_d: float, var_d: float, n_d: float, mean_n: float, var_n: float,
             n_n: float, level: float = 0.95) -> tuple[float, float, float]:
    """Hedges' g (delighted − negative, pooled sd, small-sample corrected) and its interval.

    >>> [round(v, 4) for v in hedges_g(1.0, 1.0, 50, 0.0, 1.0, 50)]
    [0.9923, 0.5769, 1.4077]
    """
    pooled = np.sqrt(((n_d - 1) * var_d + (n_n - 1) * var_n) / max(n_d + n_n - 2, 1))
    if pooled <= 0:
        return float("nan"), float("nan"), float("nan")
    d = (mean_d - mean_n) / pooled
    g = d * (1 - 3 / (4 * (n_d + n_n) - 9))
    se = np.sqrt((n_d + n_n) / (n_d * n_n) + g * g / (2 * (n_d + n_n)))
    z = _z(level)
    return float(g), float(g - z * se), float(g + z * se)


def _share_rows(counts: pd.DataFrame, column: str, fact: str, n_d: float, n_n: float,
                config: BrightSpotConfig) -> list[dict[str, Any]]:
    if counts.empty:
        return []
    wide = counts.pivot_table(index=column, columns="group", values="k", aggfunc="sum",
                              fill_value=0)
    rows = []
    for value, row in wide.iterrows():
        k_d, k_n = float(row.get("delighted", 0)), float(row.get("negative", 0))
        diff, low, high, h, h_low, h_high = share_difference(k_d, n_d, k_n, n_n, config.level)
        rows.append({"fact": fact, "value": str(value), "kind": "share",
                     "delighted": k_d / n_d, "negative": k_n / n_n, "difference": diff,
                     "low": low, "high": high, "effect": h, "effect_low": h_low,
                     "effect_high": h_high, "n_delighted": int(k_d), "n_negative": int(k_n),
                     "n": int(k_d + k_n)})
    return rows


def _mean_rows(moments: pd.DataFrame, numeric: Sequence[str], config: BrightSpotConfig
               ) -> list[dict[str, Any]]:
    rows = []
    z = _z(config.level)
    for c in numeric:
        stats = {}
        for group in ("delighted", "negative"):
            if group not in moments.index:
                break
            n = float(moments.loc[group, f"{c}__n"] or 0)
            total = float(moments.loc[group, f"{c}__sum"] or 0)
            squares = float(moments.loc[group, f"{c}__squares"] or 0)
            if n < 2:
                break
            mean = total / n
            stats[group] = (mean, max((squares - n * mean * mean) / (n - 1), 0.0), n)
        if len(stats) < 2:
            continue
        (m_d, v_d, n_d), (m_n, v_n, n_n) = stats["delighted"], stats["negative"]
        g, g_low, g_high = hedges_g(m_d, v_d, n_d, m_n, v_n, n_n, config.level)
        if not np.isfinite(g):
            continue
        se = np.sqrt(v_d / n_d + v_n / n_n)
        rows.append({"fact": c, "value": "(mean)", "kind": "mean", "delighted": m_d,
                     "negative": m_n, "difference": m_d - m_n, "low": m_d - m_n - z * se,
                     "high": m_d - m_n + z * se, "effect": g, "effect_low": g_low,
                     "effect_high": g_high, "n_delighted": int(n_d), "n_negative": int(n_n),
                     "n": int(n_d + n_n)})
    return rows


# -- positive deviants --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviantConfig:
    """The unit level, the mix cells, the minimum responses and how many to profile."""

    level: str = "team"
    mix: tuple[str, ...] = DEFAULT_MIX
    min_n: int = 30
    top: int = 5
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise DriverError(f"unknown level {self.level!r}; choose one of "
                              + ", ".join(LEVELS))


def _with_unit(ws: Workspace, table: ir.Table, level: str) -> ir.Table:
    """``table`` with ``_unit``: its team, agent or region column, or the team's site."""
    column = LEVELS[level]
    if column != "site":
        return table.mutate(_unit=table[column].cast("string"))
    staff = ws.table("employees")
    sites = staff.filter(staff.team_id.notnull() & staff.site.notnull()).group_by(
        _site_team=staff.team_id).aggregate(_site=staff.site.max())
    joined = table.left_join(sites, table.team_id == sites._site_team)
    return joined.mutate(_unit=joined._site)


def _cells(table: ir.Table, mix: Sequence[str]) -> ir.StringValue:
    import ibis

    key: Any = ibis.literal("all")
    for c in mix:
        key = key.concat("|", table[c].cast("string").fill_null(MISSING))
    return key


def positive_deviants(ws: Workspace, config: DeviantConfig | None = None) -> pd.DataFrame:
    """Units whose NPS beats what their mix predicts, shrunk, best first.

    Columns: ``unit, n, nps, expected, deviance, low, high, shrunk, shrunk_low,
    shrunk_high, rank``: ``deviance`` = observed − expected NPS points given the mix,
    ``shrunk`` its empirical-Bayes estimate (small units pulled towards 0). ``attrs``
    holds ``profiles``: for the top units, operational measures against same-mix peers.
    """
    import pandas as pd

    from smokejumper.frontline.shrinkage import fit_case_mix, shrink

    config = config or DeviantConfig()
    feedback = feedback_table(ws)
    feedback = feedback.filter(feedback.nps.notnull())
    feedback = _with_unit(ws, feedback, config.level)
    mix = [c for c in config.mix if c in feedback.columns and c != LEVELS[config.level]]
    import ibis

    points = ibis.ifelse(feedback.nps >= 9, 100.0, ibis.ifelse(feedback.nps <= 6, -100.0, 0.0))
    keyed = feedback.mutate(_y=points, _cell=_cells(feedback, mix))
    keyed = keyed.filter(keyed._unit.notnull())
    with ws.reporter.progress(f"fitting expected NPS per {config.level} from the mix"):
        stats = keyed.group_by(["_unit", "_cell"]).aggregate(
            n=keyed.count(), total=keyed._y.sum(),
            squares=(keyed._y * keyed._y).sum()).to_pandas()
    if stats.empty:
        raise DriverError(f"no NPS responses with a {config.level}: nothing to compare")
    unit_codes, units = pd.factorize(stats["_unit"])
    cell_codes, cells = pd.factorize(stats["_cell"])
    fit = fit_case_mix(unit_codes, cell_codes, stats["n"].to_numpy(float),
                       stats["total"].to_numpy(float), stats["squares"].to_numpy(float),
                       len(units), len(cells))
    z = _z(config.confidence)
    big = fit.n >= config.min_n
    post = shrink(fit.effect[big], fit.sampling_variance[big], 0.0)
    out = pd.DataFrame({
        "unit": np.asarray(units)[big], "n": fit.n[big].astype(int),
        "nps": fit.raw_mean[big], "expected": fit.raw_mean[big] - fit.effect[big],
        "deviance": fit.effect[big],
        "low": fit.effect[big] - z * np.sqrt(fit.sampling_variance[big]),
        "high": fit.effect[big] + z * np.sqrt(fit.sampling_variance[big]),
        "shrunk": post.mean, "shrunk_low": post.mean - z * np.sqrt(post.variance),
        "shrunk_high": post.mean + z * np.sqrt(post.variance)})
    out = out.sort_values("shrunk", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    top = list(out["unit"].head(config.top))
    out.attrs.update(level=config.level, mix=mix, min_n=config.min_n,
                     left_out=int((~big).sum()), between_variance=post.prior_variance,
                     profiles=operational_profile(ws, config, top) if top else [])
    return out


#: operational measures of a unit: interactions column → (name, scale)
OPERATIONAL = {"resolved": ("fcr", 100.0), "repeat": ("repeat_rate", 100.0),
               "handle_min": ("handle_time_min", 1.0)}


def operational_profile(ws: Workspace, config: DeviantConfig, units: Sequence[str],
                        repeat_window_days: int = 7) -> list[dict[str, Any]]:
    """For ``units``: FCR, repeat rate and handle time against peers with the same mix
    (unit effect of a mix-cell model, with an interval)."""
    import pandas as pd

    from smokejumper.frontline.shrinkage import fit_case_mix
    from smokejumper.metrics.cube import repeat_column, with_repeat_flags

    i = with_repeat_flags(ws.table("interactions"), [repeat_window_days])
    if config.level in ("region",) and "region" not in i.columns:
        return []
    if any(c not in i.columns for c in ("segment",)) and "segment" in config.mix:
        customers = ws.table("customers").select(_cid="customer_id", segment="segment")
        i = i.left_join(customers, i.customer_id == customers._cid)
    i = _with_unit(ws, i, config.level)
    mix = [c for c in config.mix if c in i.columns and c != LEVELS[config.level]]
    i = i.mutate(_cell=_cells(i, mix),
                 resolved_=i.resolved.cast("float64"),
                 repeat_=i[repeat_column(repeat_window_days)].fill_null(False)
                 .cast("float64"),
                 handle_=i.handle_time_s.cast("float64") / 60.0)
    i = i.filter(i._unit.notnull())
    aggregates: dict[str, Any] = {}
    for column in ("resolved_", "repeat_", "handle_"):
        aggregates[f"{column}n"] = i[column].count()
        aggregates[f"{column}sum"] = i[column].sum()
        aggregates[f"{column}sq"] = (i[column] * i[column]).sum()
    stats = i.group_by(["_unit", "_cell"]).aggregate(**aggregates).to_pandas()
    z = _z(config.confidence)
    profiles: dict[str, dict[str, Any]] = {u: {"unit": u} for u in units}
    for column, (name, scale) in {"resolved_": OPERATIONAL["resolved"],
                                  "repeat_": OPERATIONAL["repeat"],
                                  "handle_": OPERATIONAL["handle_min"]}.items():
        rows = stats[stats[f"{column}n"] > 0]
        if rows.empty:
            continue
        unit_codes, labels = pd.factorize(rows["_unit"])
        cell_codes, cells = pd.factorize(rows["_cell"])
        fit = fit_case_mix(unit_codes, cell_codes, rows[f"{column}n"].to_numpy(float),
                           rows[f"{column}sum"].to_numpy(float) * scale,
                           rows[f"{column}sq"].to_numpy(float) * scale * scale,
                           len(labels), len(cells))
        where = {str(u): k for k, u in enumerate(labels)}
        for u in units:
            k = where.get(str(u))
            if k is None:
                continue
            se = float(np.sqrt(fit.sampling_variance[k]))
            profiles[u][name] = {"value": float(fit.raw_mean[k]),
                                 "peers_same_mix": float(fit.raw_mean[k] - fit.effect[k]),
                                 "difference": float(fit.effect[k]),
                                 "low": float(fit.effect[k] - z * se),
                                 "high": float(fit.effect[k] + z * se),
                                 "n": int(fit.n[k])}
    return [profiles[u] for u in units]
