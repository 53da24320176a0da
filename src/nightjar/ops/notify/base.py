"""The message, the sink base class, the one registry of sinks (`SINKS`), and `NullSink`.

A sink class registers with `@register_sink`; its key is derived from the class name (`EmailSink` ->
`email`). Third-party sinks register the same way, or through the `nightjar.sinks` entry-point group.

Example:
    >>> sorted(k for k in SINKS if k in ("null",))
    ['null']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from nightjar.errors import NightjarError
from nightjar.ops.settings import Settings


class NotifyError(NightjarError):
    """A notification could not be delivered (after its retries)."""


class PermanentError(NotifyError):
    """A failure that retrying cannot fix (HTTP 4xx other than 429, SMTP 5xx, missing secret)."""


@dataclass(frozen=True)
class Message:
    """What a sink sends: a dedupe `key`, a subject, a text body, optional HTML, and the report data."""

    key: str
    subject: str
    text: str
    html: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    severity: str = "info"  # info | warning | critical
    attachment_name: str = "report.json"


@dataclass
class Delivery:
    """The outcome for one sink: `sent`, `deduped`, `rate-limited`, `failed` or `skipped`."""

    sink: str
    status: str
    attempts: int = 0
    error: str = ""

    def __str__(self) -> str:
        extra = f" after {self.attempts} attempt(s)" if self.attempts > 1 or self.status == "failed" else ""
        return f"{self.sink}: {self.status}{extra}" + (f" ({self.error})" if self.error else "")


class Sink:
    """Base class: `enabled(settings)` says whether the sink's destination is set; `send` raises NotifyError."""

    key: ClassVar[str] = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        """True when the settings give this sink somewhere to send to."""
        return False

    def send(self, message: Message) -> int:
        """Deliver `message`; returns the number of attempts made. Raises NotifyError on failure."""
        raise NotImplementedError


#: every sink class by key; the only way sinks are found
SINKS: dict[str, type[Sink]] = {}


def sink_key(cls: type) -> str:
    """`EmailSink` -> `email`, `MyTeamsSink` -> `my_teams`."""
    name = cls.__name__.removesuffix("Sink") or cls.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def register_sink(cls: type[Sink]) -> type[Sink]:
    """Class decorator: add `cls` to `SINKS` under its derived key."""
    cls.key = sink_key(cls)
    SINKS[cls.key] = cls
    return cls


@register_sink
class NullSink(Sink):
    """Accepts everything and sends nothing: notifications switched off (`notify.sinks = ["null"]`)."""

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        return False

    def send(self, message: Message) -> int:
        return 0


def load_entry_point_sinks() -> None:
    """Register sinks that installed packages declare in the `nightjar.sinks` entry-point group."""
    for ep in entry_points(group="nightjar.sinks"):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Sink) and sink_key(cls) not in SINKS:
            register_sink(cls)
