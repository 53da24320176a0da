"""The fast path for flat ECS process NDJSON (dotted keys, one event per line), as Elastic exports it.

Each line is decoded (`json_chunks`) into the fields that `windows_json.ecs_row` reads, the values become
Arrow columns, and `process_vector.typed_table` types them as the record path does. A line this path does not
read the same way is left to the record path: one without `event.code` (the record path then looks at
`event.category`), with `EventID`, `winlog.event_id` or an event-data field that the record path maps, with a
nested object or a value of an unexpected type. A chunk that `typed_table` declines (a separate
`user.domain`, a SID integrity level, a hex pid, ...) is left to the record path whole.
"""

from __future__ import annotations

from itertools import compress
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io import json_chunks, process_vector
from nightjar.io.json_chunks import ABSENT, REQUIRED
from nightjar.io.process_events import PROCESS_SCHEMA

CODES = pa.array(["1", "4688"])
_TEXT = (str | None, None)
_HOSTS = ["winlog.computer_name", schema.HOST_NAME, "host.hostname"]  # `a or b or c` in ecs_row
# event-data keys that sysmon_fields / security_4688_fields read (IntegrityLevel is also the ECS column)
_EVENT_DATA = {*schema.SYSMON_PROCESS_MAP, *schema.SECURITY_4688_MAP, "Hashes", "TargetDomainName"} - {"IntegrityLevel"}
# keys whose object values `_flattened` would turn into dotted keys that ecs_row reads
_PARENTS = ["process", "process.parent", "process.pe", "process.hash", "host", "user", "event", "winlog", "winlog.event_data"]

FIELDS = json_chunks.Fields(
    "EcsProcessEvent",
    {
        **{name: (int | float | None, None) if name in schema.PROCESS_INT_FIELDS else _TEXT for name in PROCESS_SCHEMA.names},
        schema.EVENT_CODE: (str, REQUIRED),  # absent or null: ecs_row decides by event.category
        schema.USER_DOMAIN: _TEXT,
        "winlog.channel": _TEXT,
        "event.provider": _TEXT,
        "winlog.provider_name": (str, None),  # a null one would hide event.provider: left to the record path
        "winlog.computer_name": _TEXT,
        "host.hostname": _TEXT,
        **{key: ABSENT for key in ["EventID", "Event", "event_data", "log_name", "event_id", "winlog.event_id"]},
        **{f"winlog.event_data.{key}": ABSENT for key in sorted(_EVENT_DATA)},
        **{key: (str | int | float | bool | None, None) for key in _PARENTS},
    },
)


def eligible(first_line: bytes) -> bool:
    """True when the first record is a flat ECS process event with an event code."""
    try:
        record: Any = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(record, dict)
        and schema.EVENT_CODE in record
        and ("process.command_line" in record or "process.executable" in record)
        and not any(isinstance(v, dict) for v in record.values())
    )


def parse_chunk(chunk: bytes) -> json_chunks.Parsed:
    """The process-creation rows of a chunk of whole lines, and the lines left to the record path."""
    decoded = json_chunks.decode(chunk, FIELDS)
    structs = decoded.structs
    code = FIELDS.strings(structs, schema.EVENT_CODE)
    provider = pc.coalesce(FIELDS.strings(structs, "winlog.provider_name"), FIELDS.strings(structs, "event.provider"))
    keep = json_chunks.mask(process_vector.creation_mask(code, FIELDS.strings(structs, "winlog.channel"), provider))
    table = _table(list(compress(structs, keep))) if keep.any() else PROCESS_SCHEMA.empty_table()
    return json_chunks.parsed(decoded, keep, table)


def _table(structs: list[Any]) -> pa.Table | None:
    """Process rows typed as the record path types them, or None when `typed_table` declines."""
    columns: dict[str, pa.Array] = {}
    for name in PROCESS_SCHEMA.names:
        if name in schema.PROCESS_INT_FIELDS:
            pids = _pids(FIELDS.values(structs, name))
            if pids is None:
                return None
            columns[name] = pids
        elif name != schema.HOST_NAME:
            columns[name] = FIELDS.strings(structs, name)
    hosts = [FIELDS.strings(structs, key) for key in _HOSTS]
    columns[schema.HOST_NAME] = pc.coalesce(json_chunks.nonempty(hosts[0]), json_chunks.nonempty(hosts[1]), hosts[2])
    columns[schema.USER_DOMAIN] = FIELDS.strings(structs, schema.USER_DOMAIN)
    return process_vector.typed_table(pa.table(columns), [])


def _pids(values: list[Any]) -> pa.Array | None:
    """JSON numbers as the record path reads them: ints as they are, whole floats below 1e16 (`2732.0`).

    None when a value needs the record path: a negative or fractional float or one of 1e16 and up (str() of
    those does not parse as an int), an int beyond int64 (a reject there).
    """
    try:
        numbers = pa.array(values)
        if pa.types.is_floating(numbers.type):
            if any(type(v) is int and abs(v) > 2**53 for v in values):
                return None  # not exact as a double
            whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.and_(pc.greater_equal(numbers, 0), pc.less(numbers, 1e16)))
            if not pc.all(whole).as_py() in (True, None):
                return None
        return numbers.cast(pa.int64())
    except (pa.ArrowInvalid, OverflowError):
        return None
