"""The scan: one aggregation per table, detection on every segment, one alert per incident.

``ws.smoke.scan()`` (a :class:`SmokeService`) runs :func:`scan_workspace`:

1. *Statistics* (:mod:`.segments`): one engine aggregation per table at the finest grain,
   rolled up to every single dimension and pair (at daily grain, without each leaf's
   weekday pattern).
2. *Detection* (:mod:`.detect`): level shifts (the worst window of each series, p-values
   adjusted for the windows tried) and slow declines (a bend into a straight decline);
   spikes are the same test on the share of each contact reason and, once comments are
   enriched, of each theme. Benjamini–Hochberg across all series, then materiality.
3. *One alert per incident* (:mod:`.incidents`): strongest finding first; a finding is
   another view of an incident already found when its segment without those incidents
   shows no shift of its own (statistics kept up to date by subtraction), or widens one
   when the rest of its segment drops alike; otherwise it is a new incident, its segment
   refined (to a parent when the drop spreads, to a pair when it is concentrated). Root
   causes inside the alert's segment come from
   :func:`~smokejumper.smoke.explain_change`; customers and revenue from one query.

Nothing is written: the findings are plain data (:class:`~.alerts.Alert`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smokejumper.errors import SmokeError
from smokejumper.smoke.alerts import Alert, Estimate, compatible, contains, severity_of
from smokejumper.smoke.causes import root_causes
from smokejumper.smoke.detect import (
    DetectorConfig,
    benjamini_hochberg,
    detect_declines,
    detect_shifts,
)
from smokejumper.smoke.incidents import MetricView, refine, spreads
from smokejumper.smoke.reach import with_customers
from smokejumper.smoke.segments import (
    Panel,
    PanelBuilder,
    period_calendar,
    remove_weekday_effects,
    score_frame,
    stats_query,
)
from smokejumper.smoke.spikes import (
    emerging_alerts,
    is_spike,
    spike_definitions,
    theme_spike_definitions,
)

if TYPE_CHECKING:
    from smokejumper.metrics.cube import TimeLike
    from smokejumper.metrics.definitions import MetricDefinition
    from smokejumper.workspace import Workspace

DEFAULT_METRICS = ("nps", "csat")
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Finding:
    """One significant series before merging: metric, segment row, window and numbers."""

    metric: str
    row: int
    segment: dict[str, str]
    start: int
    end: int
    z: float
    p_value: float
    q_value: float
    effect: float
    impact: float
    pattern: str = "shift"


@dataclass(frozen=True)
class ScanResult:
    """Alerts with what the scan looked at (for reports and false-alarm rates)."""

    alerts: list[Alert]
    series: int
    periods: int
    grain: str
    #: seconds spent in the engine (queries) and in analysis (everything else)
    timings: dict[str, float] = field(default_factory=dict)


class SmokeService:
    """``ws.smoke``: scans of one workspace. ``ws.smoke.scan()`` returns alerts."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def scan(self, since: TimeLike | None = None, metrics: Sequence[str] | None = None,
             grain: str | None = None, until: TimeLike | None = None,
             config: DetectorConfig | None = None) -> list[Alert]:
        """Alerts whose shift started at or after ``since``, on data before ``until``."""
        return self.scan_result(since, metrics, grain, until, config).alerts

    def scan_result(self, since: TimeLike | None = None,
                    metrics: Sequence[str] | None = None, grain: str | None = None,
                    until: TimeLike | None = None,
                    config: DetectorConfig | None = None) -> ScanResult:
        """Like :meth:`scan`, with the number of series and periods scanned."""
        return scan_workspace(self.workspace, since=since, metrics=metrics, grain=grain,
                              until=until, config=config)

    def emerging(self, until: TimeLike | None = None, days: int = 28,
                 baseline_days: int = 90) -> list[Alert]:
        """Alerts for themes nobody configured that grow in the comments: the last
        ``days`` before ``until`` against the ``baseline_days`` before them (see
        :func:`emerging_alerts`)."""
        return emerging_alerts(self.workspace, until=until, days=days,
                               baseline_days=baseline_days)

    def save(self, alerts: Sequence[Alert], who: str = "scan") -> list[tuple[int, bool]]:
        """Store findings in the operational store (idempotent); ``(id, created)`` each."""
        from smokejumper.smoke.lifecycle import save_alerts

        return save_alerts(self.workspace.operational.engine, alerts, who)

    def alerts(self, states: Sequence[str] | None = None) -> list[Any]:
        """Stored alerts, newest first (``AlertRecord``), optionally in some states."""
        from smokejumper.smoke.lifecycle import list_alerts

        return list_alerts(self.workspace.operational.engine, states)

    def alert(self, alert_id: int) -> Any:
        """One stored alert with its events."""
        from smokejumper.smoke.lifecycle import get_alert

        return get_alert(self.workspace.operational.engine, alert_id)

    def move(self, alert_id: int, to_state: str, who: str, note: str | None = None) -> Any:
        """Change an alert's state, recording who, when and why."""
        from smokejumper.smoke.lifecycle import transition

        return transition(self.workspace.operational.engine, alert_id, to_state, who, note)

    def notify(self, limit: int = 100) -> int:
        """Send each alert state change not yet sent through each ``[notifiers.*]`` of the
        toml, once (claimed in the store: parallel runs never send twice); the number
        sent. A failing notifier keeps its queue and retries later with backoff."""
        from smokejumper.smoke.service_ops import notify

        return notify(self.workspace, limit).total

    def digest(self, day: TimeLike | None = None, dry_run: bool = False) -> Any:
        """The daily digest of alert changes and open alerts, sent once per day through
        each notifier with ``digest = "daily"`` (``dry_run``: build it, send nothing)."""
        from smokejumper.smoke.service_ops import digest

        return digest(self.workspace, day, dry_run)

    def review(self, k: int | None = None, until: TimeLike | None = None) -> list[Any]:
        """Close watching alerts back inside their baseline for ``k`` periods
        (``[alerts] close_after``, default 3) and re-open relapses; the changed alerts."""
        from smokejumper.smoke.service_ops import review

        return review(self.workspace, k, until)


