"""The audit log: `events.jsonl`, one JSON object per line, only ever appended to.

Each record has `time` (ISO UTC), `action` (register, promote, rollback, seed, verify-failed,
promote-refused: the promotion gate said no),
`model`, `version`, `alias`, `previous` (the version the alias pointed at before), `reason` and `user`.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from nightjar.registry.files import append_json_line
from nightjar.registry.manifest import utc_now

ACTIONS = ("register", "promote", "rollback", "seed", "verify-failed", "promote-refused")


def current_user() -> str:
    """The login name, or `unknown` where there is none (some containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def log_event(path: Path, action: str, model: str, version: int | None, alias: str | None = None,
              previous: int | None = None, reason: str = "") -> dict[str, Any]:
    """Append one record to the log at `path`; returns it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    record = {"time": utc_now(), "action": action, "model": model, "version": version, "alias": alias,
              "previous": previous, "reason": reason, "user": current_user()}
    append_json_line(path, record)
    return record


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every record of the log at `path`, oldest first; a line torn by a crash is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
