"""Alert lifecycle in the operational store: open → acknowledged → fixing → watching → closed.

The scan's findings are plain data; :func:`save_alerts` is the executor that stores them,
idempotently (the same fingerprint, metric + segment + start, is the same alert). Every
state change is an event with who, when, from and to, and a note. A *watching* alert
(a fix was applied) closes by itself once its metric has been back inside the baseline's
interval for K periods (:func:`watch_outcome`); a relapse re-opens it.

Saving a scan again never duplicates an alert. The rule, for a finding whose fingerprint
is new, against the latest alert of the same metric and segment:

* it is a *new shift* when it starts after that alert's *quiet day*: for a watching or
  closed alert, the day its fix went live or it was closed (``effective_on`` of that
  event), else the end of its stored incident, else the day the change was recorded; for
  an open, acknowledged or fixing alert, the end of its stored incident (an incident
  still going has no quiet day);
* a new shift re-opens a watching or closed alert (a relapse: the ``open`` event is by
  the scan, with the new start in its note) and starts a new alert after an active one
  whose incident had ended;
* anything else is the same incident seen again (a re-estimated start, say): its
  fingerprint is attached to the alert, whose finding is refreshed while it is active.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from smokejumper.errors import SmokeError
from smokejumper.smoke.alerts import Alert
from smokejumper.store import models

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

State = Literal["open", "acknowledged", "fixing", "watching", "closed"]
STATES: tuple[State, ...] = ("open", "acknowledged", "fixing", "watching", "closed")
#: the moves people (and the watcher) may make from each state
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "fixing", "watching", "closed"),
    "acknowledged": ("fixing", "watching", "closed"),
    "fixing": ("watching", "closed", "acknowledged"),
    "watching": ("closed", "open", "fixing"),
    "closed": ("open",),
}
SCANNER = "scan"


@dataclass(frozen=True)
class AlertEvent:
    """One state change of an alert."""

    who: str
    at: datetime
    from_state: str | None
    to_state: str
    note: str | None
    effective_on: date | None = None  # the day it took effect, e.g. the fix went live
    event_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.event_id, "who": self.who, "at": self.at.isoformat(),
                "from_state": self.from_state, "to_state": self.to_state, "note": self.note,
                "effective_on": self.effective_on.isoformat() if self.effective_on else None}


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert: id, state, the finding as saved (``Alert.to_dict()``), events."""

    alert_id: int
    fingerprint: str
    metric: str
    segment: dict[str, str]
    state: str
    severity: str
    finding: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    events: tuple[AlertEvent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.alert_id, "fingerprint": self.fingerprint, "metric": self.metric,
                "segment": self.segment, "state": self.state, "severity": self.severity,
                "start": self.finding.get("start"), "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), "finding": self.finding,
                "events": [e.to_dict() for e in self.events]}


def segment_key(segment: Mapping[str, str]) -> str:
    """``dim=value,dim=value`` sorted by dimension (``""`` for everything).

    >>> segment_key({"touchpoint": "app", "region": "North"})
    'region=North,touchpoint=app'
    """
    return ",".join(f"{k}={segment[k]}" for k in sorted(segment))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def save_alerts(engine: Engine, alerts: Iterable[Alert], who: str = SCANNER
                ) -> list[tuple[int, bool]]:
    """Store a scan's findings; ``(alert id, created)`` for each, in order.

    Never a duplicate: see the rule in the module docstring.
    """
    results = []
    with engine.begin() as connection:
        for alert in alerts:
            results.append(_save_one(connection, alert, who))
    return results


