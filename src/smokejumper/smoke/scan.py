"""The scan: one aggregation per table, detection on every segment, one alert per incident.

``ws.smoke.scan()`` (a :class:`SmokeService`) runs :func:`scan_workspace`:

1. *Statistics* (:mod:`.segments`): one engine aggregation at the finest grain, rolled up
   to every single dimension and pair in pandas.
2. *Detection* (:mod:`.detect`): the best window of each series, p-values adjusted for
   the windows tried, Benjamini–Hochberg across all series, then materiality.
3. *One alert per incident*: strongest finding first, the change in its window is
   localised with :func:`~smokejumper.smoke.explain_change` on the leaves (every
   dimension); the cause that explains most of the finding's own change becomes the
   alert's segment, and every other finding that overlaps it in segment and time is
   folded into the same alert.

Nothing is written: the findings are plain data (:class:`~.alerts.Alert`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smokejumper.errors import SmokeError
from smokejumper.smoke.alerts import Alert, Estimate, compatible, contains, severity_of
from smokejumper.smoke.detect import DetectorConfig, Shifts, benjamini_hochberg, detect_shifts
from smokejumper.smoke.segments import (
    MISSING,
    Panel,
    build_panel,
    period_calendar,
    score_frame,
    stats_query,
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


@dataclass(frozen=True)
class ScanResult:
    """Alerts with what the scan looked at (for reports and false-alarm rates)."""

    alerts: list[Alert]
    series: int
    periods: int
    grain: str


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
        toml, once; return how many were sent. A failing notifier keeps its queue."""
        from smokejumper.smoke.lifecycle import mark_notified, pending_notifications
        from smokejumper.smoke.notify import (
            WebhookConfig,
            alert_message,
            notifier_from_config,
            send_email,
            send_webhook,
        )

        engine = self.workspace.operational.engine
        sent = 0
        for name, section in self.workspace.config.notifiers.items():
            notifier = notifier_from_config(name, section)
            for event_id, record, event in pending_notifications(engine, name, limit):
                message = alert_message(record.finding, event.to_state, record.alert_id)
                if isinstance(notifier, WebhookConfig):
                    send_webhook(notifier, message)
                else:
                    send_email(notifier, f"Smokejumper: alert {record.alert_id} "
                               f"{event.to_state}", message["text"])
                mark_notified(engine, event_id, name)
                sent += 1
        return sent

    def review(self, k: int | None = None, until: TimeLike | None = None) -> list[Any]:
        """Close watching alerts back inside their baseline for ``k`` periods
        (``[alerts] close_after``, default 3) and re-open relapses; the changed alerts."""
        from smokejumper.smoke.lifecycle import get_alert, list_alerts, transition, watch_outcome

        k = int(k or self.workspace.config.alerts.get("close_after", 3))
        engine = self.workspace.operational.engine
        definitions = self.workspace.metrics.definitions()
        changed = []
        for record in list_alerts(engine, ["watching"]):
            events = get_alert(engine, record.alert_id).events
            since = next(e.at for e in reversed(events) if e.to_state == "watching")
            definition = definitions.get(record.metric)
            if definition is None:
                continue
            grain = record.finding.get("grain") or self.workspace.config.analysis.grain
            frame = self.workspace.metrics.compute(
                [record.metric], grain=grain, filters=record.segment, start=since, end=until)
            before = record.finding["before"]
            outcome = watch_outcome(frame, before["low"], before["high"], k,
                                    definition.higher_is_better)
            if outcome == "closed":
                changed.append(transition(engine, record.alert_id, "closed", "watcher",
                                          f"back inside the baseline for {k} periods"))
            elif outcome == "relapse":
                changed.append(transition(engine, record.alert_id, "open", "watcher",
                                          f"relapse: worse than the baseline for {k} periods"))
        return changed


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
    alerts: list[Alert] = []
    series = periods = 0
    with workspace.reporter.progress("scanning", total=len(by_table)) as progress:
        for table_name, group in by_table.items():
            table = workspace.table(table_name)
            present = [d for d in dimensions if d in table.columns]
            query = stats_query(table, group, present, grain, end=until)
            frame = score_frame(query, query.expr.execute())
            if frame.empty:
                progress.advance()
                continue
            calendar = period_calendar(frame, grain)
            panel = build_panel(frame, present, [d.name for d in group], periods=calendar)
            found = analyse(panel, frame, present, group, config)
            for alert in found:
                if since is None or pd.Timestamp(alert.start) >= pd.Timestamp(since):
                    alerts.append(_with_customers(workspace, table_name, alert))
            series += len(panel.segments) * len(group)
            periods = max(periods, len(calendar))
            progress.advance()
    alerts.sort(key=lambda a: (-_rank(a), -a.z))
    return ScanResult(alerts, series, periods, grain)


