"""Windows process-creation events (Sysmon 1, Security 4688) to rows with ECS field names.

Every process reader (EVTX, JSON, CSV) maps its records to *raw* ECS-named strings first (`sysmon_fields`,
`security_4688_fields`), then `ProcessColumns.table()` types them the same way for all of them:

- `@timestamp`: UTC, microseconds. Sysmon's `UtcTime` (the creation time) wins over the log's own time;
  7-digit fractions are cut to 6; a time without a zone is UTC.
- `process.pid`, `process.parent.pid`: int64; 4688's hex strings (`0x1a2c`) are converted.
- `process.name`, `process.parent.name`: the executable's base name, original case (detectors lower-case).
- `process.hash.*`: Sysmon `Hashes` ("SHA1=..,MD5=..,SHA256=..,IMPHASH=..") split, lower-case hex.
- `user.name`: `DOMAIN\\user` as Sysmon's `User` gives it; for 4688 the new process's account
  (`TargetDomainName\\TargetUserName`) when Windows filled it in, else the creator
  (`SubjectDomainName\\SubjectUserName`). A separate `user.domain` is joined the same way.
- `winlog.event_data.IntegrityLevel`: Sysmon's words; 4688's `MandatoryLabel` SIDs become the same words.
- `-` (Windows' "no value") is null. A 4688 has no parent command line: it stays null.

A value that cannot be typed (a pid that is not a number, a time that is not a time) rejects its record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from nightjar import schema

HASHES = "Hashes"  # raw Sysmon hash list, split by `table()`
SYSMON_CHANNEL = "microsoft-windows-sysmon/operational"
SYSMON_PROVIDER = "microsoft-windows-sysmon"
SECURITY_CHANNEL = "security"
SECURITY_PROVIDER = "microsoft-windows-security-auditing"

PROCESS_SCHEMA = pa.schema(
    [
        (name, pa.timestamp("us", tz="UTC") if name == schema.TIMESTAMP else pa.int64() if name in schema.PROCESS_INT_FIELDS else pa.string())
        for name in schema.PROCESS_FIELDS
    ]
)
_HASH_FIELDS = {"MD5": "process.hash.md5", "SHA1": "process.hash.sha1", "SHA256": "process.hash.sha256", "IMPHASH": "process.hash.imphash"}
_NAME_OF = {"process.executable": "process.name", "process.parent.executable": "process.parent.name"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_CREATION_CODES = frozenset({"1", "4688"})  # `is_process_creation` is False for any other code (after strip)


def is_process_creation(code: object, channel: object = None, provider: object = None) -> bool:
    """True for Sysmon 1 and Security 4688; an unknown channel and provider (None) do not disqualify."""
    code = str(code).strip() if code is not None else ""
    where = {str(channel or "").lower(), str(provider or "").lower()} - {""}
    if code == "1":
        return not where or bool(where & {SYSMON_CHANNEL, SYSMON_PROVIDER})
    if code == "4688":
        return not where or bool(where & {SECURITY_CHANNEL, SECURITY_PROVIDER})
    return False


def sysmon_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Sysmon EID 1 event data -> raw ECS-named values (plus `Hashes`)."""
    row = {ecs: data.get(name) for name, ecs in schema.SYSMON_PROCESS_MAP.items()}
    row[HASHES] = data.get(HASHES)
    row[schema.EVENT_CODE] = "1"
    return row


def security_4688_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Security 4688 event data -> raw ECS-named values. No parent command line exists in 4688."""
    row = {ecs: data.get(name) for name, ecs in schema.SECURITY_4688_MAP.items() if ecs in PROCESS_SCHEMA.names}
    target = _value(data.get("TargetUserName"))
    if target:
        row[schema.USER_NAME] = _joined(_value(data.get("TargetDomainName")), target)
    else:
        row[schema.USER_NAME] = _joined(_value(data.get("SubjectDomainName")), _value(data.get("SubjectUserName")))
    row[schema.EVENT_CODE] = "4688"
    return row


def event_fields(code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The raw ECS-named values of a process-creation event's data, by event code ("1" or "4688")."""
    return sysmon_fields(data) if code == "1" else security_4688_fields(data)


