"""The fast path for flat Windows event NDJSON (event data at top level, OTRF 2020+ / nxlog), any channel.

Each line is decoded (`json_chunks`) into the fields that `windows_json.flat_row` reads for a Sysmon 1
event. Other events are classified as the record path classifies them and counted, and Sysmon 1 events
become Arrow columns that `process_vector.typed_table` types as the record path does. Left to the record
path: Security 4688 events (hex pids, SID labels, account names: rare next to Sysmon), lines without
`EventID` or with a key that sends them elsewhere (`Event`, `event_data`, `log_name`, `event_id`), values of
an unexpected type (a number where text is expected, an `EventID` in quotes), and chunks that `typed_table`
declines.
"""

from __future__ import annotations

from itertools import compress
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io import json_chunks, process_vector
from nightjar.io.json_chunks import ABSENT, REQUIRED, nonempty
from nightjar.io.process_events import HASHES, PROCESS_SCHEMA

_TEXT = (str | None, None)
_TIMES = ["@timestamp", "TimeCreated", "EventTime"]  # the log's own time, `a or b or c` in flat_row
_OTHER_SHAPES = ["Event", "event_data", "log_name", "event_id"]

FIELDS = json_chunks.Fields(
    "FlatWindowsEvent",
    {
        "EventID": (int | None, REQUIRED),
        **{key: _TEXT for key in ["Channel", "SourceName", "Hostname", "Computer", *_TIMES, *schema.SYSMON_PROCESS_MAP, HASHES]},
        **{key: ABSENT for key in _OTHER_SHAPES},
    },
)


def eligible(first_line: bytes) -> bool:
    """True when the first record is a flat Windows event (an `EventID` at top level)."""
    try:
        record: Any = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and "EventID" in record and not any(key in record for key in _OTHER_SHAPES)


def parse_chunk(chunk: bytes) -> json_chunks.Parsed:
    """The Sysmon process-creation rows of a chunk of whole lines, and the lines left to the record path."""
    decoded = json_chunks.decode(chunk, FIELDS)
    structs = decoded.structs
    code = _codes(FIELDS.values(structs, "EventID"))
    creation = process_vector.creation_mask(code, FIELDS.strings(structs, "Channel"), FIELDS.strings(structs, "SourceName"))
    sysmon = json_chunks.mask(pc.and_(creation, pc.equal(code, "1")))
    table = _table(list(compress(structs, sysmon))) if sysmon.any() else PROCESS_SCHEMA.empty_table()
    return json_chunks.parsed(decoded, sysmon, table, slow=json_chunks.mask(creation) & ~sysmon)


def _codes(values: list[int | None]) -> pa.Array:
    """Event IDs as `str(code)` gives them."""
    try:
        return pa.array(values, pa.int64()).cast(pa.string())
    except (pa.ArrowInvalid, OverflowError):  # beyond int64
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _table(structs: list[Any]) -> pa.Table | None:
    """Sysmon 1 rows as `creation_row(sysmon_fields(record), host, time)` gives them, typed; None if declined."""
    columns = {ecs: FIELDS.strings(structs, key) for key, ecs in schema.SYSMON_PROCESS_MAP.items()}
    columns[HASHES] = FIELDS.strings(structs, HASHES)
    columns[schema.EVENT_CODE] = pa.array(["1"] * len(structs), pa.string())
    columns[schema.HOST_NAME] = pc.coalesce(nonempty(FIELDS.strings(structs, "Hostname")), FIELDS.strings(structs, "Computer"))
    times = [FIELDS.strings(structs, key) for key in _TIMES]
    logged = pc.coalesce(nonempty(times[0]), nonempty(times[1]), times[2])
    created = columns[schema.TIMESTAMP]  # UtcTime, unless null, empty or "-"
    use_created = pc.and_(pc.is_valid(created), pc.invert(pc.is_in(created, value_set=pa.array(["", "-"]))))
    columns[schema.TIMESTAMP] = pc.if_else(use_created, created, logged)
    return process_vector.typed_table(pa.table(columns), [])