def _rank(alert: Alert) -> int:
    return ("low", "medium", "high", "critical").index(alert.severity)


def analyse(panel: Panel, frame: pd.DataFrame, dimensions: Sequence[str],
            definitions: Sequence[MetricDefinition], config: DetectorConfig) -> list[Alert]:
    """Detection, false-discovery control, materiality and merging on one table's panel
    (pure: no I/O; ``customers_affected`` is left at the responses in the window)."""
    shifts = {d.name: detect_shifts(panel.n[d.name], panel.total[d.name],
                                    panel.squares[d.name], config, d.higher_is_better)
              for d in definitions}
    p_all = np.concatenate([shifts[d.name].p_value for d in definitions])
    q_all = benjamini_hochberg(p_all)
    findings: list[Finding] = []
    offset = 0
    for definition in definitions:
        found = shifts[definition.name]
        q = q_all[offset:offset + len(panel.segments)]
        offset += len(panel.segments)
        sign = 1.0 if definition.higher_is_better else -1.0
        for row in (int(r) for r in np.flatnonzero(q < config.fdr)):
            effect = float(found.inside[row] - found.before[row])
            if not sign * effect <= -config.min_effect:
                continue
            impact = abs(effect) * float(found.n_inside[row]) / 100.0
            if severity_of(float(q[row]), impact, config.fdr) is None:
                continue
            findings.append(Finding(definition.name, int(row), panel.segments[row],
                                    int(found.start[row]), int(found.end[row]),
                                    float(found.z[row]), float(found.p_value[row]),
                                    float(q[row]), effect, impact))
    findings.sort(key=lambda f: -f.z)
    q_by_metric = {}
    offset = 0
    for definition in definitions:
        q_by_metric[definition.name] = q_all[offset:offset + len(panel.segments)]
        offset += len(panel.segments)
    signs = {d.name: 1.0 if d.higher_is_better else -1.0 for d in definitions}
    incidents: list[dict[str, Any]] = []
    rows = _Rows(frame, panel.periods)
    for finding in findings:
        sign = signs[finding.metric]
        same = next((i for i in incidents
                     if _explains(rows, i, finding, sign, config.min_effect)), None)
        if same is not None:  # another view of an incident already found
            same["related"].append(_related(panel, finding))
            continue
        segment, causes = explain_finding(frame, dimensions, finding, sign, panel.periods)
        found = shifts[finding.metric]
        index = panel.index_of(segment)
        row = finding.row if index is None else index
        if index is None or not q_by_metric[finding.metric][row] < config.fdr:
            row, segment = finding.row, dict(finding.segment)
            causes = [{"segment": dict(segment), "share": 1.0}]
        start, end = int(found.start[row]), int(found.end[row])
        if end <= finding.start or start >= finding.end:  # its own window is elsewhere
            row, segment, start, end = finding.row, finding.segment, finding.start, finding.end
        same = next((i for i in incidents if _nested(i["segment"], segment)
                     and i["start"] < end and i["end"] > start), None)
        if same is not None:  # localised to an incident already found
            same["related"].append(_related(panel, finding))
            continue
        incidents.append({"metric": finding.metric, "row": row, "segment": segment,
                          "start": start, "end": end, "causes": causes, "related": []})
    alerts = []
    for incident in incidents:
        metric, row = incident["metric"], incident["row"]
        found = shifts[metric]
        q_value = float(q_by_metric[metric][row])
        effect = float(found.inside[row] - found.before[row])
        impact = abs(effect) * float(found.n_inside[row]) / 100.0
        severity = severity_of(q_value, impact, config.fdr) or "low"
        alerts.append(_alert(panel, metric, row, incident["segment"], incident["start"],
                             incident["end"], found, q_value, severity,
                             incident["causes"], incident["related"]))
    return alerts


#: a finding whose remainder, outside an incident's segment, shifts less than this is
#: another view of that incident
EXPLAINED_Z = 3.5


