"""Send one message to every configured sink, with dedupe and a rate limit; never raises for a delivery.

A failing sink is retried (see `retry`), then reported as a `Delivery` with status `failed`: the
report or scan that asked for the notification carries on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nightjar.errors import ConfigError
from nightjar.ops.notify.base import SINKS, Delivery, Message, NotifyError, load_entry_point_sinks
from nightjar.ops.notify.state import NotifyState, default_state_path
from nightjar.ops.settings import Settings

HOUR = 3600.0


def selected_sinks(settings: Settings) -> list[str]:
    """The sink keys to use: `notify.sinks`, or every registered sink whose destination is set.

    ConfigError for a name no sink registered.
    """
    load_entry_point_sinks()
    names = list(settings["notify.sinks"])
    unknown = [n for n in names if n not in SINKS]
    if unknown:
        raise ConfigError(f"unknown sink(s) {', '.join(map(repr, unknown))} in notify.sinks; known: {', '.join(sorted(SINKS))}")
    return names or [key for key, cls in SINKS.items() if cls.enabled(settings)]


def notify(message: Message, settings: Settings, state: NotifyState | None = None) -> list[Delivery]:
    """Deliver `message` to each selected sink; one `Delivery` per sink, whatever happened."""
    try:
        names = selected_sinks(settings)
    except ConfigError as exc:
        return [Delivery("config", "failed", 0, exc.message)]
    if not names:
        return []
    if state is None:
        state = NotifyState(Path(settings["notify.state_file"]) if settings["notify.state_file"] else default_state_path())
    deliveries = []
    for name in names:
        deliveries.append(_deliver(name, message, settings, state))
    return deliveries


def _deliver(name: str, message: Message, settings: Settings, state: NotifyState) -> Delivery:
    cls = SINKS[name]
    if name != "null" and not cls.enabled(settings):
        return Delivery(name, "skipped", 0, "no destination configured")
    try:
        if state.seen(name, message.key, float(settings["notify.dedupe_window"])):
            return Delivery(name, "deduped", 0, f"{message.key!r} already sent within notify.dedupe_window")
        if state.sent_since(name, HOUR) >= int(settings["notify.max_per_hour"]):
            return Delivery(name, "rate-limited", 0, f"{settings['notify.max_per_hour']} messages sent in the last hour")
    except OSError as exc:  # sqlite3.Error is not an OSError; both are reported, neither stops the send
        return Delivery(name, "failed", 0, f"notification state unusable: {exc}")
    except Exception as exc:  # noqa: BLE001 (a broken state file must not stop the report)
        return Delivery(name, "failed", 0, f"notification state unusable: {exc}")
    try:
        attempts = cls(settings).send(message)
    except NotifyError as exc:
        return Delivery(name, "failed", int(getattr(exc, "attempts", 1)), exc.message)
    except Exception as exc:  # noqa: BLE001 (a sink bug is reported, never raised into the caller's job)
        return Delivery(name, "failed", 1, f"{type(exc).__name__}: {exc}")
    try:
        state.record(name, message.key)
    except Exception as exc:  # noqa: BLE001
        return Delivery(name, "sent", attempts, f"sent, but not recorded for dedupe: {exc}")
    return Delivery(name, "sent", attempts)


def summary_line(deliveries: list[Delivery]) -> str:
    """`email: sent; slack: failed after 4 attempt(s) (...)`."""
    return "; ".join(str(d) for d in deliveries) if deliveries else "no notification sinks configured"


def as_dicts(deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """JSON-ready."""
    return [vars(d).copy() for d in deliveries]
