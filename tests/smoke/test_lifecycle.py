"""Alert lifecycle against the real operational stores: idempotent saving, checked state
changes with their history, watching that closes or re-opens, relapses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from smokejumper.errors import SmokeError
from smokejumper.smoke.alerts import Alert, Estimate
from smokejumper.smoke.lifecycle import (
    get_alert,
    list_alerts,
    save_alerts,
    transition,
    watch_outcome,
)
from smokejumper.store import OperationalStore


def finding(start: date = date(2025, 3, 3), segment: dict[str, str] | None = None) -> Alert:
    return Alert(metric="nps", segment=segment or {"touchpoint": "app"}, start=start,
                 end=None, before=Estimate(33.7, 31.0, 36.4, 4000),
                 after=Estimate(12.4, 6.0, 18.8, 806), n=806, customers_affected=920,
                 revenue_at_risk=1.5e6, severity="high", z=9.1, p_value=1e-15,
                 q_value=1e-14, root_cause=({"segment": {"touchpoint": "app"}, "share": 1.0},))


def _store(url: str, tmp_path: object = None) -> OperationalStore:
    store = OperationalStore(url, tmp_path)  # type: ignore[arg-type]
    assert store.upgrade() == "v0006"
    return store


def _lifecycle(store: OperationalStore) -> None:
    engine = store.engine
    first = save_alerts(engine, [finding(), finding(segment={"region": "North"})])
    assert [created for _, created in first] == [True, True]
    again = save_alerts(engine, [replace(finding(), severity="critical")])
    assert again == [(first[0][0], False)]
    assert len(list_alerts(engine)) == 2
    alert_id = first[0][0]
    assert get_alert(engine, alert_id).severity == "critical"

    transition(engine, alert_id, "acknowledged", "ana", "looking")
    transition(engine, alert_id, "fixing", "ana")
    record = transition(engine, alert_id, "watching", "ben", "release 8.2.1 shipped")
    assert [(e.from_state, e.to_state, e.who) for e in record.events] == [
        (None, "open", "scan"), ("open", "acknowledged", "ana"),
        ("acknowledged", "fixing", "ana"), ("fixing", "watching", "ben")]
    assert record.events[1].note == "looking"
    with pytest.raises(SmokeError, match="can go to"):
        transition(engine, alert_id, "acknowledged", "ana")
    with pytest.raises(SmokeError, match="no alert"):
        transition(engine, 999, "closed", "ana")

    # the same incident seen again with a re-estimated start: attached, no new alert
    assert save_alerts(engine, [finding(start=date(2025, 3, 10))]) == [(alert_id, False)]
    transition(engine, alert_id, "closed", "watcher", "back", effective_on=date(2025, 5, 5))
    # a re-scan that still sees the old incident (starting before the quiet day) is not a
    # relapse; a shift that starts after it is
    assert save_alerts(engine, [finding(start=date(2025, 3, 17))]) == [(alert_id, False)]
    assert get_alert(engine, alert_id).state == "closed"
    relapse = save_alerts(engine, [finding(start=date(2025, 9, 1))])
    assert relapse == [(alert_id, False)]
    reopened = get_alert(engine, alert_id)
    assert reopened.state == "open" and reopened.events[-1].from_state == "closed"
    assert "relapse: a new shift from 2025-09-01" in (reopened.events[-1].note or "")
    assert reopened.finding["start"] == "2025-09-01"
    assert save_alerts(engine, [finding(start=date(2025, 9, 1)), finding()]) == [
        (alert_id, False), (alert_id, False)]
    assert get_alert(engine, alert_id).finding["start"] == "2025-09-01"  # never an older one
    assert len(list_alerts(engine)) == 2
    # an open alert whose incident ended: a later shift is a new alert
    ended = replace(finding(start=date(2025, 1, 6), segment={"region": "South"}),
                    end=date(2025, 2, 3))
    [(south, created)] = save_alerts(engine, [ended])
    assert created
    [(later, created)] = save_alerts(engine, [finding(date(2025, 6, 2), {"region": "South"})])
    assert created and later != south
    assert [r.alert_id for r in list_alerts(engine, ["open"])] == [
        later, south, first[1][0], alert_id]


def test_lifecycle_on_sqlite(tmp_path) -> None:
    store = _store("sqlite:///ops.db", tmp_path)
    assert store.revision() == store.head()
    _lifecycle(store)
    store.close()


def test_lifecycle_on_postgres(make_postgres_url: Callable[[str], str]) -> None:
    store = _store(make_postgres_url("alerts"))
    assert store.revision() == store.head()
    _lifecycle(store)
    store.close()


@pytest.mark.parametrize(("values", "higher", "expected"), [
    ([30.0, 31.0, 29.0], True, "closed"),
    ([10.0, 12.0, 11.0], True, "relapse"),
    ([10.0, 31.0, 29.0], True, None),
    ([31.0], True, None),
    ([10.0, 12.0, 11.0], False, "closed"),
])
def test_watching_closes_after_k_periods_back_and_reopens_on_relapse(
        values: list[float], higher: bool, expected: str | None) -> None:
    periods = pd.DataFrame({"value": values, "low": [v - 6 for v in values],
                            "high": [v + 6 for v in values]})
    assert watch_outcome(periods, 31.0, 36.4, k=3, higher_is_better=higher) == expected


def test_v0004_keeps_what_v0003_had_sent(tmp_path) -> None:
    import sqlalchemy as sa
    from alembic import command

    from smokejumper.smoke.lifecycle import pending_notifications
    from smokejumper.smoke.outbox import deliveries_of

    store = OperationalStore("sqlite:///ops.db", tmp_path)
    config = store._alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "v0003")
    with store.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO alerts VALUES (1, 'f', 'nps', 'touchpoint=app', 'open', 'high', "
            "'{\"start\": \"2025-03-03\"}', '2025-03-03', '2025-03-03')"))
        connection.execute(sa.text(
            "INSERT INTO alert_events (event_id, alert_id, who, at, to_state) VALUES "
            "(1, 1, 'scan', '2025-03-03 10:00:00', 'open'), "
            "(2, 1, 'ana', '2025-03-04 10:00:00', 'acknowledged')"))
        connection.execute(sa.text("INSERT INTO alert_notifications VALUES "
                                   "(1, 'team', '2025-03-03 10:01:00')"))
    assert store.upgrade() == "v0006"
    [sent] = deliveries_of(store.engine)
    assert (sent.notifier, sent.item, sent.state) == ("team", "event:1", "sent")
    assert [e for e, _, _ in pending_notifications(store.engine, "team")] == [2]
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "v0003")
        rows = connection.execute(sa.text("SELECT event_id, notifier FROM "
                                          "alert_notifications")).all()
    assert [tuple(r) for r in rows] == [(1, "team")]
    store.close()