class _Rows:
    """The finest-grain frame as numpy arrays, with cached ``dimension == value`` masks."""

    def __init__(self, frame: pd.DataFrame, periods: pd.DatetimeIndex) -> None:
        from smokejumper.metrics.cube import PERIOD

        self.frame = frame
        self.period = periods.get_indexer(frame[PERIOD])
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}

    def mask(self, segment: dict[str, str]) -> np.ndarray:
        result = np.ones(len(self.frame), dtype=bool)
        for key in segment.items():
            if key not in self._masks:
                self._masks[key] = (self.frame[key[0]] == key[1]).to_numpy()
            result &= self._masks[key]
        return result

    def column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            self._columns[name] = self.frame[name].to_numpy(dtype=np.float64)
        return self._columns[name]


def _explains(rows: _Rows, incident: dict[str, Any], finding: Finding, sign: float,
              min_effect: float) -> bool:
    """Whether ``incident`` explains ``finding``: they overlap in segment and time, and
    the finding's segment without the incident's shows no shift of its own in its window
    (against the periods before it): not credible, or smaller than ``min_effect``."""
    segment = incident["segment"]
    if not compatible(segment, finding.segment):
        return False
    if not (incident["start"] < finding.end and incident["end"] > finding.start):
        return False
    if contains(segment, finding.segment):
        return True
    rest = rows.mask(finding.segment) & ~rows.mask(segment)
    metric = finding.metric
    n, total = rows.column(f"{metric}:n")[rest], rows.column(f"{metric}:sum")[rest]
    squares, period = rows.column(f"{metric}:squares")[rest], rows.period[rest]
    window = (period >= finding.start) & (period < finding.end)
    before = period < finding.start
    n_in, n_out = n[window].sum(), n[before].sum()
    if n_in < 1 or n_out < 1:
        return True
    count = n.sum()
    variance = max(squares.sum() / count - (total.sum() / count) ** 2, 1e-9)
    shift = total[window].sum() / n_in - total[before].sum() / n_out
    z = -sign * shift / (variance * (1 / n_in + 1 / n_out)) ** 0.5
    return bool(z < EXPLAINED_Z or -sign * shift < min_effect)


def _nested(a: dict[str, str], b: dict[str, str]) -> bool:
    return contains(a, b) or contains(b, a)


def _related(panel: Panel, finding: Finding) -> dict[str, Any]:
    return {"metric": finding.metric, "segment": dict(finding.segment),
            "start": panel.periods[finding.start].date().isoformat()}


