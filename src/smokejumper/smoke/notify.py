"""Tell people: a Slack-compatible webhook (HMAC-signed, retried with backoff) and e-mail.

Only the sending and the wording live here: :func:`alert_message` for one state change,
:func:`digest_message` for the daily digest. Standard library only (``urllib``,
``smtplib``), so nothing is needed to install; configured in the toml as
``[notifiers.NAME]`` with ``kind = "webhook"`` or ``"email"`` (see
:func:`notifier_settings`). The queue (each message once, retries later) is
:mod:`.outbox`; the runs that use both are in :mod:`.service_ops`.

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
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, Literal

from smokejumper.errors import SmokeError

SIGNATURE_HEADER = "X-Smokejumper-Signature"
#: the queue item a message stands for (``event:ID``, ``digest:DAY``): receivers may drop a
#: repeat (possible only when a run crashed between the receiver's answer and its record)
DELIVERY_HEADER = "X-Smokejumper-Delivery"


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


@dataclass(frozen=True)
class NotifierSettings:
    """One ``[notifiers.NAME]``: where to send (``transport``) and what.

    ``each_change``: one message per alert state change (default, unless a digest is
    configured); ``digest = "daily"``: one summary a day, sent from ``digest_hour``
    (0-23, UTC) on for the day before; ``queue_limit``: at most this many changes wait
    (older ones beyond it are dropped); ``retry_after``: seconds before the first retry of
    a failed message, doubled after each failure (at most an hour)."""

    name: str
    transport: WebhookConfig | EmailConfig
    each_change: bool = True
    digest: Literal["daily"] | None = None
    digest_hour: int = 8
    queue_limit: int = 1000
    retry_after: timedelta = timedelta(seconds=60)


def signature(body: bytes, secret: str) -> str:
    """``sha256=HEX``: the HMAC-SHA256 of the body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alert_message(finding: Mapping[str, Any], state: str, alert_id: int | None = None,
                  who: str | None = None, note: str | None = None) -> dict[str, Any]:
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
    if who:
        text += f" (by {who}" + (f": {note})" if note else ")")
    return {"text": text, "alert": {"id": alert_id, "state": state, **dict(finding)},
            "change": {"state": state, "who": who, "note": note}}