def creation_row(code: str, data: Mapping[str, Any], host: Any = None, time: Any = None) -> dict[str, Any]:
    """Raw ECS row of a process-creation event; `host` and `time` (the log's own) fill what the data lacks."""
    row = event_fields(code, data)
    if _value(row.get(schema.HOST_NAME)) is None:
        row[schema.HOST_NAME] = host
    if _value(row.get(schema.TIMESTAMP)) is None:
        row[schema.TIMESTAMP] = time
    return row


def from_event_record(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The raw ECS row of an XML-shaped event ({"Event": {"System", "EventData"}}), None if not a process creation.

    Both the `evtx` package's JSON (attributes under "#attributes", Data flattened to name: value) and
    the XML-to-JSON exports ("@Name"/"#text" pairs, "EventID": {"#text": 1}) are understood.
    """
    event = record.get("Event", record)
    system = event.get("System") if _is_mapping(event) else None
    if not _is_mapping(system):
        raise ValueError("no Event/System element")
    code = str(_text(system.get("EventID")))
    if code.strip() not in _CREATION_CODES:  # what is_process_creation would say, without its channel checks
        return None
    provider = _attribute(system.get("Provider"), "Name")
    if not is_process_creation(code, system.get("Channel"), provider):
        return None
    time = _attribute(system.get("TimeCreated"), "SystemTime")
    return creation_row(code, event_data(event.get("EventData")), _text(system.get("Computer")), time)


def event_data(node: Any) -> dict[str, Any]:
    """EventData as {name: value} from either JSON rendering of <Data Name="..">value</Data>."""
    if not isinstance(node, Mapping):
        return {}
    data = node.get("Data", node)
    if isinstance(data, Mapping) and ("@Name" in data or "#attributes" in data):
        data = [data]
    if not isinstance(data, list):
        return {k: v if type(v) is str else _text(v) for k, v in node.items() if k != "#attributes"}
    out = {}
    for item in data:
        if isinstance(item, Mapping):
            name = item.get("@Name") or _attribute(item, "Name")
            if name:
                out[str(name)] = _text(item.get("#text"))
    return out


def _is_mapping(node: Any) -> bool:
    """isinstance(node, Mapping), with the common case (a dict from a JSON decoder) checked first."""
    return type(node) is dict or isinstance(node, Mapping)


def _text(node: Any) -> Any:
    if type(node) is str:
        return node
    return node.get("#text") if _is_mapping(node) else node


def _attribute(node: Any, name: str) -> Any:
    if not _is_mapping(node):
        return None
    attributes = node.get("#attributes")
    return attributes.get(name) if _is_mapping(attributes) else node.get("@" + name)


class ProcessColumns:
    """Collects raw rows, then types them into one `PROCESS_SCHEMA` table (plus extra string columns)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = [e for e in extra if e not in PROCESS_SCHEMA.names]
        self.rows: list[Mapping[str, Any]] = []
        self.lines: list[int | None] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: Mapping[str, Any], line: int | None = None) -> None:
        """Queue one row of raw values keyed by ECS name (and `Hashes`, `user.domain`, extras)."""
        self.rows.append(row)
        self.lines.append(line)

    def table(self, limit: int | None = None) -> tuple[pa.Table, list[tuple[int | None, str]]]:
        """The first `limit` queued rows (all by default) typed, and (line, reason) per rejected row; dequeued."""
        rows, lines = self.rows[:limit], self.lines[:limit]
        self.rows, self.lines = ([], []) if limit is None else (self.rows[limit:], self.lines[limit:])
        typed: list[list[Any]] = [[] for _ in PROCESS_SCHEMA.names]
        extras: list[list[Any]] = [[] for _ in self.extra]
        rejected: list[tuple[int | None, str]] = []
        for row, line in zip(rows, lines):
            try:
                values = typed_row(row)
            except ValueError as exc:
                rejected.append((line, str(exc)))
                continue
            for column, value in zip(typed, values):
                column.append(value)
            for column, name in zip(extras, self.extra):
                column.append(_value(row.get(name)))
        arrays = [pa.array(c, type=f.type) for c, f in zip(typed, PROCESS_SCHEMA)]
        arrays += [pa.array(c, type=pa.string()) for c in extras]
        table_schema = pa.schema(list(PROCESS_SCHEMA) + [(e, pa.string()) for e in self.extra])
        return pa.Table.from_arrays(arrays, schema=table_schema), rejected