def configured_metrics(workspace: Workspace) -> list[str]:
    """``[alerts] metrics = [...]`` in the toml, else NPS and CSAT."""
    chosen = workspace.config.alerts.get("metrics")
    return list(chosen) if chosen else list(DEFAULT_METRICS)


def scan_workspace(workspace: Workspace, *, since: TimeLike | None = None,
                   metrics: Sequence[str] | None = None, grain: str | None = None,
                   until: TimeLike | None = None,
                   config: DetectorConfig | None = None) -> ScanResult:
    """Run a scan (see the module docstring)."""
    config = config or DetectorConfig()
    grain = grain or workspace.config.analysis.grain
    names = list(dict.fromkeys(metrics or configured_metrics(workspace)))
    definitions = workspace.metrics.definitions()
    unknown = [m for m in names if m not in definitions]
    if unknown:
        raise SmokeError(f"unknown metric '{unknown[0]}'; available: {', '.join(definitions)}")
    dimensions = list(workspace.config.analysis.dimensions)
    by_table: dict[str, list[MetricDefinition]] = {}
    for name in names:
        by_table.setdefault(definitions[name].table, []).append(definitions[name])
    started = time.perf_counter()
    spikes = spike_definitions(workspace, metrics is None)
    if metrics is None:
        spikes += theme_spike_definitions(workspace, definitions)
    for definition in spikes:
        by_table.setdefault(definition.table, []).append(definition)
    engine = time.perf_counter() - started
    alerts: list[Alert] = []
    series = periods = 0
    with workspace.reporter.progress("scanning", total=len(by_table)) as progress:
        for table_name, group in by_table.items():
            table = workspace.table(table_name)
            present = [d for d in dimensions if d in table.columns]
            query = stats_query(table, group, present, grain, end=until)
            clock = time.perf_counter()
            raw = query.expr.execute()
            engine += time.perf_counter() - clock
            frame = score_frame(query, raw)
            if frame.empty:
                progress.advance()
                continue
            if grain == "day":
                frame = remove_weekday_effects(frame, present, [d.name for d in group])
            calendar = period_calendar(frame, grain)
            builder = PanelBuilder(frame, present, [d.name for d in group], periods=calendar)
            panel = builder.panel
            found = analyse(builder, frame, present, group, config)
            kept = [a for a in found
                    if since is None or pd.Timestamp(a.start) >= pd.Timestamp(since)]
            clock = time.perf_counter()
            alerts.extend(with_customers(workspace, table_name, kept, until,
                                         {d.name: d for d in group}))
            engine += time.perf_counter() - clock
            series += len(panel.segments) * len(group)
            periods = max(periods, len(calendar))
            progress.advance()
    alerts.sort(key=lambda a: (-_rank(a), -a.z))
    total = time.perf_counter() - started
    timings = {"engine_s": round(engine, 3), "analysis_s": round(total - engine, 3),
               "total_s": round(total, 3)}
    return ScanResult(alerts, series, periods, grain, timings)


