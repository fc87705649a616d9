"""Notifiers against real local receivers: an HTTP server that fails before it accepts
(retries, HMAC signature) and an aiosmtpd SMTP server started by the test."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from smokejumper.errors import SmokeError
from smokejumper.smoke.notify import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    EmailConfig,
    WebhookConfig,
    alert_message,
    notifier_from_config,
    send_email,
    send_webhook,
)

FINDING = {"metric": "nps", "segment": {"touchpoint": "app"}, "start": "2025-03-03",
           "severity": "high", "before": {"value": 33.7}, "after": {"value": 12.4}}


class Receiver:
    """A local webhook receiver that answers ``failures`` 500s before a 200."""

    def __init__(self, failures: int, status: int = 500) -> None:
        self.failures, self.status = failures, status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failed = len(receiver.requests) <= receiver.failures
                self.send_response(receiver.status if failed else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    yield server
    server.close()


def test_webhook_retries_with_backoff_and_signs(receiver: Receiver) -> None:
    waits: list[float] = []
    payload = alert_message(FINDING, "open", 7)
    status = send_webhook(WebhookConfig(receiver.url, secret="s3cret", retries=3,
                                        backoff=0.5), payload, sleep=waits.append)
    assert status == 200 and waits == [0.5, 1.0] and len(receiver.requests) == 3
    headers, body = receiver.requests[-1]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert json.loads(body)["text"].startswith("[high] alert 7 open: nps in touchpoint=app")


def test_webhook_gives_up_after_its_retries() -> None:
    server = Receiver(failures=10)
    try:
        with pytest.raises(SmokeError, match="failed after 2 tries"):
            send_webhook(WebhookConfig(server.url, retries=1), {"text": "x"},
                         sleep=lambda _: None)
    finally:
        server.close()


def test_webhook_does_not_retry_a_refusal() -> None:
    server = Receiver(failures=10, status=403)
    try:
        with pytest.raises(SmokeError, match="refused"):
            send_webhook(WebhookConfig(server.url), {"text": "x"}, sleep=lambda _: None)
        assert len(server.requests) == 1
    finally:
        server.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_email_reaches_a_real_smtp_server() -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = notifier_from_config("mail", {
            "kind": "email", "host": "127.0.0.1", "port": port,
            "sender": "smoke@example.com", "recipients": ["cx@example.com"]})
        assert isinstance(config, EmailConfig)
        send_email(config, "Smoke: nps in touchpoint=app", alert_message(FINDING, "open")["text"])
    finally:
        controller.stop()
    assert len(received) == 1
    assert received[0].rcpt_tos == ["cx@example.com"]
    assert b"fell from 33.7 to 12.4" in received[0].content


def test_notifier_config_errors_are_clear() -> None:
    with pytest.raises(SmokeError, match="kind must be"):
        notifier_from_config("x", {"kind": "pager"})
    with pytest.raises(SmokeError, match="notifiers.x"):
        notifier_from_config("x", {"kind": "webhook", "adress": "typo"})


def test_each_state_change_is_notified_once(tmp_path, receiver: Receiver) -> None:
    from datetime import date

    from smokejumper.smoke.alerts import Alert, Estimate
    from smokejumper.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    config = (ws.root / "smokejumper.toml").read_text()
    (ws.root / "smokejumper.toml").write_text(
        config + f'\n[notifiers.team]\nkind = "webhook"\nurl = "{receiver.url}"\n'
        'secret = "s3cret"\nbackoff = 0.01\n')
    ws = Workspace(ws.root)
    alert = Alert(metric="nps", segment={"touchpoint": "app"}, start=date(2025, 3, 3),
                  end=None, before=Estimate(33.7, 31.0, 36.4, 4000),
                  after=Estimate(12.4, 6.0, 18.8, 806), n=806, customers_affected=920,
                  revenue_at_risk=None, severity="high", z=9.1, p_value=1e-15, q_value=1e-14)
    [(alert_id, _)] = ws.smoke.save([alert])
    assert ws.smoke.notify() == 1            # two 500s, then accepted
    ws.smoke.save([alert])                   # same finding: no new state change
    ws.smoke.move(alert_id, "acknowledged", "ana")
    assert ws.smoke.notify() == 1 and ws.smoke.notify() == 0
    texts = [json.loads(body)["text"] for _, body in receiver.requests]
    assert texts[-1].startswith("[high] alert 1 acknowledged")
    assert len(receiver.requests) == 4
    ws.close()


# -- the queue: each state change once, under re-runs, crashes and concurrency ---------------

SECRET = "s3cret"


class CheckingReceiver(Receiver):
    """A receiver that checks the HMAC of every request, can be slow, and can be down."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(failures=0)
        self.down = False
        receiver = self
        handler = self.server.RequestHandlerClass

        def do_post(request: Any) -> None:
            import time as clock

            body = request.rfile.read(int(request.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert request.headers[SIGNATURE_HEADER] == expected
            if delay:
                clock.sleep(delay)
            if receiver.down:
                request.send_response(503)
            else:
                receiver.requests.append((dict(request.headers), body))
                request.send_response(200)
            request.end_headers()

        handler.do_POST = do_post  # type: ignore[attr-defined]

    def items(self) -> list[str]:
        return [headers[DELIVERY_HEADER] for headers, _ in self.requests]


def _workspace(root: Any, notifiers: str, operational: str | None = None) -> Any:
    from smokejumper.workspace import Workspace

    ws = Workspace.init(root)
    ws.close()
    path = root / "smokejumper.toml"
    config = path.read_text()
    if operational:
        config = config.replace('operational = "sqlite:///operational.db"',
                                f'operational = "{operational}"')
    path.write_text(config + "\n" + notifiers)
    return Workspace(root)


def _webhook(name: str, url: str, extra: str = "") -> str:
    return (f'[notifiers.{name}]\nkind = "webhook"\nurl = "{url}"\nsecret = "{SECRET}"\n'
            f"retries = 1\nbackoff = 0.01\n{extra}\n")


def _finding(i: int, severity: str = "high", revenue: float | None = None) -> Any:
    from datetime import date, timedelta

    from smokejumper.smoke.alerts import Alert, Estimate

    return Alert(metric="nps", segment={"touchpoint": "app", "region": f"R{i:02d}"},
                 start=date(2025, 3, 3) + timedelta(weeks=i % 5), end=None,
                 before=Estimate(33.7, 31.0, 36.4, 4000), after=Estimate(12.4, 6.0, 18.8, 806),
                 n=806, customers_affected=100 + i, revenue_at_risk=revenue,
                 severity=severity, z=9.1, p_value=1e-15, q_value=1e-14)  # type: ignore[arg-type]


NOTIFY_SCRIPT = """
import sys
from smokejumper.smoke.service_ops import notify
from smokejumper.workspace import Workspace
ws = Workspace(sys.argv[1])
print(notify(ws, limit=1000).total)
ws.close()
"""


def _parallel_notify(tmp_path: Any, operational: str | None) -> dict[str, Any]:
    """Three notify processes at once over 60 state changes: what each says it sent, what
    the receiver got, the deliveries' states and what a re-run sends."""
    import subprocess
    import sys

    from smokejumper.smoke.outbox import deliveries_of
    from smokejumper.smoke.service_ops import notify

    receiver = CheckingReceiver(delay=0.02)
    try:
        ws = _workspace(tmp_path / "ws", _webhook("team", receiver.url), operational)
        ids = [alert_id for alert_id, _ in ws.smoke.save([_finding(i) for i in range(40)])]
        for alert_id in ids[:20]:
            ws.smoke.move(alert_id, "acknowledged", "ana")
        ws.close()
        runs = [subprocess.Popen([sys.executable, "-c", NOTIFY_SCRIPT, str(tmp_path / "ws")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
        outputs = [run.communicate(timeout=120) for run in runs]
        ws = _workspace_again(tmp_path / "ws")
        states = {d.state for d in deliveries_of(ws.operational.engine)}
        rerun = notify(ws).total
        ws.close()
        return {"codes": [run.returncode for run in runs], "outputs": outputs,
                "items": receiver.items(), "states": states, "rerun": rerun}
    finally:
        receiver.close()


def _workspace_again(root: Any) -> Any:
    from smokejumper.workspace import Workspace

    return Workspace(root)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres",
                                                          marks=pytest.mark.postgres)])
def test_parallel_notify_runs_never_send_twice(tmp_path, store: str,
                                               request: pytest.FixtureRequest) -> None:
    operational = None if store == "sqlite" else request.getfixturevalue(
        "make_postgres_url")("notify").replace("postgresql://", "postgresql+psycopg://")
    found = _parallel_notify(tmp_path, operational)
    assert found["codes"] == [0, 0, 0], found["outputs"]
    counts = [int(out.strip().splitlines()[-1]) for out, _ in found["outputs"]]
    assert sum(counts) == len(found["items"]) == 60   # 40 opened + 20 acknowledged
    assert len(set(found["items"])) == 60              # no message twice
    assert sum(c > 0 for c in counts) >= 2             # the runs really overlapped
    assert found["states"] == {"sent"}
    assert found["rerun"] == 0                         # a re-run sends nothing


def test_failing_notifier_keeps_its_queue_backs_off_and_survives_a_restart(tmp_path) -> None:
    from datetime import datetime, timedelta

    from smokejumper.smoke.outbox import deliveries_of
    from smokejumper.smoke.service_ops import notify

    receiver = CheckingReceiver()
    receiver.down = True
    try:
        ws = _workspace(tmp_path / "ws", _webhook("team", receiver.url, "retry_after = 60"))
        ws.smoke.save([_finding(i) for i in range(3)])
        t0 = datetime(2025, 5, 1, 12)
        first = notify(ws, now=t0, sleep=lambda _: None)
        assert first.total == 0 and "HTTP 503" in first.failed["team"]
        assert first.waiting_until["team"] == t0 + timedelta(seconds=60)
        [failed] = deliveries_of(ws.operational.engine, "team")
        assert (failed.item, failed.state, failed.attempts) == ("event:1", "failed", 1)
        # still failing after the wait: the wait doubles
        second = notify(ws, now=failed.next_attempt_at, sleep=lambda _: None)
        assert second.total == 0
        [failed_again] = deliveries_of(ws.operational.engine, "team")
        assert failed_again.attempts == 2
        assert failed_again.next_attempt_at == t0 + timedelta(seconds=60 + 120)
        # while it waits, nothing is tried
        receiver.down = False
        assert notify(ws, now=failed.next_attempt_at, sleep=lambda _: None).total == 0
        assert receiver.requests == []
        ws.close()
        ws = _workspace_again(tmp_path / "ws")             # a restart continues the queue
        later = failed_again.next_attempt_at
        assert notify(ws, now=later, sleep=lambda _: None).total == 3
        assert receiver.items() == ["event:1", "event:2", "event:3"]  # in order
        assert notify(ws, now=later).total == 0
        ws.close()
    finally:
        receiver.close()


def test_a_crashed_claim_is_taken_over_only_after_its_lease(tmp_path) -> None:
    from datetime import datetime, timedelta

    from smokejumper.smoke.outbox import LEASE, claim
    from smokejumper.smoke.service_ops import notify

    receiver = CheckingReceiver()
    try:
        ws = _workspace(tmp_path / "ws", _webhook("team", receiver.url))
        ws.smoke.save([_finding(i) for i in range(3)])
        t0 = datetime(2025, 5, 1, 12)
        # a run claimed event 2 and died before sending it
        assert claim(ws.operational.engine, "team", "event:2", "dead-run", t0, 2)
        assert notify(ws, now=t0 + timedelta(minutes=1)).total == 2
        assert receiver.items() == ["event:1", "event:3"]
        assert notify(ws, now=t0 + LEASE - timedelta(seconds=1)).total == 0
        assert notify(ws, now=t0 + LEASE + timedelta(seconds=1)).total == 1
        assert receiver.items() == ["event:1", "event:3", "event:2"]
        assert notify(ws, now=t0 + 2 * LEASE).total == 0
        ws.close()
    finally:
        receiver.close()


def test_queue_is_bounded(tmp_path) -> None:
    from smokejumper.smoke.outbox import deliveries_of
    from smokejumper.smoke.service_ops import notify

    receiver = CheckingReceiver()
    try:
        ws = _workspace(tmp_path / "ws", _webhook("team", receiver.url, "queue_limit = 4"))
        ws.smoke.save([_finding(i) for i in range(10)])
        report = notify(ws)
        assert report.dropped == {"team": 6} and report.total == 4
        assert receiver.items() == [f"event:{i}" for i in range(7, 11)]  # the newest four
        assert sum(d.state == "dropped" for d in deliveries_of(ws.operational.engine)) == 6
        ws.close()
    finally:
        receiver.close()


class Mailbox:
    """A real aiosmtpd SMTP server on a free port, keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[Any] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                mailbox.received.append(envelope)
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def messages(self) -> list[Any]:
        from email import message_from_bytes, policy

        return [message_from_bytes(e.content, policy=policy.default) for e in self.received]

    def close(self) -> None:
        self.controller.stop()


def _email(name: str, port: int, extra: str = "") -> str:
    return (f'[notifiers.{name}]\nkind = "email"\nhost = "127.0.0.1"\nport = {port}\n'
            f'sender = "smoke@example.com"\nrecipients = ["cx@example.com"]\n{extra}\n')


def test_each_state_change_is_mailed_once(tmp_path) -> None:
    from smokejumper.smoke.service_ops import notify

    mailbox = Mailbox()
    try:
        ws = _workspace(tmp_path / "ws", _email("mail", mailbox.port))
        [(alert_id, _)] = ws.smoke.save([_finding(1)])
        ws.smoke.move(alert_id, "acknowledged", "ana", "on it")
        assert notify(ws).total == 2 and notify(ws).total == 0
        ws.close()
        ws = _workspace_again(tmp_path / "ws")
        assert notify(ws).total == 0
        ws.close()
    finally:
        mailbox.close()
    subjects = [m["Subject"] for m in mailbox.messages()]
    assert subjects == [f"Smokejumper: alert {alert_id} open",
                        f"Smokejumper: alert {alert_id} acknowledged"]
    last = mailbox.messages()[-1]
    assert last[DELIVERY_HEADER] == "event:2" and last["Message-ID"].startswith("<event.2.")
    assert "(by ana: on it)" in last.get_content()


def test_daily_digest_by_webhook_and_email_once_per_day(tmp_path) -> None:
    from datetime import datetime, timedelta

    from smokejumper.smoke.service_ops import digest, notify

    receiver = CheckingReceiver()
    mailbox = Mailbox()
    try:
        ws = _workspace(tmp_path / "ws", _webhook("team", receiver.url,
                                                  'digest = "daily"\ndigest_hour = 8')
                        + _email("mail", mailbox.port, 'digest = "daily"\ndigest_hour = 6'))
        saved = ws.smoke.save([_finding(0, "critical", 2.5e6), _finding(1, "high", 1e5),
                               _finding(2, "high"), _finding(3, "medium")])
        ids = [alert_id for alert_id, _ in saved]
        ws.smoke.move(ids[0], "acknowledged", "ana")
        ws.smoke.move(ids[3], "closed", "ben", "noise")
        today = ws.smoke.alert(ids[0]).events[-1].at.date()
        tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time())
        # digest-only notifiers get no message per change
        assert notify(ws, now=tomorrow + timedelta(hours=5), digests=False).total == 0
        # before the send hours nothing is due for today; at 07:00 the mail one is
        early = digest(ws, now=tomorrow + timedelta(hours=7))
        assert [(r.notifier, r.day, r.sent) for r in early.results] == [
            ("team", today - timedelta(days=1), True), ("mail", today, True)]
        result = digest(ws, now=tomorrow + timedelta(hours=9))
        assert [(r.notifier, r.day, r.sent) for r in result.results] == [
            ("team", today, True), ("mail", today, False)]
        # the second run the same day sends nothing, through either notifier
        again = digest(ws, now=tomorrow + timedelta(hours=10))
        assert [r.sent for r in again.results] == [False, False]
        assert digest(ws, day=today).results[0].reason.startswith("already sent")
        data = result.to_dict()
        ws.close()
    finally:
        receiver.close()
        mailbox.close()
    assert data["open"] == 3 and data["by_severity"] == {"critical": 1, "high": 2}
    assert [a["id"] for a in data["top"]] == [ids[0], ids[1], ids[2]]
    assert data["top"][0]["revenue_at_risk"] == 2.5e6 and data["top"][0]["state"] == (
        "acknowledged")
    assert [(c["alert"], c["to_state"]) for c in data["changes"]] == [
        (ids[0], "open"), (ids[1], "open"), (ids[2], "open"), (ids[3], "open"),
        (ids[0], "acknowledged"), (ids[3], "closed")]
    posted = [json.loads(body) for _, body in receiver.requests]
    assert [p["digest"]["day"] for p in posted] == [
        (today - timedelta(days=1)).isoformat(), today.isoformat()]
    assert posted[0]["digest"]["open"] == 0          # nothing existed the day before
    assert posted[1]["digest"]["by_severity"] == {"critical": 1, "high": 2}
    assert "2,500,000 revenue at risk" in posted[1]["text"]
    assert receiver.items() == [f"digest:{p['digest']['day']}" for p in posted]
    [mail] = mailbox.messages()
    assert mail["Subject"] == (f"Smokejumper digest for {today.isoformat()}: 3 alerts open "
                               "(1 critical, 2 high), 6 changes")
    assert "• [critical] alert 1 (acknowledged) nps in touchpoint=app, region=R00" in (
        mail.get_content())