def typed_row(row: Mapping[str, Any]) -> list[Any]:
    """One raw row -> values in `PROCESS_SCHEMA` order. ValueError when a pid or the time is unreadable."""
    out = dict.fromkeys(PROCESS_SCHEMA.names)
    for name, value in row.items():
        if name in out:
            out[name] = _value(value)
    for name in schema.PROCESS_INT_FIELDS:
        out[name] = parse_pid(row.get(name) if isinstance(row.get(name), int) else out[name], name)
    out[schema.TIMESTAMP] = parse_time(out[schema.TIMESTAMP])
    for executable, name in _NAME_OF.items():
        if out[name] is None and out[executable]:
            out[name] = basename(out[executable])
    hashes = _value(row.get(HASHES))
    if hashes:
        for field, digest in split_hashes(hashes).items():
            out[field] = out[field] or digest
    domain = _value(row.get(schema.USER_DOMAIN))
    if domain and out[schema.USER_NAME] and "\\" not in out[schema.USER_NAME]:
        out[schema.USER_NAME] = _joined(domain, out[schema.USER_NAME])
    level = out["winlog.event_data.IntegrityLevel"]
    if level:
        out["winlog.event_data.IntegrityLevel"] = INTEGRITY_SIDS.get(level.upper(), level)
    return [out[name] for name in PROCESS_SCHEMA.names]


INTEGRITY_SIDS = {
    "S-1-16-0": "Untrusted",
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-8448": "MediumPlus",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
    "S-1-16-20480": "ProtectedProcess",
}


def parse_pid(value: Any, name: str = "process.pid") -> int | None:
    """A pid from an int, a whole float (`2732.0`, as pandas writes), a decimal or hex string (`0x1a2c`).

    ValueError names the field when the value is not a whole number or does not fit in an int64.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        try:
            if text[:2].lower() == "0x":
                number = int(text, 16)
            elif text.endswith(".0") and text[:-2].isdigit():
                number = int(text[:-2])
            else:
                number = int(text)
        except ValueError:
            raise ValueError(f"{name} is not a number: {text[:40]!r}") from None
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ValueError(f"{name} is out of range: {str(number)[:40]}")
    return number


def parse_time(value: Any) -> int | None:
    """Microseconds since the epoch (UTC) from the ISO-like times Windows exports use."""
    if value is None:
        return None
    text = str(value).strip().replace("T", " ", 1)
    if text.endswith("Z"):
        text = text[:-1]
    date_time, dot, fraction = text.partition(".")
    zone = ""
    for sign in "+-":
        if sign in fraction:
            fraction, _, zone = fraction.partition(sign)
            zone = sign + zone
    try:
        stamp = dt.datetime.fromisoformat(date_time + zone)
        micros = int((fraction + "000000")[:6]) if dot else 0
    except ValueError:
        raise ValueError(f"@timestamp is not a time: {str(value)[:40]!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return (stamp - _EPOCH) // dt.timedelta(microseconds=1) + micros


def split_hashes(text: str) -> dict[str, str]:
    """Sysmon's "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." -> {"process.hash.sha1": "..", ...} (lower-case)."""
    out = {}
    for part in text.split(","):
        algorithm, _, digest = part.partition("=")
        field = _HASH_FIELDS.get(algorithm.strip().upper())
        if field and digest.strip():
            out[field] = digest.strip().lower()
    return out


def basename(path: str) -> str:
    """The last component of a Windows or POSIX path, case kept."""
    return path.rstrip("\\/").rsplit("\\", 1)[-1].rsplit("/", 1)[-1]


def _value(value: Any) -> str | None:
    """A string, or null for missing, empty and Windows' '-' placeholder."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return None if text in ("", "-") else text


def _joined(domain: str | None, user: str | None) -> str | None:
    if not user:
        return None
    return f"{domain}\\{user}" if domain else user