def _rank(alert: Alert) -> int:
    return ("low", "medium", "high", "critical").index(alert.severity)


def analyse(builder: PanelBuilder, frame: pd.DataFrame, dimensions: Sequence[str],
            definitions: Sequence[MetricDefinition], config: DetectorConfig) -> list[Alert]:
    """Detection, false-discovery control, materiality and merging on one table's panel
    (pure: no I/O; ``customers_affected`` is left at the responses in the window)."""
    panel = builder.panel
    shifts = {d.name: detect_shifts(panel.n[d.name], panel.total[d.name],
                                    panel.squares[d.name], config, d.higher_is_better)
              for d in definitions}
    declines = {d.name: detect_declines(panel.n[d.name], panel.total[d.name],
                                        panel.squares[d.name], config.decline_periods,
                                        higher_is_better=d.higher_is_better,
                                        min_n=config.min_n)
                for d in definitions}
    size = len(panel.segments)
    # false discoveries are controlled per family: the configured metrics, the spikes
    q_by_metric: dict[str, np.ndarray] = {}
    q_decline: dict[str, np.ndarray] = {}
    for family in (False, True):
        members = [d for d in definitions if is_spike(d.name) == family]
        if not members:
            continue
        p_all = np.concatenate([shifts[d.name].p_value for d in members]
                               + [declines[d.name].p_value for d in members])
        q_all = benjamini_hochberg(p_all)
        for i, d in enumerate(members):
            q_by_metric[d.name] = q_all[i * size:(i + 1) * size]
            q_decline[d.name] = q_all[(len(members) + i) * size:(len(members) + i + 1) * size]
    last = len(panel.periods)
    findings: list[Finding] = []
    for definition in definitions:
        found, trend = shifts[definition.name], declines[definition.name]
        sign = 1.0 if definition.higher_is_better else -1.0
        shape = "spike" if is_spike(definition.name) else "shift"
        q, q_trend = q_by_metric[definition.name], q_decline[definition.name]
        for row in (int(r) for r in np.flatnonzero(q < config.fdr)):
            effect = float(found.inside[row] - found.before[row])
            impact = abs(effect) * float(found.n_inside[row]) / 100.0
            if sign * effect <= -config.min_effect \
                    and severity_of(float(q[row]), impact, config.fdr) is not None:
                findings.append(Finding(definition.name, row, panel.segments[row],
                                        int(found.start[row]), int(found.end[row]),
                                        float(found.z[row]), float(found.p_value[row]),
                                        float(q[row]), effect, impact, shape))
        for row in (int(r) for r in np.flatnonzero(q_trend < config.fdr)):
            effect = float(trend.drop[row])
            start = int(trend.start[row])
            impact = abs(effect) / 2 * float(panel.n[definition.name][row, start:].sum()) / 100
            if sign * effect <= -config.min_effect \
                    and severity_of(float(q_trend[row]), impact, config.fdr) is not None:
                findings.append(Finding(definition.name, row, panel.segments[row], start, last,
                                        float(trend.z[row]), float(trend.p_value[row]),
                                        float(q_trend[row]), effect, impact, "decline"))
    findings = _one_shape_per_series(findings, panel)
    findings.sort(key=lambda f: -f.z)
    signs = {d.name: 1.0 if d.higher_is_better else -1.0 for d in definitions}
    views = {d.name: MetricView(panel.segments, panel.n[d.name], panel.total[d.name],
                                panel.squares[d.name]) for d in definitions}
    incidents: list[dict[str, Any]] = []
    outside = _Outside(builder)
    for finding in findings:
        sign = signs[finding.metric]
        wider = _widens(views, incidents, finding, sign, config.min_effect)
        if wider is not None:  # the incident reaches beyond its segment: it is this one
            wider["related"].append(_related(panel, replace(
                finding, segment=wider["segment"], start=wider["start"])))
            wider.update(segment=dict(finding.segment), row=finding.row,
                         metric=finding.metric,
                         finding=replace(finding, start=wider["start"], end=wider["end"]))
            outside.remove(finding.segment)
            continue
        same = outside.explained_by(incidents, finding, sign, config.min_effect)
        if same is not None:  # another view of an incident already found
            same["related"].append(_related(panel, finding))
            continue
        found = shifts[finding.metric]
        row = refine(views[finding.metric], finding.row, finding.start, finding.end,
                     sign=sign, min_effect=config.min_effect)
        segment = dict(panel.segments[row])
        start, end = int(found.start[row]), int(found.end[row])
        own = q_by_metric[finding.metric][row] < config.fdr and finding.pattern != "decline"
        if not own or end <= finding.start or start >= finding.end:  # its window is elsewhere
            start, end = finding.start, finding.end
        same = next((i for i in incidents if _nested(i["segment"], segment)
                     and i["start"] < end and i["end"] > start), None)
        if same is not None:  # localised to an incident already found
            same["related"].append(_related(panel, finding))
            continue
        incidents.append({"metric": finding.metric, "row": row, "segment": segment,
                          "start": start, "end": end, "related": [],
                          "pattern": finding.pattern,
                          "finding": replace(finding, row=row, segment=segment, start=start,
                                             end=end)})
        outside.remove(segment)
    rows = _Rows(builder)
    # an incident found early may be the sum of incidents found after it
    for incident in sorted(incidents, key=lambda i: i["finding"].z):
        others = [i for i in incidents if i is not incident]
        finding = incident["finding"]
        owner = _explained_by(rows, others, finding, signs[finding.metric],
                              config.min_effect)
        if owner is not None:
            owner["related"].extend([_related(panel, finding), *incident["related"]])
            incidents.remove(incident)
    for incident in incidents:
        incident["causes"] = root_causes(builder, frame, dimensions, incident["metric"],
                                         incident["segment"], incident["start"],
                                         incident["end"], signs[incident["metric"]],
                                         panel.periods)
    alerts = []
    for incident in incidents:
        metric, row, finding = incident["metric"], incident["row"], incident["finding"]
        found = shifts[metric]
        if incident["pattern"] == "decline":
            z, p_value, q_value = finding.z, finding.p_value, finding.q_value
            impact = finding.impact
        else:
            z, p_value = float(found.z[row]), float(found.p_value[row])
            q_value = float(q_by_metric[metric][row])
            impact = abs(float(found.inside[row] - found.before[row])) \
                * float(found.n_inside[row]) / 100.0
        severity = severity_of(q_value, impact, config.fdr) or "low"
        alerts.append(_alert(panel, metric, row, incident, z, p_value, q_value, severity))
    return alerts


