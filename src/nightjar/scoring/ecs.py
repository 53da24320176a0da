"""An alert as an ECS document, and the stable `event.id` that makes re-scanning idempotent.

The event's own fields are kept (nested by their dotted ECS names); list columns without an ECS home
(`domain`, `id`, `family` of a domain list) go under `nightjar.input.*`, a bare `url` becomes
`url.full`. Nightjar adds `nightjar.<detector>.score|alert|reasons|model|entity`, `event.kind: alert`,
`rule.name`, `threat.technique.id` where known, and Sigma-style `tags` (`attack.t1568.002`).

`event.id` = the first 32 hex digits of sha256(detector, model *name*, the record's identifying
content). The model version is left out on purpose: re-scanning the same input after a model update
finds the same alert again rather than a new one (the store keeps the first; the version that raised
it stays in `nightjar.<detector>.model`). The identifying content is the input record itself (every
field, canonically serialised, source file name excluded), so two identical lines are one alert, and
the same record in a renamed or moved file is the same alert.

Example:
    >>> doc = alert_document("dga", "dga@1", {"domain": "xjwqkzpvbt.net"}, 0.97, "random-looking label")
    >>> doc["event"]["kind"], doc["nightjar"]["dga"]["score"], doc["rule"]["name"]
    ('alert', 0.97, 'Nightjar DGA: machine-generated domain')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd


@dataclass(frozen=True)
class Rule:
    """What an alert of one detector is called and which ATT&CK technique it points at."""

    name: str
    technique_id: str
    technique_name: str
    tactic: str


RULES: dict[str, Rule] = {
    "dga": Rule("Nightjar DGA: machine-generated domain", "T1568.002", "Dynamic Resolution: Domain Generation Algorithms",
                "command-and-control"),
    "url": Rule("Nightjar URL: phishing or malicious link", "T1566.002", "Phishing: Spearphishing Link", "initial-access"),
    "lotl": Rule("Nightjar LotL: suspicious use of a system binary", "T1059", "Command and Scripting Interpreter", "execution"),
    "beacon": Rule("Nightjar beacon: periodic command-and-control traffic", "T1071", "Application Layer Protocol",
                   "command-and-control"),
}

#: columns, most specific first, that name what an alert is about, per detector
ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "dga": ("domain.normalized", "domain", "dns.question.name"),
    "url": ("url", "url.full", "url.original"),
    "lotl": ("process.command_line", "process.executable", "process.name"),
    "beacon": (),  # the pair: source.ip -> destination.domain|ip:port
}

#: for detectors that aggregate (one row per entity), the output columns that identify the row
IDENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "beacon": ("source.ip", "destination.ip", "destination.port", "destination.domain", "first_seen"),
}
#: columns of a scored frame that belong to the scoring, not to the input record
SCORING_COLUMNS = ("score", "alert", "reasons")
#: non-ECS list columns that do have an ECS home
RENAMES = {"url": "url.full"}
#: record fields that never take part in the identity of a record
NOT_IDENTITY = ("nightjar.source.file",)


def rule_for(kind: str) -> Rule:
    """The rule of detector `kind` (a generic one for kinds not listed)."""
    return RULES.get(kind) or Rule(f"Nightjar {kind}", "", "", "")


def entity_of(kind: str, record: dict[str, Any]) -> str:
    """What the alert is about: a domain, a URL, a command line, or `src -> dst:port` for a pair."""
    if kind == "beacon" or not ENTITY_COLUMNS.get(kind, ("",)):
        dst = next((str(record[k]) for k in ("destination.domain", "destination.ip") if _present(record.get(k)) and record[k] != ""), "")
        port = record.get("destination.port")
        return f"{record.get('source.ip', '')} -> {dst}" + (f":{_plain(port)}" if _present(port) else "")
    for col in ENTITY_COLUMNS.get(kind, ()):
        value = record.get(col)
        if _present(value) and str(value):
            return str(value)
    return ""


def event_id(kind: str, model_name: str, record: dict[str, Any]) -> str:
    """The stable id of an alert: detector, model name (no version) and the record's content."""
    content = {k: _plain(v) for k, v in record.items() if k not in NOT_IDENTITY and _present(v)}
    blob = orjson.dumps([kind, model_name, content], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()[:32]


def alert_document(kind: str, model_ref: str, record: dict[str, Any], score: float, reasons: str,
                   extra: dict[str, Any] | None = None, source_file: str | None = None,
                   identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ECS document of one alert on `record` (a flat dict of the input's columns).

    `extra` holds the detector's own output columns (under `nightjar.<kind>`); `identity` is what
    makes the event.id (default: the whole record).
    """
    rule = rule_for(kind)
    model_name = model_ref.split("@", 1)[0]
    doc: dict[str, Any] = {}
    for key, value in record.items():
        if _present(value):
            _put(doc, _ecs_name(key), _plain(value))
    entity = entity_of(kind, {**record, **(extra or {})})
    _put(doc, "event.kind", "alert")
    _put(doc, "event.id", event_id(kind, model_name, record if identity is None else identity))
    _put(doc, "event.category", ["intrusion_detection"])
    _put(doc, "event.created", datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))
    _put(doc, "rule.name", rule.name)
    technique = (extra or {}).get("threat.technique.id")
    if _present(technique) and technique:
        rule = Rule(rule.name, str(technique), "", rule.tactic)
    if rule.technique_id:
        _put(doc, "threat.framework", "MITRE ATT&CK")
        _put(doc, "threat.technique.id", [rule.technique_id])
        if rule.technique_name:
            _put(doc, "threat.technique.name", [rule.technique_name])
        _put(doc, "threat.tactic.name", [rule.tactic])
    tags = [f"attack.{rule.tactic.replace('-', '_')}"] if rule.tactic else []
    tags += [f"attack.{rule.technique_id.lower()}"] if rule.technique_id else []
    _put(doc, "tags", tags + [f"nightjar.{kind}"])
    ours: dict[str, Any] = {"score": float(score), "alert": True, "reasons": reasons, "model": model_ref, "entity": entity}
    for key, value in (extra or {}).items():
        if _present(value) and key not in ours and not key.startswith("threat."):
            ours[key] = _plain(value)
    nightjar = doc.setdefault("nightjar", {})
    nightjar[kind] = ours
    if source_file:
        nightjar.setdefault("source", {})["file"] = source_file
    return doc


def flat_get(doc: dict[str, Any], dotted: str) -> Any:
    """`doc["host"]["name"]` for "host.name" (None when absent)."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --- helpers -----------------------------------------------------------------------------------
def _ecs_name(column: str) -> str:
    if column in RENAMES:
        return RENAMES[column]
    if "." in column or column.startswith("@"):
        return column
    return f"nightjar.input.{column}"


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a nested field; a clash with a leaf (e.g. `url` and `url.full`) keeps the flat key."""
    parts = dotted.split(".") if not dotted.startswith("@") else [dotted]
    node = doc
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            doc[dotted] = value
            return
        node = child
    node[parts[-1]] = value


_ALWAYS = (str, bool, int, list, tuple, dict, np.ndarray)


def _present(value: Any) -> bool:
    """False for None, NaN, NaT and pandas' NA; True for everything else (including empty lists)."""
    if value is None or value is pd.NaT:
        return False
    if isinstance(value, _ALWAYS):
        return True
    if isinstance(value, float):
        return value == value  # not NaN
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _plain(value: Any) -> Any:
    """A JSON-ready value: timestamps as ISO 8601 UTC, numpy scalars as Python, arrays as lists."""
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