def explain_finding(frame: pd.DataFrame, dimensions: Sequence[str], finding: Finding,
                    sign: float, periods: pd.DatetimeIndex
                    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The segment that explains a finding best, and the root causes with their shares
    of that segment's change (leaves: every dimension; the window against before it)."""
    from smokejumper.smoke.localize import LocalizeConfig, explain_change

    metric = finding.metric
    leaves = _window_leaves(frame, dimensions, metric, finding, periods)
    if leaves.empty:
        return finding.segment, []
    explanation = explain_change(leaves, list(dimensions), actual="actual",
                                 expected="expected", actual_denominator="responses",
                                 expected_denominator="expected_responses",
                                 config=LocalizeConfig(max_layer=2))
    residual = (leaves["actual"] - leaves["expected"]).to_numpy() * sign
    inside = _mask(leaves, finding.segment)
    best: tuple[float, dict[str, str]] | None = None
    scored: list[tuple[float, dict[str, str]]] = []
    for cause in explanation.causes:
        segment = {k: v for k, v in cause.segment.items() if v != MISSING}
        if not segment or not compatible(segment, finding.segment):
            continue
        part = -float(residual[inside & _mask(leaves, segment)].sum())
        scored.append((part, segment))
        if part > 0 and (best is None or part > best[0]):
            best = (part, segment)
    chosen = best[1] if best else dict(finding.segment)
    if best and not (contains(chosen, finding.segment) or contains(finding.segment, chosen)):
        chosen = {**chosen, **finding.segment} if len({**chosen, **finding.segment}) <= 2 \
            else chosen
    whole = -float(residual[_mask(leaves, chosen)].sum())
    causes: list[dict[str, Any]] = []
    for _part, segment in scored:
        if not compatible(segment, chosen):
            continue
        part = -float(residual[_mask(leaves, chosen) & _mask(leaves, segment)].sum())
        if part > 0 and whole > 0:
            causes.append({"segment": segment, "share": round(part / whole, 4)})
    causes.sort(key=lambda c: -float(c["share"]))
    if not causes:
        causes = [{"segment": dict(chosen), "share": 1.0}]
    return chosen, causes


def _mask(leaves: pd.DataFrame, segment: dict[str, str]) -> np.ndarray:
    mask = np.ones(len(leaves), dtype=bool)
    for dimension, value in segment.items():
        mask &= (leaves[dimension] == value).to_numpy()
    return mask


def _window_leaves(frame: pd.DataFrame, dimensions: Sequence[str], metric: str,
                   finding: Finding, periods: pd.DatetimeIndex) -> pd.DataFrame:
    """Per leaf: the window's score sum and responses, and what the mean score of the
    periods before it (shrunk towards the overall one) would give at the window's volume."""
    from smokejumper.metrics.cube import PERIOD

    n_col, s_col = f"{metric}:n", f"{metric}:sum"
    index = periods.get_indexer(frame[PERIOD])
    in_window = (index >= finding.start) & (index < finding.end)
    keys = list(dimensions)
    inside = frame[in_window].groupby(keys, observed=True)[[n_col, s_col]].sum()
    outside = frame[index < finding.start].groupby(keys, observed=True)[[n_col, s_col]].sum()
    overall = outside[s_col].sum() / max(outside[n_col].sum(), 1.0)
    table = inside.join(outside, rsuffix="_out", how="left").fillna(0.0)
    table = table[table[n_col] > 0]
    prior = 20.0
    rate = (table[f"{s_col}_out"] + prior * overall) / (table[f"{n_col}_out"] + prior)
    out = table.reset_index()[keys]
    out["responses"] = table[n_col].to_numpy()
    out["expected_responses"] = out["responses"]
    out["actual"] = table[s_col].to_numpy()
    out["expected"] = (rate * table[n_col]).to_numpy()
    return out


def _estimate(n: float, total: float, squares: float) -> Estimate:
    """A mean score with its normal 95% interval."""
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0) * n / max(n - 1, 1.0)
    half = Z95 * (variance / n) ** 0.5
    return Estimate(mean, mean - half, mean + half, int(round(n)))


def _alert(panel: Panel, metric: str, row: int, segment: dict[str, str], start: int,
           end: int, found: Shifts, q_value: float, severity: Any,
           causes: list[dict[str, Any]], related: list[dict[str, Any]]) -> Alert:
    n, total, squares = (panel.n[metric][row], panel.total[metric][row],
                         panel.squares[metric][row])
    before = _estimate(n[:start].sum(), total[:start].sum(), squares[:start].sum())
    after = _estimate(n[start:end].sum(), total[start:end].sum(), squares[start:end].sum())
    periods = panel.periods
    stop: date | None = periods[end].date() if end < len(periods) else None
    return Alert(metric=metric, segment=dict(segment), start=periods[start].date(), end=stop,
                 before=before, after=after, n=after.n, customers_affected=after.n,
                 revenue_at_risk=None, severity=severity, z=float(found.z[row]),
                 p_value=float(found.p_value[row]), q_value=q_value,
                 root_cause=tuple(causes), related=tuple(related))


def _with_customers(workspace: Workspace, table_name: str, alert: Alert) -> Alert:
    """Distinct customers behind the alert's window, and their revenue where known."""
    from dataclasses import replace

    from smokejumper.metrics.cube import as_timestamp

    table = workspace.table(table_name)
    if "customer_id" not in table.columns:
        return alert
    predicates = [table[k] == v for k, v in alert.segment.items()]
    predicates.append(table.ts >= as_timestamp(alert.start))
    if alert.end is not None:
        predicates.append(table.ts < as_timestamp(alert.end))
    people = table.filter(*predicates).select("customer_id").distinct()
    customers = int(people.count().execute())
    revenue: float | None = None
    try:
        accounts = workspace.table("customers")
    except Exception:  # noqa: BLE001 - no customers table: revenue unknown
        accounts = None
    if accounts is not None and "revenue" in accounts.columns:
        joined = people.join(accounts, "customer_id")
        value = joined.revenue.sum().execute()
        revenue = float(value) if value is not None and pd.notna(value) else None
    return replace(alert, customers_affected=customers, revenue_at_risk=revenue)
