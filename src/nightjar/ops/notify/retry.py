"""Retries with exponential backoff: transient failures are retried, a Retry-After is honoured (capped)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nightjar.ops.notify.base import NotifyError, PermanentError


class TransientError(NotifyError):
    """A failure worth retrying (HTTP 429 or 5xx, connection refused or timed out, SMTP 4xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` after the first attempt; waits `backoff * 2**i`, or the server's Retry-After up to `max_wait`."""

    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait)


#: the sleep function used between attempts (tests replace it to record the waits)
sleep: Callable[[float], None] = time.sleep


def with_retries(attempt_once: Callable[[], None], policy: RetryPolicy) -> int:
    """Call `attempt_once` until it succeeds; returns the number of attempts.

    A `PermanentError` is raised at once; a `TransientError` is retried `policy.retries` times and then
    raised as a NotifyError saying how many attempts were made.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            attempt_once()
            return attempt
        except PermanentError as exc:
            exc.attempts = attempt  # type: ignore[attr-defined]
            raise
        except TransientError as exc:
            if attempt > policy.retries:
                error = NotifyError(f"{exc.message} (gave up after {attempt} attempts)")
                error.attempts = attempt  # type: ignore[attr-defined]
                raise error from None
            sleep(policy.delay(attempt, exc.retry_after))


def policy_from(settings: dict[str, object] | object) -> RetryPolicy:
    """The retry policy of the `notify.*` settings."""
    s = settings  # a Settings mapping
    return RetryPolicy(int(s["notify.retries"]), float(s["notify.backoff"]), float(s["notify.max_wait"]))  # type: ignore[index]
