"""A generic JSON webhook signed with HMAC-SHA256 over the timestamp and the body.

Headers: `X-Nightjar-Timestamp: <unix seconds>` and `X-Nightjar-Signature: sha256=<hex>` where the
hex is HMAC-SHA256(secret, f"{timestamp}.".encode() + body). Receivers check the signature with
`verify_signature` and reject timestamps outside a tolerance, so a captured post cannot be replayed.
The secret comes only from the environment (NIGHTJAR_WEBHOOK_SECRET); without it nothing is sent.

Example:
    >>> ts, sig = sign(b"{}", "k", timestamp=1700000000)
    >>> verify_signature(b"{}", "k", ts, sig, now=1700000010)
    True
    >>> verify_signature(b"{}", "k", ts, sig, now=1700009999)
    False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from nightjar.ops.notify import http_post
from nightjar.ops.notify.base import Message, PermanentError, Sink, register_sink
from nightjar.ops.notify.retry import policy_from, with_retries

SIGNATURE_HEADER = "X-Nightjar-Signature"
TIMESTAMP_HEADER = "X-Nightjar-Timestamp"
SECRET_ENV = "NIGHTJAR_WEBHOOK_SECRET"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> tuple[str, str]:
    """(timestamp, `sha256=<hex>`) for `body`."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    digest = hmac.new(secret.encode("utf-8"), ts.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return ts, f"sha256={digest}"


def verify_signature(body: bytes, secret: str, timestamp: str, signature: str, tolerance: float = 300.0,
                     now: float | None = None) -> bool:
    """True when `signature` matches and `timestamp` is within `tolerance` seconds of now (constant-time compare)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    if age > tolerance:
        return False
    _, expected = sign(body, secret, int(timestamp))
    return hmac.compare_digest(expected, signature or "")


def webhook_payload(message: Message) -> dict[str, Any]:
    """The JSON posted: key, subject, severity, text and the report."""
    return {"source": "nightjar", "key": message.key, "subject": message.subject, "severity": message.severity,
            "text": message.text, "report": message.data}


@register_sink
class WebhookSink(Sink):
    """Posts signed JSON to `webhook.url`."""

    @classmethod
    def enabled(cls, settings: Any) -> bool:
        return bool(settings["webhook.url"])

    def send(self, message: Message) -> int:
        secret = self.settings.secret(SECRET_ENV)
        if not secret:
            raise PermanentError(f"{SECRET_ENV} is not set: refusing to send an unsigned webhook")
        body = json.dumps(webhook_payload(message), sort_keys=True, default=str).encode("utf-8")
        url, timeout = self.settings["webhook.url"], float(self.settings["notify.timeout"])

        def attempt() -> None:
            ts, signature = sign(body, secret)  # a fresh timestamp per attempt: a retry is not a replay
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: signature}
            http_post.post(url, body, headers, timeout)

        return with_retries(attempt, policy_from(self.settings))
