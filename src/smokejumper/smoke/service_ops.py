"""What ``ws.smoke`` does after a scan: watch fixed alerts (:func:`review`), tell people
about each state change once (:func:`notify`) and send the daily digest (:func:`digest`).

Each takes the workspace and does its work through the operational store, so any number
of runs (a cron job, ``scan --save``, a person at the CLI) may overlap: state changes are
conditional (:func:`~.lifecycle.transition`) and messages are claimed before they are sent
(:mod:`.outbox`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from smokejumper.errors import SmokeError
from smokejumper.smoke import outbox
from smokejumper.smoke.alerts import SEVERITIES
from smokejumper.smoke.lifecycle import (
    AlertRecord,
    changes_between,
    event_with_alert,
    get_alert,
    list_alerts,
    states_at,
    transition,
    watch_outcome,
    watching_since,
)
from smokejumper.smoke.notify import (
    DELIVERY_HEADER,
    NotifierSettings,
    WebhookConfig,
    alert_message,
    digest_message,
    digest_subject,
    notifier_settings,
    send_email,
    send_webhook,
)

if TYPE_CHECKING:
    import pandas as pd

    from smokejumper.workspace import Workspace

WATCHER = "watcher"
#: open alerts listed one by one in a digest
DIGEST_TOP = 10
#: how long one period of each grain lasts (complete periods only are watched)
GRAIN_LENGTH = {"day": {"days": 1}, "week": {"weeks": 1}, "month": {"months": 1},
                "quarter": {"months": 3}, "year": {"years": 1}}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _day(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SmokeError(f"'{value}' is not a date (YYYY-MM-DD)") from None


# -- watching ---------------------------------------------------------------------------------

def complete_periods(frame: pd.DataFrame, grain: str, since: date, until: date
                     ) -> pd.DataFrame:
    """The periods of ``frame`` that start on or after ``since`` and end by ``until``."""
    import pandas as pd

    if grain not in GRAIN_LENGTH:
        raise SmokeError(f"cannot watch at grain '{grain}'; use one of {', '.join(GRAIN_LENGTH)}")
    if frame.empty:
        return frame
    starts = pd.to_datetime(frame["period"])
    ends = starts + pd.DateOffset(**GRAIN_LENGTH[grain])
    keep = (starts >= pd.Timestamp(since)) & (ends <= pd.Timestamp(until))
    return frame[keep.to_numpy()].sort_values("period").reset_index(drop=True)


def review(workspace: Workspace, k: int | None = None, until: date | str | None = None
           ) -> list[AlertRecord]:
    """Follow every watching alert: close it once its metric has been back inside the
    baseline's interval for ``k`` complete periods since its fix went live (``[alerts]
    close_after``, default 3), re-open it on a relapse; the alerts it changed.

    ``until``: the data to look at ends before this day (default: today), so a past
    date replays what the watcher would have said then."""
    k = int(k or workspace.config.alerts.get("close_after", 3))
    if k < 1:
        raise SmokeError("--k must be at least 1")
    end = _day(until) or _now().date()
    engine = workspace.operational.engine
    definitions = workspace.metrics.definitions()
    changed = []
    for listed in list_alerts(engine, ["watching"]):
        record = get_alert(engine, listed.alert_id)
        definition = definitions.get(record.metric)
        if definition is None:
            continue
        since = watching_since(record)
        grain = record.finding.get("grain") or workspace.config.analysis.grain
        if since >= end:
            continue
        frame = workspace.metrics.compute([record.metric], grain=grain,
                                          filters=record.segment, start=since, end=end)
        periods = complete_periods(frame, grain, since, end)
        before = record.finding["before"]
        outcome = watch_outcome(periods, before["low"], before["high"], k,
                                definition.higher_is_better)
        if outcome is None:
            continue
        last = periods.tail(k)
        values = ", ".join(f"{v:.1f}" for v in last["value"])
        first, through = last["period"].iloc[0], last["period"].iloc[-1]
        span = f"{k} {grain}s ({_iso(first)} to {_iso(through)}: {values})"
        baseline = f"[{before['low']:.1f}, {before['high']:.1f}]"
        effective = _period_end(through, grain)
        try:
            if outcome == "closed":
                changed.append(transition(
                    engine, record.alert_id, "closed", WATCHER,
                    f"back inside the baseline's interval {baseline} for {span}", effective))
            else:
                changed.append(transition(
                    engine, record.alert_id, "open", WATCHER,
                    f"relapse: worse than the baseline's interval {baseline} for {span}",
                    effective))
        except SmokeError:
            continue  # someone (another watcher) moved it meanwhile
    return changed


def _iso(value: Any) -> str:
    import pandas as pd

    return pd.Timestamp(value).date().isoformat()


def _period_end(period: Any, grain: str) -> date:
    """The day after a period (its exclusive end)."""
    import pandas as pd

    return (pd.Timestamp(period) + pd.DateOffset(**GRAIN_LENGTH[grain])).date()  # type: ignore[no-any-return]


# -- one message per state change ---------------------------------------------------------------

@dataclass
class NotifyReport:
    """What a :func:`notify` run did, per notifier."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    waiting_until: dict[str, datetime] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    digests: list[DigestResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed,
                "waiting_until": {k: v.isoformat() for k, v in self.waiting_until.items()},
                "dropped": self.dropped, "digests": [d.to_dict() for d in self.digests]}