def _save_one(connection: Connection, alert: Alert, who: str) -> tuple[int, bool]:
    now = _now()
    finding = alert.to_dict()
    known = connection.execute(
        sa.select(models.alert_fingerprints.c.alert_id)
        .where(models.alert_fingerprints.c.fingerprint == alert.fingerprint)).scalar()
    if known is not None:
        _refresh(connection, int(known), alert, finding, now)
        return int(known), False
    key = segment_key(alert.segment)
    earlier = connection.execute(
        sa.select(models.alerts.c.alert_id, models.alerts.c.state, models.alerts.c.finding)
        .where(models.alerts.c.metric == alert.metric, models.alerts.c.segment_key == key)
        .order_by(models.alerts.c.alert_id.desc())).first()
    if earlier is not None:
        alert_id = int(earlier.alert_id)
        quiet = _quiet_day(connection, alert_id, earlier.state, earlier.finding)
        new_shift = quiet is not None and alert.start > quiet
        if not new_shift or earlier.state in ("watching", "closed"):
            connection.execute(models.alert_fingerprints.insert().values(
                fingerprint=alert.fingerprint, alert_id=alert_id))
            if new_shift:
                connection.execute(
                    models.alerts.update().where(models.alerts.c.alert_id == alert_id)
                    .values(state="open", finding=finding, severity=alert.severity,
                            updated_at=now))
                _event(connection, alert_id, who, earlier.state, "open",
                       f"relapse: a new shift from {alert.start.isoformat()} (quiet since "
                       f"{quiet.isoformat() if quiet else '-'})", alert.start)
            else:
                _refresh(connection, alert_id, alert, finding, now)
            return alert_id, False
    inserted = connection.execute(models.alerts.insert().values(
        fingerprint=alert.fingerprint, metric=alert.metric, segment_key=key, state="open",
        severity=alert.severity, finding=finding, created_at=now, updated_at=now,
    )).inserted_primary_key
    assert inserted is not None
    alert_id = int(inserted[0])
    connection.execute(models.alert_fingerprints.insert().values(
        fingerprint=alert.fingerprint, alert_id=alert_id))
    _event(connection, alert_id, who, None, "open", "found by a scan", alert.start)
    return alert_id, True


def _refresh(connection: Connection, alert_id: int, alert: Alert, finding: dict[str, Any],
             now: datetime) -> None:
    """Newer numbers for the incident an active alert stands for (never an older one)."""
    row = connection.execute(sa.select(models.alerts.c.state, models.alerts.c.finding)
                             .where(models.alerts.c.alert_id == alert_id)).first()
    if row is None or row.state in ("watching", "closed") or alert.start < _start(row.finding):
        return
    connection.execute(models.alerts.update().where(models.alerts.c.alert_id == alert_id)
                       .values(finding=finding, severity=alert.severity, updated_at=now))


def _quiet_day(connection: Connection, alert_id: int, state: str, finding: Any
               ) -> date | None:
    """After this day a shift in the alert's metric and segment is a new one (None: the
    incident is still going)."""
    data = json.loads(finding) if isinstance(finding, str) else finding
    end = date.fromisoformat(data["end"]) if data.get("end") else None
    if state not in ("watching", "closed"):
        return end
    last = connection.execute(
        sa.select(models.alert_events.c.effective_on, models.alert_events.c.at)
        .where(models.alert_events.c.alert_id == alert_id,
               models.alert_events.c.to_state == state)
        .order_by(models.alert_events.c.event_id.desc())).first()
    if last is not None and last.effective_on is not None:
        return last.effective_on  # type: ignore[no-any-return]
    if end is not None:
        return end
    return last.at.date() if last is not None else None


def _start(finding: Any) -> date:
    data = json.loads(finding) if isinstance(finding, str) else finding
    return date.fromisoformat(data["start"])


def _event(connection: Connection, alert_id: int, who: str, from_state: str | None,
           to_state: str, note: str | None, effective_on: date | None = None) -> None:
    connection.execute(models.alert_events.insert().values(
        alert_id=alert_id, who=who, at=_now(), from_state=from_state, to_state=to_state,
        note=note, effective_on=effective_on))


