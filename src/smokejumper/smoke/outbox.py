"""The notification queue in the operational store: claim before sending, so that each
state change (and each daily digest) leaves through each notifier once.

The queue is the store itself (it survives a restart). An item is ``event:ID`` (a state
change) or ``digest:YYYY-MM-DD``. Before sending, a run *claims* the item: it inserts the
``(notifier, item)`` row (the primary key lets exactly one run win, in any number of
processes, on SQLite and PostgreSQL alike) or takes over a failed row whose retry time has
come, or a claim left by a crashed run once its lease has run out, with one conditional
``UPDATE ... WHERE state = ... `` whose row count says who won. After sending, the row is
``sent``; after a failure it is ``failed`` with ``next_attempt_at`` doubling each time.

The one window left: a run that crashes after the receiver accepted a message but before
it recorded ``sent`` is retried when its lease ends; messages carry their item as a
delivery id (``X-Smokejumper-Delivery`` header, e-mail ``Message-ID``) so that receivers
can drop such a repeat.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from smokejumper.store import models

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: a claim older than this is taken to be from a crashed run and may be taken over
LEASE = timedelta(minutes=10)
#: the longest wait between two tries of a failing notifier
MAX_BACKOFF = timedelta(hours=1)

deliveries = models.notification_deliveries


def worker_id() -> str:
    """Who claims: host, process and a random part (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def event_item(event_id: int) -> str:
    """``event:ID``.

    >>> event_item(17)
    'event:17'
    """
    return f"event:{event_id}"


def claim(engine: Engine, notifier: str, item: str, worker: str, now: datetime,
          event_id: int | None = None, lease: timedelta = LEASE) -> bool:
    """Claim ``item`` for ``notifier``; True when this worker won and must send it."""
    try:
        with engine.begin() as connection:
            connection.execute(deliveries.insert().values(
                notifier=notifier, item=item, event_id=event_id, state="sending",
                attempts=0, claimed_by=worker, claimed_at=now))
        return True
    except sa.exc.IntegrityError:
        pass
    retry = sa.and_(deliveries.c.state == "failed", deliveries.c.next_attempt_at <= now)
    stale = sa.and_(deliveries.c.state == "sending", deliveries.c.claimed_at < now - lease)
    with engine.begin() as connection:
        taken = connection.execute(
            deliveries.update()
            .where(deliveries.c.notifier == notifier, deliveries.c.item == item,
                   sa.or_(retry, stale))
            .values(state="sending", claimed_by=worker, claimed_at=now))
        return taken.rowcount == 1


def mark_sent(engine: Engine, notifier: str, item: str, worker: str, now: datetime) -> None:
    """The receiver accepted the claimed item."""
    with engine.begin() as connection:
        connection.execute(
            deliveries.update()
            .where(deliveries.c.notifier == notifier, deliveries.c.item == item,
                   deliveries.c.claimed_by == worker)
            .values(state="sent", sent_at=now, attempts=deliveries.c.attempts + 1,
                    last_error=None, next_attempt_at=None))


def mark_failed(engine: Engine, notifier: str, item: str, worker: str, now: datetime,
                error: str, backoff: timedelta) -> datetime:
    """Sending failed: keep the item queued and retry after ``backoff`` doubled per
    earlier failure (at most :data:`MAX_BACKOFF`); returns the retry time."""
    with engine.begin() as connection:
        attempts = connection.execute(
            sa.select(deliveries.c.attempts)
            .where(deliveries.c.notifier == notifier, deliveries.c.item == item)).scalar()
        wait = min(backoff * 2 ** int(attempts or 0), MAX_BACKOFF)
        connection.execute(
            deliveries.update()
            .where(deliveries.c.notifier == notifier, deliveries.c.item == item,
                   deliveries.c.claimed_by == worker)
            .values(state="failed", attempts=deliveries.c.attempts + 1,
                    next_attempt_at=now + wait, last_error=error[:2000]))
    return now + wait


def backing_off_until(engine: Engine, notifier: str, now: datetime) -> datetime | None:
    """When a failing notifier may be tried again (None: now). While one of its items
    waits for a retry, the whole notifier waits, so that messages keep their order."""
    with engine.connect() as connection:
        until = connection.execute(
            sa.select(sa.func.max(deliveries.c.next_attempt_at))
            .where(deliveries.c.notifier == notifier, deliveries.c.state == "failed")).scalar()
    return until if until is not None and until > now else None


def pending_events(engine: Engine, notifier: str, now: datetime, limit: int,
                   lease: timedelta = LEASE) -> list[int]:
    """Event ids waiting for ``notifier``, oldest first: never claimed, failed and due, or
    claimed by a run whose lease ran out."""
    waiting = sa.or_(
        deliveries.c.item.is_(None),
        sa.and_(deliveries.c.state == "failed", deliveries.c.next_attempt_at <= now),
        sa.and_(deliveries.c.state == "sending", deliveries.c.claimed_at < now - lease))
    events = models.alert_events
    query = (sa.select(events.c.event_id)
             .select_from(events.outerjoin(deliveries, sa.and_(
                 deliveries.c.event_id == events.c.event_id,
                 deliveries.c.notifier == notifier)))
             .where(waiting).order_by(events.c.event_id).limit(limit))
    with engine.connect() as connection:
        return [int(e) for e in connection.execute(query).scalars()]


def drop_surplus(engine: Engine, notifier: str, bound: int, now: datetime) -> int:
    """Keep at most ``bound`` never-claimed events queued for ``notifier``: the oldest
    beyond it are recorded as ``dropped`` (the queue is bounded); how many."""
    events = models.alert_events
    unclaimed = (sa.select(events.c.event_id)
                 .select_from(events.outerjoin(deliveries, sa.and_(
                     deliveries.c.event_id == events.c.event_id,
                     deliveries.c.notifier == notifier)))
                 .where(deliveries.c.item.is_(None)).order_by(events.c.event_id.desc()))
    with engine.connect() as connection:
        ids = [int(e) for e in connection.execute(unclaimed).scalars()]
    dropped = 0
    for event_id in ids[bound:]:
        try:
            with engine.begin() as connection:
                connection.execute(deliveries.insert().values(
                    notifier=notifier, item=event_item(event_id), event_id=event_id,
                    state="dropped", attempts=0, claimed_by="queue bound", claimed_at=now,
                    last_error=f"more than {bound} notifications queued"))
            dropped += 1
        except sa.exc.IntegrityError:
            continue
    return dropped


@dataclass(frozen=True)
class Delivery:
    """One row of the queue, for reports and tests."""

    notifier: str
    item: str
    state: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None


def deliveries_of(engine: Engine, notifier: str | None = None) -> list[Delivery]:
    """Every recorded delivery (of one notifier), in claim order."""
    query = sa.select(deliveries).order_by(deliveries.c.claimed_at, deliveries.c.item)
    if notifier is not None:
        query = query.where(deliveries.c.notifier == notifier)
    with engine.connect() as connection:
        return [Delivery(r.notifier, r.item, r.state, int(r.attempts), r.sent_at,
                         r.next_attempt_at, r.last_error) for r in connection.execute(query)]