def notifiers(workspace: Workspace) -> list[NotifierSettings]:
    """The ``[notifiers.*]`` of the toml."""
    return [notifier_settings(name, section)
            for name, section in workspace.config.notifiers.items()]


def notify(workspace: Workspace, limit: int = 100, now: datetime | None = None,
           sleep: Callable[[float], None] = time.sleep, digests: bool = True) -> NotifyReport:
    """Send each alert state change not yet sent through each notifier that wants every
    change, once (claimed first: safe with other runs at once); then the daily digests
    that are due (:func:`digest`). A failing notifier keeps its queue and is tried again
    after its backoff; the next run (in any process) goes on where this one stopped."""
    now = now or _now()
    engine = workspace.operational.engine
    worker = outbox.worker_id()
    report = NotifyReport()
    for settings in notifiers(workspace):
        if not settings.each_change:
            continue
        name = settings.name
        report.sent[name] = 0
        waiting = outbox.backing_off_until(engine, name, now)
        if waiting is not None:
            report.waiting_until[name] = waiting
            continue
        dropped = outbox.drop_surplus(engine, name, settings.queue_limit, now)
        if dropped:
            report.dropped[name] = dropped
        for event_id in outbox.pending_events(engine, name, now, limit):
            item = outbox.event_item(event_id)
            if not outbox.claim(engine, name, item, worker, now, event_id):
                continue  # another run has it
            record, event = event_with_alert(engine, event_id)
            message = alert_message(record.finding, event.to_state, record.alert_id,
                                    event.who, event.note)
            try:
                _send(settings, item, message,
                      f"Smokejumper: alert {record.alert_id} {event.to_state}", sleep)
            except SmokeError as exc:
                report.failed[name] = str(exc)
                report.waiting_until[name] = outbox.mark_failed(
                    engine, name, item, worker, now, str(exc), settings.retry_after)
                break
            outbox.mark_sent(engine, name, item, worker, _now())
            report.sent[name] += 1
    if digests:
        report.digests = digest(workspace, now=now, sleep=sleep).results
    return report


def _send(settings: NotifierSettings, item: str, message: dict[str, Any], subject: str,
          sleep: Callable[[float], None]) -> None:
    transport = settings.transport
    if isinstance(transport, WebhookConfig):
        send_webhook(transport, message, sleep, headers={DELIVERY_HEADER: item})
    else:
        send_email(transport, subject, message["text"], delivery=item)


# -- the daily digest ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DigestResult:
    """One notifier's digest for one day: sent now, or why not."""

    notifier: str
    day: date
    sent: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"notifier": self.notifier, "day": self.day.isoformat(), "sent": self.sent,
                "reason": self.reason}