def transition(engine: Engine, alert_id: int, to_state: str, who: str,
               note: str | None = None, effective_on: date | None = None) -> AlertRecord:
    """Move an alert to ``to_state`` (checked against :data:`TRANSITIONS`), recording who,
    when, the note and the day it took effect (for ``watching``: the day the fix went
    live, from which the metric is followed); returns the alert as it now is.

    The move is conditional on the state read, so two people (or two watchers) moving
    the same alert at once cannot both succeed."""
    if to_state not in STATES:
        raise SmokeError(f"unknown state '{to_state}'; choose one of {', '.join(STATES)}")
    with engine.begin() as connection:
        state = connection.execute(sa.select(models.alerts.c.state)
                                   .where(models.alerts.c.alert_id == alert_id)).scalar()
        if state is None:
            raise SmokeError(f"no alert {alert_id}; see `smokejumper alerts list`")
        if to_state not in TRANSITIONS[state]:
            allowed = ", ".join(TRANSITIONS[state])
            raise SmokeError(f"alert {alert_id} is {state}: it can go to {allowed}, "
                             f"not {to_state}")
        moved = connection.execute(
            models.alerts.update()
            .where(models.alerts.c.alert_id == alert_id, models.alerts.c.state == state)
            .values(state=to_state, updated_at=_now()))
        if moved.rowcount != 1:
            raise SmokeError(f"alert {alert_id} changed meanwhile; look again with "
                             f"`smokejumper alerts show {alert_id}`")
        _event(connection, alert_id, who, state, to_state, note, effective_on)
    return get_alert(engine, alert_id)


def list_alerts(engine: Engine, states: Sequence[str] | None = None) -> list[AlertRecord]:
    """Stored alerts (newest first), optionally only in ``states``; without events."""
    query = sa.select(models.alerts).order_by(models.alerts.c.alert_id.desc())
    if states:
        query = query.where(models.alerts.c.state.in_(list(states)))
    with engine.connect() as connection:
        return [_record(row) for row in connection.execute(query)]


def get_alert(engine: Engine, alert_id: int) -> AlertRecord:
    """One alert with its events, oldest first."""
    from dataclasses import replace

    with engine.connect() as connection:
        row = connection.execute(sa.select(models.alerts)
                                 .where(models.alerts.c.alert_id == alert_id)).first()
        if row is None:
            raise SmokeError(f"no alert {alert_id}; see `smokejumper alerts list`")
        events = connection.execute(
            sa.select(models.alert_events).where(models.alert_events.c.alert_id == alert_id)
            .order_by(models.alert_events.c.event_id)).all()
    return replace(_record(row), events=tuple(_alert_event(e) for e in events))


def _alert_event(row: Any) -> AlertEvent:
    return AlertEvent(row.who, row.at, row.from_state, row.to_state, row.note,
                      row.effective_on, int(row.event_id))


def watching_since(record: AlertRecord) -> date:
    """The day the fix of a watching alert went live (else the day it was recorded)."""
    for event in reversed(record.events):
        if event.to_state == "watching":
            return event.effective_on or event.at.date()
    raise SmokeError(f"alert {record.alert_id} has never been watched")


def _record(row: Any) -> AlertRecord:
    finding = json.loads(row.finding) if isinstance(row.finding, str) else dict(row.finding)
    return AlertRecord(alert_id=int(row.alert_id), fingerprint=row.fingerprint,
                       metric=row.metric, segment=dict(finding.get("segment", {})),
                       state=row.state, severity=row.severity, finding=finding,
                       created_at=row.created_at, updated_at=row.updated_at)


Z95 = 1.959963984540054


