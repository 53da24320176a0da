"""Dedupe and rate-limit state: a small SQLite file of what was sent, to which sink, when."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (sink TEXT NOT NULL, key TEXT NOT NULL, sent_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sent_by_key ON sent (sink, key, sent_at);
CREATE INDEX IF NOT EXISTS sent_by_time ON sent (sink, sent_at);
"""
KEEP = 30 * 86400.0  # rows older than this are pruned


def default_state_path() -> Path:
    """$NIGHTJAR_HOME/notify-state.sqlite, else $XDG_DATA_HOME (~/.local/share)/nightjar/notify-state.sqlite."""
    if home := os.environ.get("NIGHTJAR_HOME"):
        return Path(home).expanduser() / "notify-state.sqlite"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "nightjar" / "notify-state.sqlite"


class NotifyState:
    """`seen(sink, key, window)`, `sent_since(sink, seconds)`, `record(sink, key)` over one SQLite file."""

    def __init__(self, path: Path | str, clock: object = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock

    def now(self) -> float:
        """The current time from the clock (tests pass a fake one)."""
        return float(self._clock())  # type: ignore[operator]

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.executescript(SCHEMA)
        return conn

    def seen(self, sink: str, key: str, window: float) -> bool:
        """True when `key` was sent to `sink` within the last `window` seconds."""
        with self._connect() as conn:
            row = conn.execute("SELECT 1 FROM sent WHERE sink = ? AND key = ? AND sent_at > ? LIMIT 1",
                               (sink, key, self.now() - window)).fetchone()
        return row is not None

    def sent_since(self, sink: str, seconds: float) -> int:
        """Messages sent to `sink` in the last `seconds`."""
        with self._connect() as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM sent WHERE sink = ? AND sent_at > ?",
                                    (sink, self.now() - seconds)).fetchone()
        return int(count)

    def record(self, sink: str, key: str) -> None:
        """Remember a successful send (and forget sends older than 30 days)."""
        now = self.now()
        with self._connect() as conn:
            conn.execute("INSERT INTO sent (sink, key, sent_at) VALUES (?, ?, ?)", (sink, key, now))
            conn.execute("DELETE FROM sent WHERE sent_at < ?", (now - KEEP,))