def send_webhook(config: WebhookConfig, payload: Mapping[str, Any],
                 sleep: Callable[[float], None] = time.sleep,
                 headers: Mapping[str, str] | None = None) -> int:
    """POST the payload; retry on a connection error or a 5xx/429 answer with exponential
    backoff; return the HTTP status. A 4xx other than 429 is not retried."""
    import urllib.error
    import urllib.request

    body = json.dumps(payload, default=str).encode()
    sent_headers = {"Content-Type": "application/json", "User-Agent": "smokejumper",
                    **dict(headers or {})}
    if config.secret:
        sent_headers[SIGNATURE_HEADER] = signature(body, config.secret)
    last = ""
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(config.url, data=body, headers=sent_headers,
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


def send_email(config: EmailConfig, subject: str, text: str,
               delivery: str | None = None) -> None:
    """Send one plain-text e-mail; an SMTP failure is a :class:`SmokeError`. ``delivery``
    (the queue item) makes a stable ``Message-ID``, so a mail client shows a repeat once."""
    import smtplib

    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Subject"] = subject
    if delivery:
        message["Message-ID"] = f"<{delivery.replace(':', '.')}.{_domain(config.sender)}>"
        message[DELIVERY_HEADER] = delivery
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


def _domain(sender: str) -> str:
    return "smokejumper@" + (sender.rsplit("@", 1)[-1] if "@" in sender else "localhost")


SETTINGS_KEYS = ("kind", "each_change", "digest", "digest_hour", "queue_limit",
                 "retry_after")


def notifier_from_config(name: str, section: Mapping[str, Any]) -> WebhookConfig | EmailConfig:
    """Where ``[notifiers.NAME]`` sends: ``kind = "webhook"`` (url, secret, retries,
    backoff) or ``"email"`` (host, port, sender, recipients, starttls, username,
    password)."""
    values = {k: v for k, v in section.items() if k not in SETTINGS_KEYS}
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


def notifier_settings(name: str, section: Mapping[str, Any]) -> NotifierSettings:
    """``[notifiers.NAME]`` in full: the transport and :class:`NotifierSettings`.

    >>> s = notifier_settings("team", {"kind": "webhook", "url": "http://x/hook",
    ...                                "digest": "daily", "digest_hour": 7})
    >>> s.digest, s.digest_hour, s.each_change
    ('daily', 7, False)
    """
    digest = section.get("digest")
    if digest not in (None, "daily"):
        raise SmokeError(f"smokejumper.toml: notifiers.{name}: digest must be \"daily\"")
    hour = section.get("digest_hour", 8)
    if not isinstance(hour, int) or not 0 <= hour <= 23:
        raise SmokeError(f"smokejumper.toml: notifiers.{name}: digest_hour must be 0-23")
    limit = section.get("queue_limit", 1000)
    if not isinstance(limit, int) or limit < 1:
        raise SmokeError(f"smokejumper.toml: notifiers.{name}: queue_limit must be >= 1")
    return NotifierSettings(
        name=name, transport=notifier_from_config(name, section),
        each_change=bool(section.get("each_change", digest is None)), digest=digest,
        digest_hour=hour, queue_limit=limit,
        retry_after=timedelta(seconds=float(section.get("retry_after", 60))))


def digest_message(digest: Mapping[str, Any]) -> dict[str, Any]:
    """The daily digest as a Slack-compatible payload (``text``, with the data beside it
    under ``digest``); ``digest`` is :meth:`~.service_ops.Digest.to_dict`.

    >>> lines = digest_message({"day": "2025-05-01", "open": 1, "by_severity": {"high": 1},
    ...     "changes": [{"alert": 7, "from_state": "open", "to_state": "acknowledged",
    ...                  "who": "ana", "metric": "nps", "segment": {"touchpoint": "app"}}],
    ...     "top": [{"id": 7, "state": "acknowledged", "severity": "high", "metric": "nps",
    ...              "segment": {"touchpoint": "app"}, "start": "2025-03-03",
    ...              "before": 33.7, "after": 12.4, "customers_affected": 920,
    ...              "revenue_at_risk": 1500000.0}]})["text"].splitlines()
    >>> print("\\n".join(lines[:3]))
    Smokejumper digest for 2025-05-01: 1 alert open (1 high), 1 change
    • alert 7 nps in touchpoint=app: open → acknowledged by ana
    Open alerts, most severe first:
    >>> lines[3].split(": ")[1]
    '33.7 → 12.4, 920 customers affected, 1,500,000 revenue at risk'
    """
    text = [digest_subject(digest)]
    for change in digest["changes"]:
        text.append(f"• alert {change['alert']} {change['metric']} in "
                     f"{_segment(change['segment'])}: {change['from_state'] or 'new'} → "
                     f"{change['to_state']} by {change['who']}")
    if digest["top"]:
        text.append("Open alerts, most severe first:")
    for alert in digest["top"]:
        revenue = alert.get("revenue_at_risk")
        text.append(
            f"• [{alert['severity']}] alert {alert['id']} ({alert['state']}) "
            f"{alert['metric']} in {_segment(alert['segment'])} since {alert['start']}: "
            f"{_number(alert['before'])} → {_number(alert['after'])}, "
            f"{alert['customers_affected']} customers affected"
            + (f", {revenue:,.0f} revenue at risk" if revenue else ""))
    return {"text": "\n".join(text), "digest": dict(digest)}


def digest_subject(digest: Mapping[str, Any]) -> str:
    """One line: the day, open alerts by severity, the number of changes."""
    counts = ", ".join(f"{n} {severity}" for severity, n in digest["by_severity"].items())
    opened = digest["open"]
    changes = len(digest["changes"])
    return (f"Smokejumper digest for {digest['day']}: {opened} alert{'s' * (opened != 1)} "
            f"open" + (f" ({counts})" if counts else "") +
            f", {changes} change{'s' * (changes != 1)}")


def _segment(segment: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "everything"


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"
