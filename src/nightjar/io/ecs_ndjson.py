"""The fast path for flat ECS process NDJSON (dotted keys, one event per line), as Elastic exports it.

`pyarrow.json` with an explicit schema parses a whole chunk in C++; the result is typed exactly like
the per-record path (`process_events.PROCESS_SCHEMA`). Anything this path does not handle the same
way as the per-record path (a missing `event.code`, a pid given as text, a SID integrity level, a
separate `user.domain`, a malformed line) returns None, and the caller parses that chunk record by
record instead, so both paths always agree.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from nightjar import schema
from nightjar.io.process_events import PROCESS_SCHEMA

PROCESS_CODES = pa.array(["1", "4688"])
_EXTRA = [(schema.USER_DOMAIN, pa.string())]
# parsed loosely, typed after: times as text (ISO 8601 with "T" or a space), pids as numbers (exports
# written through pandas give 2732.0)
_LOOSE = {schema.TIMESTAMP: pa.string(), **{name: pa.float64() for name in schema.PROCESS_INT_FIELDS}}
_PARSE = pa_json.ParseOptions(
    explicit_schema=pa.schema([(f.name, _LOOSE.get(f.name, f.type)) for f in PROCESS_SCHEMA] + _EXTRA),
    unexpected_field_behavior="ignore",
)
_NAME_OF = {"process.executable": "process.name", "process.parent.executable": "process.parent.name"}
_INTEGRITY = "winlog.event_data.IntegrityLevel"


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


def parse_chunk(chunk: bytes) -> tuple[pa.Table, int] | None:
    """(process-creation rows, count of other events) of a chunk of whole lines, or None to fall back."""
    try:
        table = pa_json.read_json(
            io.BytesIO(chunk), read_options=pa_json.ReadOptions(use_threads=False, block_size=len(chunk) + 1), parse_options=_PARSE
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    codes = table.column(schema.EVENT_CODE)
    if codes.null_count or table.column(schema.USER_DOMAIN).null_count != table.num_rows:
        return None
    levels = table.column(_INTEGRITY)
    if pc.any(pc.starts_with(levels, "S-1-16")).as_py():
        return None
    keep = pc.is_in(codes, value_set=PROCESS_CODES)
    process = table.filter(keep).drop_columns([schema.USER_DOMAIN])
    for name in schema.PROCESS_INT_FIELDS:
        pids = process.column(name)
        if not pc.all(pc.equal(pc.floor(pids), pids)).as_py() in (True, None):
            return None
    try:
        times = pc.cast(process.column(schema.TIMESTAMP), pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # e.g. 7-digit fractions or epoch numbers: the record path reads those
    process = process.set_column(process.schema.get_field_index(schema.TIMESTAMP), schema.TIMESTAMP, times)
    for executable, name in _NAME_OF.items():
        derived = pc.struct_field(pc.extract_regex(process.column(executable), r"(?P<n>[^\\/]+)$"), "n")
        filled = pc.coalesce(process.column(name), derived)
        process = process.set_column(process.schema.get_field_index(name), name, filled)
    return process.cast(PROCESS_SCHEMA), table.num_rows - process.num_rows
