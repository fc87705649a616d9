"""Alert lifecycle in the operational store: open → acknowledged → fixing → watching → closed.

The scan's findings are plain data; :func:`save_alerts` is the executor that stores them,
idempotently (the same fingerprint, metric + segment + start, is the same alert). Every
state change is an event with who, when, from and to, and a note. A *watching* alert
(a fix was applied) closes by itself once its metric has been back inside the baseline's
interval for K periods (:func:`watch_outcome`); a relapse re-opens it, and a new shift in
the segment of a watching or closed alert re-opens that alert instead of making another.
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
                "events": [{"who": e.who, "at": e.at.isoformat(), "from_state": e.from_state,
                            "to_state": e.to_state, "note": e.note} for e in self.events]}


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

    The same fingerprint updates the stored finding (no duplicate). A new shift in the
    metric and segment of a watching or closed alert that started before it re-opens
    that alert (a relapse) and remembers the new fingerprint.
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
        state = connection.execute(sa.select(models.alerts.c.state)
                                   .where(models.alerts.c.alert_id == known)).scalar()
        if state != "closed":
            connection.execute(models.alerts.update().where(models.alerts.c.alert_id == known)
                               .values(finding=finding, severity=alert.severity,
                                       updated_at=now))
        return int(known), False
    key = segment_key(alert.segment)
    earlier = connection.execute(
        sa.select(models.alerts.c.alert_id, models.alerts.c.state, models.alerts.c.finding)
        .where(models.alerts.c.metric == alert.metric, models.alerts.c.segment_key == key,
               models.alerts.c.state.in_(("watching", "closed")))
        .order_by(models.alerts.c.alert_id.desc())).first()
    if earlier is not None and _start(earlier.finding) < alert.start:
        alert_id = int(earlier.alert_id)
        connection.execute(models.alert_fingerprints.insert().values(
            fingerprint=alert.fingerprint, alert_id=alert_id))
        connection.execute(models.alerts.update().where(models.alerts.c.alert_id == alert_id)
                           .values(state="open", finding=finding, severity=alert.severity,
                                   updated_at=now))
        _event(connection, alert_id, who, earlier.state, "open",
               f"relapse: a new shift from {alert.start.isoformat()}")
        return alert_id, False
    inserted = connection.execute(models.alerts.insert().values(
        fingerprint=alert.fingerprint, metric=alert.metric, segment_key=key, state="open",
        severity=alert.severity, finding=finding, created_at=now, updated_at=now,
    )).inserted_primary_key
    assert inserted is not None
    alert_id = int(inserted[0])
    connection.execute(models.alert_fingerprints.insert().values(
        fingerprint=alert.fingerprint, alert_id=alert_id))
    _event(connection, alert_id, who, None, "open", "found by a scan")
    return alert_id, True


def _start(finding: Any) -> date:
    data = json.loads(finding) if isinstance(finding, str) else finding
    return date.fromisoformat(data["start"])


def _event(connection: Connection, alert_id: int, who: str, from_state: str | None,
           to_state: str, note: str | None) -> None:
    connection.execute(models.alert_events.insert().values(
        alert_id=alert_id, who=who, at=_now(), from_state=from_state, to_state=to_state,
        note=note))


def transition(engine: Engine, alert_id: int, to_state: str, who: str,
               note: str | None = None) -> AlertRecord:
    """Move an alert to ``to_state`` (checked against :data:`TRANSITIONS`), recording who,
    when and the note; returns the alert as it now is."""
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
        connection.execute(models.alerts.update().where(models.alerts.c.alert_id == alert_id)
                           .values(state=to_state, updated_at=_now()))
        _event(connection, alert_id, who, state, to_state, note)
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
    return replace(_record(row), events=tuple(
        AlertEvent(e.who, e.at, e.from_state, e.to_state, e.note) for e in events))


def _record(row: Any) -> AlertRecord:
    finding = json.loads(row.finding) if isinstance(row.finding, str) else dict(row.finding)
    return AlertRecord(alert_id=int(row.alert_id), fingerprint=row.fingerprint,
                       metric=row.metric, segment=dict(finding.get("segment", {})),
                       state=row.state, severity=row.severity, finding=finding,
                       created_at=row.created_at, updated_at=row.updated_at)


def watch_outcome(periods: pd.DataFrame, baseline_low: float, baseline_high: float,
                  k: int, higher_is_better: bool = True) -> Literal["closed", "relapse"] | None:
    """What the periods since a fix say: ``closed`` when the last ``k`` are all back
    inside the baseline's interval (their own interval reaches it), ``relapse`` when the
    last ``k`` are all clearly worse than it, else None (keep watching).

    >>> import pandas as pd
    >>> back = pd.DataFrame({"value": [28.0, 31, 30], "low": [22.0, 25, 24],
    ...                      "high": [34.0, 37, 36]})
    >>> watch_outcome(back, 29.0, 33.0, k=3)
    'closed'
    >>> watch_outcome(back - 20, 29.0, 33.0, k=3)
    'relapse'
    """
    if k < 1:
        raise SmokeError("k (periods back to normal before closing) must be at least 1")
    if len(periods) < k:
        return None
    last = periods.tail(k)
    if higher_is_better:
        inside = last["high"] >= baseline_low
        worse = last["high"] < baseline_low
    else:
        inside = last["low"] <= baseline_high
        worse = last["low"] > baseline_high
    if bool(inside.all()):
        return "closed"
    if bool(worse.all()):
        return "relapse"
    return None


def pending_notifications(engine: Engine, notifier: str, limit: int = 100
                          ) -> list[tuple[int, AlertRecord, AlertEvent]]:
    """State changes not yet sent through ``notifier``, oldest first (at most ``limit``:
    the queue is the store, so it survives a restart and is bounded per call)."""
    sent = sa.select(models.alert_notifications.c.event_id).where(
        models.alert_notifications.c.notifier == notifier)
    query = (sa.select(models.alert_events)
             .where(models.alert_events.c.event_id.not_in(sent))
             .order_by(models.alert_events.c.event_id).limit(limit))
    with engine.connect() as connection:
        events = connection.execute(query).all()
        out = []
        for e in events:
            row = connection.execute(sa.select(models.alerts).where(
                models.alerts.c.alert_id == e.alert_id)).first()
            out.append((int(e.event_id), _record(row),
                        AlertEvent(e.who, e.at, e.from_state, e.to_state, e.note)))
    return out


def mark_notified(engine: Engine, event_id: int, notifier: str) -> None:
    """Record that ``notifier`` sent ``event_id`` (never sent twice)."""
    with engine.begin() as connection:
        connection.execute(models.alert_notifications.insert().values(
            event_id=event_id, notifier=notifier, sent_at=_now()))