def watch_outcome(periods: pd.DataFrame, baseline_low: float, baseline_high: float,
                  k: int, higher_is_better: bool = True) -> Literal["closed", "relapse"] | None:
    """What the periods since a fix (``value, low, high`` and ``n``, oldest first) say.

    ``closed``: each of the last ``k`` periods is back (its interval reaches the
    baseline's interval or is better) and so are the ``k`` pooled (n-weighted mean, its
    interval from the periods' standard errors), so one lucky noisy period does not close
    it. ``relapse``: the ``k`` pooled are clearly worse than the baseline's interval and
    so is the latest period. Else None: keep watching.

    >>> import pandas as pd
    >>> back = pd.DataFrame({"value": [28.0, 31, 30], "low": [22.0, 25, 24],
    ...                      "high": [34.0, 37, 36], "n": [300, 310, 290]})
    >>> watch_outcome(back, 29.0, 33.0, k=3)
    'closed'
    >>> watch_outcome(back.assign(value=back.value - 20, low=back.low - 20,
    ...                           high=back.high - 20), 29.0, 33.0, k=3)
    'relapse'
    """
    import numpy as np

    if k < 1:
        raise SmokeError("k (periods back to normal before closing) must be at least 1")
    if len(periods) < k:
        return None
    last = periods.tail(k)
    value = last["value"].to_numpy(float)
    low, high = last["low"].to_numpy(float), last["high"].to_numpy(float)
    n = last["n"].to_numpy(float) if "n" in last else np.ones(k)
    weights = n / n.sum()
    pooled = float(weights @ value)
    spread = Z95 * float(np.sqrt(weights ** 2 @ ((high - low) / (2 * Z95)) ** 2))
    if higher_is_better:
        each_back = bool((high >= baseline_low).all()) and pooled + spread >= baseline_low
        worse = pooled + spread < baseline_low and high[-1] < baseline_low
    else:
        each_back = bool((low <= baseline_high).all()) and pooled - spread <= baseline_high
        worse = pooled - spread > baseline_high and low[-1] > baseline_high
    if each_back:
        return "closed"
    if worse:
        return "relapse"
    return None


def event_with_alert(engine: Engine, event_id: int) -> tuple[AlertRecord, AlertEvent]:
    """A state change and the alert it belongs to (as the alert is now)."""
    with engine.connect() as connection:
        event = connection.execute(sa.select(models.alert_events).where(
            models.alert_events.c.event_id == event_id)).first()
        if event is None:
            raise SmokeError(f"no alert event {event_id}")
        row = connection.execute(sa.select(models.alerts).where(
            models.alerts.c.alert_id == event.alert_id)).first()
    return _record(row), _alert_event(event)


def changes_between(engine: Engine, start: datetime, end: datetime
                    ) -> list[tuple[AlertRecord, AlertEvent]]:
    """State changes recorded in ``[start, end)``, oldest first, with their alerts."""
    events = models.alert_events
    with engine.connect() as connection:
        rows = connection.execute(sa.select(events.c.event_id).where(
            events.c.at >= start, events.c.at < end).order_by(events.c.event_id)).scalars()
        ids = [int(r) for r in rows]
    return [event_with_alert(engine, event_id) for event_id in ids]


def states_at(engine: Engine, moment: datetime) -> list[tuple[AlertRecord, str]]:
    """Every alert that existed at ``moment`` with its state then (from its events)."""
    events = models.alert_events
    latest = (sa.select(events.c.alert_id, sa.func.max(events.c.event_id).label("last"))
              .where(events.c.at < moment).group_by(events.c.alert_id).subquery())
    query = (sa.select(models.alerts, events.c.to_state.label("then"))
             .join(latest, latest.c.alert_id == models.alerts.c.alert_id)
             .join(events, events.c.event_id == latest.c.last)
             .order_by(models.alerts.c.alert_id))
    with engine.connect() as connection:
        return [(_record(row), str(row.then)) for row in connection.execute(query)]


def pending_notifications(engine: Engine, notifier: str, limit: int = 100
                          ) -> list[tuple[int, AlertRecord, AlertEvent]]:
    """State changes not yet sent through ``notifier``, oldest first (at most ``limit``).

    Kept for callers that send without claiming; :func:`smokejumper.smoke.service_ops.
    notify` claims each one first (:mod:`.outbox`) and is safe to run twice at once."""
    from smokejumper.smoke.outbox import pending_events

    return [(event_id, *event_with_alert(engine, event_id))
            for event_id in pending_events(engine, notifier, _now(), limit)]


def mark_notified(engine: Engine, event_id: int, notifier: str) -> None:
    """Record that ``notifier`` sent ``event_id`` (see :func:`pending_notifications`)."""
    from smokejumper.smoke.outbox import claim, event_item, mark_sent

    now, worker = _now(), f"mark_notified:{notifier}"
    item = event_item(event_id)
    if claim(engine, notifier, item, worker, now, event_id):
        mark_sent(engine, notifier, item, worker, now)
