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