@dataclass(frozen=True)
class Digest:
    """A day's summary: the state changes recorded that day and the alerts still open at
    its end (counts by severity, the most severe first)."""

    day: date
    changes: list[dict[str, Any]]
    open_alerts: list[dict[str, Any]]
    results: list[DigestResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        counts = {s: sum(a["severity"] == s for a in self.open_alerts)
                  for s in reversed(SEVERITIES)}
        return {"day": self.day.isoformat(), "open": len(self.open_alerts),
                "by_severity": {s: n for s, n in counts.items() if n},
                "changes": self.changes, "top": self.open_alerts[:DIGEST_TOP],
                "results": [r.to_dict() for r in self.results]}


def build_digest(workspace: Workspace, day: date) -> Digest:
    """The digest of ``day`` (UTC), from the store's events as they were then."""
    engine = workspace.operational.engine
    start = datetime.combine(day, datetime.min.time())
    end = start + timedelta(days=1)
    changes = [{"alert": record.alert_id, "metric": record.metric,
                "segment": record.segment, "from_state": event.from_state,
                "to_state": event.to_state, "who": event.who, "note": event.note,
                "at": event.at.isoformat()}
               for record, event in changes_between(engine, start, end)]
    still_open = [_digest_alert(record, state) for record, state in states_at(engine, end)
                  if state != "closed"]
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    still_open.sort(key=lambda a: (-rank.get(a["severity"], 0),
                                   -(a["revenue_at_risk"] or 0), -a["customers_affected"]))
    return Digest(day, changes, still_open)


def _digest_alert(record: AlertRecord, state: str) -> dict[str, Any]:
    finding = record.finding
    return {"id": record.alert_id, "state": state, "severity": record.severity,
            "metric": record.metric, "segment": record.segment, "start": finding.get("start"),
            "before": (finding.get("before") or {}).get("value"),
            "after": (finding.get("after") or {}).get("value"),
            "customers_affected": int(finding.get("customers_affected") or 0),
            "revenue_at_risk": finding.get("revenue_at_risk")}


def due_day(settings: NotifierSettings, now: datetime) -> date:
    """The day whose digest is due at ``now``: yesterday once ``digest_hour`` has come,
    else the day before.

    >>> from smokejumper.smoke.notify import notifier_settings
    >>> s = notifier_settings("t", {"kind": "webhook", "url": "u", "digest": "daily"})
    >>> due_day(s, datetime(2025, 5, 2, 9)), due_day(s, datetime(2025, 5, 2, 7))
    (datetime.date(2025, 5, 1), datetime.date(2025, 4, 30))
    """
    return (now - timedelta(hours=settings.digest_hour)).date() - timedelta(days=1)


def digest(workspace: Workspace, day: date | str | None = None, dry_run: bool = False,
           now: datetime | None = None, sleep: Callable[[float], None] = time.sleep
           ) -> Digest:
    """Send the daily digest through each notifier with ``digest = "daily"``, at most once
    per notifier and day (recorded in the store, claimed before sending). Without ``day``,
    the day that is due (:func:`due_day`); ``dry_run`` sends nothing and returns the
    digest of ``day`` (default yesterday)."""
    now = now or _now()
    engine = workspace.operational.engine
    chosen = _day(day)
    configured = [s for s in notifiers(workspace) if s.digest == "daily"]
    if dry_run or not configured:
        return build_digest(workspace, chosen or now.date() - timedelta(days=1))
    built: dict[date, Digest] = {}
    results = []
    worker = outbox.worker_id()
    for settings in configured:
        target = chosen or due_day(settings, now)
        item = f"digest:{target.isoformat()}"
        if outbox.backing_off_until(engine, settings.name, now) is not None:
            results.append(DigestResult(settings.name, target, False, "backing off"))
            continue
        if not outbox.claim(engine, settings.name, item, worker, now):
            results.append(DigestResult(settings.name, target, False,
                                        "already sent (or being sent)"))
            continue
        content = built.setdefault(target, build_digest(workspace, target)).to_dict()
        try:
            _send(settings, item, digest_message(content), digest_subject(content), sleep)
        except SmokeError as exc:
            outbox.mark_failed(engine, settings.name, item, worker, now, str(exc),
                               settings.retry_after)
            results.append(DigestResult(settings.name, target, False, str(exc)))
            continue
        outbox.mark_sent(engine, settings.name, item, worker, _now())
        results.append(DigestResult(settings.name, target, True, "sent"))
    target = chosen or (due_day(configured[0], now))
    base = built.get(target) or build_digest(workspace, target)
    return Digest(base.day, base.changes, base.open_alerts, results)