def _widens(views: dict[str, MetricView], incidents: Sequence[dict[str, Any]],
            finding: Finding, sign: float, min_effect: float) -> dict[str, Any] | None:
    """The incident found so far that ``finding`` shows to be wider: same metric, the
    finding's segment contains the incident's, and the rest of it drops as the incident
    does (over the incident's window)."""
    view = views[finding.metric]
    for incident in incidents:
        if incident["metric"] != finding.metric or incident["segment"] == finding.segment \
                or not contains(finding.segment, incident["segment"]) \
                or not (incident["start"] < finding.end and incident["end"] > finding.start):
            continue
        inner = view.row(incident["segment"])
        if inner is not None and spreads(view, finding.row, inner, incident["start"],
                                         incident["end"], sign, min_effect) is not None:
            return incident
    return None


def _one_shape_per_series(findings: list[Finding], panel: Panel) -> list[Finding]:
    """Where a series shows both a shift and a slow decline, the one that fits its period
    means better (weighted least squares: a step down and back up, or a bend into a
    straight line) is kept."""
    by_series: dict[tuple[str, int], list[Finding]] = {}
    for finding in findings:
        by_series.setdefault((finding.metric, finding.row), []).append(finding)
    kept = []
    for (metric, row), group in by_series.items():
        if len(group) == 1:
            kept.extend(group)
            continue
        n, total = panel.n[metric][row], panel.total[metric][row]
        kept.append(min(group, key=lambda f: _misfit(n, total, f)))
    return kept


