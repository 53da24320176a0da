"""One HTTP POST with urllib (no extra dependency), turned into success, TransientError or PermanentError."""

from __future__ import annotations

import email.utils
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from nightjar.ops.notify.base import PermanentError
from nightjar.ops.notify.retry import TransientError


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST `body` to `url`; returns the status. 429 and 5xx and network errors are transient, other 4xx permanent."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"User-Agent": "nightjar-notify", **headers})
    host = urllib.request.urlparse(url).netloc
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https checked by the setting)
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        text = f"{host} answered HTTP {exc.code}" + (f": {detail}" if detail else "")
        if exc.code == 429 or exc.code >= 500:
            raise TransientError(text, parse_retry_after(exc.headers.get("Retry-After"))) from None
        raise PermanentError(text) from None
    except urllib.error.URLError as exc:
        raise TransientError(f"cannot reach {host}: {exc.reason}") from None
    except (TimeoutError, socket.timeout, ConnectionError, OSError) as exc:
        raise TransientError(f"cannot reach {host}: {exc}") from None
