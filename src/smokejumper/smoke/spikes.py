"""Spikes and emerging themes: what else a scan watches besides the configured metrics.

* *Spikes*: the share of each value of a column (by default each contact reason of the
  interactions) and, once comments are enriched, of each theme, scanned as metrics where a
  rise is smoke (:func:`spike_definitions`, :func:`theme_spike_definitions`).
* *Emerging themes*: comments no configured theme explains, clustered and named by their
  words; a cluster whose share grew is an alert (:func:`emerging_alerts`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from smokejumper.errors import SmokeError
from smokejumper.smoke.alerts import Alert, Estimate, severity_of

if TYPE_CHECKING:
    from smokejumper.metrics.cube import TimeLike
    from smokejumper.metrics.definitions import MetricDefinition
    from smokejumper.workspace import Workspace


#: metric names of spike series start with this
SPIKE_PREFIX = "share:"
#: contacts whose reason is watched for spikes unless ``[alerts] spikes`` says otherwise
DEFAULT_SPIKES = {"interactions": ("contact_reason",)}
#: values of a spike column watched at most (the most frequent ones)
MAX_SPIKE_VALUES = 30


def spike_definitions(workspace: Workspace, default: bool = True) -> list[MetricDefinition]:
    """A share metric per value of each spike column (``[alerts] spikes = {table =
    [columns]}``; by default the contact reason of interactions), where a rise is smoke:
    the share of contacts about ``complaint`` jumping in one segment is a spike."""
    import ibis

    from smokejumper.metrics.definitions import MetricDefinition

    configured = workspace.config.alerts.get("spikes")
    if configured is None and not default:
        return []
    wanted = configured if configured is not None else DEFAULT_SPIKES
    if not isinstance(wanted, dict):
        raise SmokeError("[alerts] spikes must be a table of table = [columns], e.g. "
                         "spikes = { interactions = [\"contact_reason\"] }")
    out: list[MetricDefinition] = []
    for table_name, columns in wanted.items():
        try:
            table = workspace.table(table_name)
        except Exception:  # noqa: BLE001 - a table this workspace does not have
            continue
        for column in columns:
            if column not in table.columns:
                if configured is None:
                    continue
                raise SmokeError(f"[alerts] spikes: table '{table_name}' has no column "
                                 f"'{column}'")
            known = table.filter(table[column].notnull())
            counts = (known.group_by(column).aggregate(rows=known.count())
                      .order_by(ibis.desc("rows")).limit(MAX_SPIKE_VALUES).execute())
            for value in counts[column].astype(str):
                quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                out.append(MetricDefinition(
                    name=f"{SPIKE_PREFIX}{column}={value}", kind="share", table=table_name,
                    label=f"share of {table_name} with {column} = {value}",
                    column=column, condition=f"{column} == '{quoted}'",
                    higher_is_better=False, scale=100.0))
    return out


def theme_spike_definitions(workspace: Workspace,
                            definitions: dict[str, MetricDefinition]) -> list[MetricDefinition]:
    """Each theme's share of the enriched comments (``theme_share:<theme>``), watched for
    spikes once ``smokejumper enrich`` has run (``[alerts] theme_spikes = false`` to
    stop)."""
    from smokejumper.metrics.text import THEME_SHARE

    if not workspace.config.alerts.get("theme_spikes", True):
        return []
    shares = [d for name, d in definitions.items() if name.startswith(f"{THEME_SHARE}:")]
    if not shares:
        return []
    try:
        if workspace.analytics.row_count("enrichments") == 0:
            return []
    except Exception:  # noqa: BLE001 - a store from before enrichment: nothing to watch
        return []
    return shares


def is_spike(metric: str) -> bool:
    """Whether a metric is a spike series (a contact reason's or a theme's share).

    >>> is_spike("share:contact_reason=complaint"), is_spike("theme_share:price")
    (True, True)
    """
    from smokejumper.metrics.text import THEME_SHARE

    return metric.startswith(SPIKE_PREFIX) or metric.startswith(f"{THEME_SHARE}:")


#: metric names of emerging-theme alerts start with this
EMERGING_PREFIX = "emerging_theme:"


def emerging_alerts(workspace: Workspace, until: TimeLike | None = None, days: int = 28,
                    baseline_days: int = 90) -> list[Alert]:
    """Emerging themes as alerts: comments that no configured theme explains are
    clustered (TF-IDF; :func:`smokejumper.text.discovery.discover_in_workspace`), each
    cluster named by its distinctive words, and a cluster whose share of the comments grew
    significantly against the baseline (two-proportion test, Bonferroni over clusters) is
    an alert on the whole workspace: before and after are its share (%) with Wilson
    intervals, its top words and redacted examples travel in ``related``."""
    from smokejumper.metrics.intervals import wilson_interval
    from smokejumper.text.discovery import DiscoveryConfig, discover_in_workspace

    end = pd.Timestamp(until) if until is not None else None
    since = end - pd.Timedelta(days=days) if end is not None else None
    found = discover_in_workspace(workspace, source="responses", since=since, until=end,
                                  baseline_days=baseline_days, model="keywords",
                                  config=DiscoveryConfig(vectors="tfidf"))
    start = date.fromisoformat(found["current"]["since"])
    totals = found["current"]["texts"], found["baseline"]["texts"]
    alerts = []
    for theme in found["themes"]:
        if not theme["emerging"]:
            continue
        estimates = []
        for k, total in ((theme["n_baseline"], totals[1]), (theme["n_current"], totals[0])):
            share, low, high = (float(v[0]) for v in wilson_interval([k], [total]))
            estimates.append(Estimate(100.0 * share, 100.0 * low, 100.0 * high, int(total)))
        extra = theme["n_current"] - theme["share_baseline"] * totals[0]
        severity = severity_of(float(theme["p_value"]), max(extra, 0.0), 0.01) or "low"
        metric = f"{EMERGING_PREFIX}{theme['name']}"
        alerts.append(Alert(
            metric=metric, segment={}, start=start, end=None, before=estimates[0],
            after=estimates[1], n=theme["n_current"], customers_affected=theme["n_current"],
            revenue_at_risk=None, severity=severity, z=float(theme["z"]),
            p_value=float(theme["p_value"]), q_value=float(theme["p_value"]),
            root_cause=({"segment": {}, "share": 1.0},),
            related=({"metric": metric, "segment": {}, "start": start.isoformat(),
                      "top_words": list(theme["top_words"]),
                      "examples": list(theme["examples"])},),
            pattern="spike"))
    return alerts