def _misfit(n: np.ndarray, total: np.ndarray, finding: Finding) -> float:
    """Weighted squared error of the finding's shape fitted to a series' period means."""
    seen = n > 0
    mean = np.where(seen, total / np.where(seen, n, 1.0), 0.0)
    t = np.arange(len(n), dtype=np.float64)
    if finding.pattern == "decline":
        x = np.maximum(t - finding.start, 0.0)
        design = np.column_stack([np.ones_like(t), x])
    else:
        inside = (t >= finding.start) & (t < finding.end)
        design = np.column_stack([np.ones_like(t), inside.astype(np.float64)])
    weight = np.sqrt(n)
    coef, *_ = np.linalg.lstsq(design * weight[:, None], mean * weight, rcond=None)
    residual = (mean - design @ coef) * weight
    return float((residual ** 2).sum())


#: a finding whose remainder, outside an incident's segment, shifts less than this is
#: another view of that incident
EXPLAINED_Z = 3.5


class _Outside:
    """Every segment's statistics without the rows of the incidents found so far, kept
    up to date by subtraction, so that "does this finding shift outside them?" is one
    look-up (see :func:`_explained_by` for the rule)."""

    def __init__(self, builder: PanelBuilder) -> None:
        panel = builder.panel
        self.builder = builder
        self.removed = np.zeros(len(builder.t), dtype=bool)
        self.views = {m: MetricView(panel.segments, panel.n[m].copy(), panel.total[m].copy(),
                                    panel.squares[m].copy()) for m in builder.metrics}

    def remove(self, segment: dict[str, str]) -> None:
        rows = self.builder.row_mask(segment) & ~self.removed
        if not rows.any():
            return
        self.removed |= rows
        sums = self.builder.flat_sums(rows)
        for metric, view in self.views.items():
            for part, array in (("n", view.n), ("sum", view.total),
                                ("squares", view.squares)):
                array.reshape(-1)[:] -= sums[f"{metric}:{part}"]

    def explained_by(self, incidents: Sequence[dict[str, Any]], finding: Finding,
                     sign: float, min_effect: float) -> dict[str, Any] | None:
        overlapping, owner = _candidates(incidents, finding)
        if owner is not None or not overlapping:
            return owner
        rest = self.views[finding.metric].change(finding.row, finding.start, finding.end)
        if rest.n >= 1 and rest.z(sign) >= EXPLAINED_Z and rest.drop(sign) >= min_effect:
            return None
        return _largest(self.builder, overlapping, finding)


class _Rows:
    """Row masks and metric columns of a builder's frame, for the few checks that need
    the leaves themselves."""

    def __init__(self, builder: PanelBuilder) -> None:
        self.builder = builder
        self.period = builder.t
        self._masks: dict[frozenset[tuple[str, str]], np.ndarray] = {}

    def mask(self, segment: dict[str, str]) -> np.ndarray:
        key = frozenset(segment.items())
        if key not in self._masks:
            self._masks[key] = self.builder.row_mask(segment)
        return self._masks[key]

    def column(self, name: str) -> np.ndarray:
        return self.builder.values[name]


