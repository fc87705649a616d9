"""Tell people: a Slack-compatible webhook (HMAC-signed, retried with backoff) and e-mail.

Only the sending lives here; what to send is :func:`alert_message` of a finding and its
state change. Standard library only (``urllib``, ``smtplib``), so nothing is needed to
install; configured in the toml as ``[notifiers.NAME]`` with ``kind = "webhook"`` or
``"email"`` (see :func:`notifier_from_config`).

>>> signature(b'{"text": "hi"}', "s3cret")
'sha256=f3725fee86e869dfe27711935c17d660ba1bff26a14a7d255491777e2b591590'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from smokejumper.errors import SmokeError

SIGNATURE_HEADER = "X-Smokejumper-Signature"


@dataclass(frozen=True)
class WebhookConfig:
    """POST JSON to ``url``; ``secret`` signs the body (HMAC-SHA256 in
    ``X-Smokejumper-Signature``); ``retries`` more tries after a failure, waiting
    ``backoff``, then twice that, and so on."""

    url: str
    secret: str | None = None
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 10.0


@dataclass(frozen=True)
class EmailConfig:
    """Send through the SMTP server at ``host:port`` from ``sender`` to ``recipients``."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


def signature(body: bytes, secret: str) -> str:
    """``sha256=HEX``: the HMAC-SHA256 of the body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_message(finding: Mapping[str, Any], state: str, alert_id: int | None = None
                  ) -> dict[str, Any]:
    """A Slack-compatible payload (``text``) with the alert's data beside it.

    >>> alert_message({"metric": "nps", "segment": {"touchpoint": "app"},
    ...                "start": "2025-03-03", "severity": "high",
    ...                "before": {"value": 33.7}, "after": {"value": 12.4}}, "open", 7)["text"]
    '[high] alert 7 open: nps in touchpoint=app fell from 33.7 to 12.4 since 2025-03-03'
    """
    segment = ", ".join(f"{k}={v}" for k, v in dict(finding.get("segment", {})).items())
    label = f"alert {alert_id} {state}" if alert_id is not None else state
    text = (f"[{finding.get('severity')}] {label}: {finding.get('metric')} in "
            f"{segment or 'everything'} fell from {finding['before']['value']:.1f} to "
            f"{finding['after']['value']:.1f} since {finding.get('start')}")
    return {"text": text, "alert": {"id": alert_id, "state": state, **dict(finding)}}


def send_webhook(config: WebhookConfig, payload: Mapping[str, Any],
                 sleep: Callable[[float], None] = time.sleep) -> int:
    """POST the payload; retry on a connection error or a 5xx/429 answer with exponential
    backoff; return the HTTP status. A 4xx other than 429 is not retried."""
    import urllib.error
    import urllib.request

    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "smokejumper"}
    if config.secret:
        headers[SIGNATURE_HEADER] = signature(body, config.secret)
    last = ""
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(config.url, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=config.timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                raise SmokeError(f"webhook {config.url} refused the notification: "
                                 f"{last}") from None
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
    raise SmokeError(f"webhook {config.url} failed after {config.retries + 1} tries: {last}")


def send_email(config: EmailConfig, subject: str, text: str) -> None:
    """Send one plain-text e-mail; an SMTP failure is a :class:`SmokeError`."""
    import smtplib

    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Subject"] = subject
    message.set_content(text)
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as client:
            if config.starttls:
                client.starttls()
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise SmokeError(f"cannot send e-mail through {config.host}:{config.port}: "
                         f"{exc}") from None


def notifier_from_config(name: str, section: Mapping[str, Any]) -> WebhookConfig | EmailConfig:
    """A notifier from ``[notifiers.NAME]``: ``kind = "webhook"`` (url, secret, retries)
    or ``"email"`` (host, port, sender, recipients, starttls, username, password)."""
    values = {k: v for k, v in section.items() if k != "kind"}
    try:
        if section.get("kind") == "webhook":
            return WebhookConfig(**values)
        if section.get("kind") == "email":
            values["recipients"] = tuple(values.get("recipients", ()))
            return EmailConfig(**values)
    except TypeError as exc:
        raise SmokeError(f"smokejumper.toml: notifiers.{name}: {exc}") from None
    raise SmokeError(f"smokejumper.toml: notifiers.{name}: kind must be \"webhook\" or "
                     "\"email\"")