def _candidates(incidents: Sequence[dict[str, Any]], finding: Finding
                ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The incidents overlapping a finding in segment and time, and the first of them
    whose segment contains the finding's (None when none does)."""
    overlapping = [i for i in incidents if compatible(i["segment"], finding.segment)
                   and i["start"] < finding.end and i["end"] > finding.start]
    owner = next((i for i in overlapping if contains(i["segment"], finding.segment)), None)
    return overlapping, owner


def _largest(builder: PanelBuilder, overlapping: list[dict[str, Any]],
             finding: Finding) -> dict[str, Any]:
    """The incident a finding goes with: the one sharing most of its segment (the
    strongest first among equals)."""
    return max(overlapping, key=lambda i: len(set(i["segment"].items())
                                              & set(finding.segment.items())))


def _explained_by(rows: _Rows, incidents: Sequence[dict[str, Any]], finding: Finding,
                  sign: float, min_effect: float) -> dict[str, Any] | None:
    """The incident already found that ``finding`` is another view of, if any.

    The candidates overlap the finding in segment and time; the finding is explained
    when one of them contains it, or when its segment without all of them shows no
    shift of its own in its window (against the periods before it): not credible, or
    smaller than ``min_effect``. The largest overlapping incident takes it."""
    overlapping, owner = _candidates(incidents, finding)
    if owner is not None or not overlapping:
        return owner
    inside = rows.mask(finding.segment)
    rest = inside.copy()
    for incident in overlapping:
        rest &= ~rows.mask(incident["segment"])
    metric = finding.metric
    n, total = rows.column(f"{metric}:n"), rows.column(f"{metric}:sum")
    squares, period = rows.column(f"{metric}:squares"), rows.period
    window = (period >= finding.start) & (period < finding.end)
    before = period < finding.start
    n_in, n_out = n[rest & window].sum(), n[rest & before].sum()
    if n_in >= 1 and n_out >= 1:
        count = n[rest].sum()
        variance = max(squares[rest].sum() / count - (total[rest].sum() / count) ** 2, 1e-9)
        shift = total[rest & window].sum() / n_in - total[rest & before].sum() / n_out
        z = -sign * shift / (variance * (1 / n_in + 1 / n_out)) ** 0.5
        if z >= EXPLAINED_Z and -sign * shift >= min_effect:
            return None
    return _largest(rows.builder, overlapping, finding)


def _nested(a: dict[str, str], b: dict[str, str]) -> bool:
    return contains(a, b) or contains(b, a)


def _related(panel: Panel, finding: Finding) -> dict[str, Any]:
    return {"metric": finding.metric, "segment": dict(finding.segment),
            "start": panel.periods[finding.start].date().isoformat()}


def _estimate(n: float, total: float, squares: float) -> Estimate:
    """A mean score with its normal 95% interval."""
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0) * n / max(n - 1, 1.0)
    half = Z95 * (variance / n) ** 0.5
    return Estimate(mean, mean - half, mean + half, int(round(n)))


def _alert(panel: Panel, metric: str, row: int, incident: dict[str, Any], z: float,
           p_value: float, q_value: float, severity: Any) -> Alert:
    n, total, squares = (panel.n[metric][row], panel.total[metric][row],
                         panel.squares[metric][row])
    start, end = incident["start"], incident["end"]
    before = _estimate(n[:start].sum(), total[:start].sum(), squares[:start].sum())
    after = _estimate(n[start:end].sum(), total[start:end].sum(), squares[start:end].sum())
    periods = panel.periods
    stop: date | None = periods[end].date() if end < len(periods) else None
    return Alert(metric=metric, segment=dict(incident["segment"]),
                 start=periods[start].date(), end=stop, before=before, after=after,
                 n=after.n, customers_affected=after.n, revenue_at_risk=None,
                 severity=severity, z=z, p_value=p_value, q_value=q_value,
                 root_cause=tuple(incident["causes"]), related=tuple(incident["related"]),
                 pattern=incident["pattern"])
