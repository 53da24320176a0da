"""Vectorised typing of raw process columns: the fast twin of `process_events.typed_row`.

Readers whose records arrive as whole string columns (CSV) type them here with Arrow kernels. Any
value this path does not handle exactly as the row path does (hex pids, SID integrity levels, a
separate `user.domain`, times with a zone offset or that do not parse) makes `typed_table` return
None, and the caller types that block row by row instead, so both paths always give the same table.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io.process_events import _HASH_FIELDS, _NAME_OF, HASHES, PROCESS_SCHEMA

_INTEGRITY = "winlog.event_data.IntegrityLevel"
_PLACEHOLDERS = pa.array(["", "-"])


def _strings(raw: pa.Table, name: str) -> pa.Array:
    """A column as strings, null for missing, empty and '-' (as `_value`)."""
    if name not in raw.column_names:
        return pa.nulls(raw.num_rows, pa.string())
    column = raw.column(name).combine_chunks().cast(pa.string())
    return pc.if_else(pc.is_in(column, value_set=_PLACEHOLDERS), pa.scalar(None, pa.string()), column)


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _pids(values: pa.Array) -> pa.Array | None:
    if _any(pc.starts_with(values, "0x", ignore_case=True)):
        return None
    try:
        return pc.cast(pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"\.0$", ""), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _times(values: pa.Array) -> pa.Array | None:
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"(Z|[+-]00:?00)$", "")  # UTC marks
    if _any(pc.match_substring_regex(text, r"\d[+-]\d\d:?\d\d$")):
        return None  # other zone offsets: the row path converts them
    text = pc.replace_substring_regex(text, r"(\.\d{6})\d+$", r"\1")
    try:
        return pc.cast(pc.cast(text, pa.timestamp("us")), pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def typed_table(raw: pa.Table, extra: list[str]) -> pa.Table | None:
    """`raw` string columns (ECS names, `Hashes`, extras) typed as PROCESS_SCHEMA + extras, or None."""
    if raw.num_rows == 0 or _strings(raw, schema.USER_DOMAIN).null_count != raw.num_rows:
        return None
    columns = {name: _strings(raw, name) for name in PROCESS_SCHEMA.names}
    if _any(pc.starts_with(columns[_INTEGRITY], "S-1-")):
        return None
    for name in schema.PROCESS_INT_FIELDS:
        pids = _pids(columns[name])
        if pids is None:
            return None
        columns[name] = pids
    times = _times(columns[schema.TIMESTAMP])
    if times is None:
        return None
    columns[schema.TIMESTAMP] = times
    for executable, name in _NAME_OF.items():
        base = pc.struct_field(pc.extract_regex(columns[executable], r"(?P<b>[^\\/]*)[\\/]*$"), "b")
        columns[name] = pc.coalesce(columns[name], pc.if_else(pc.equal(base, ""), pa.scalar(None, pa.string()), base))
    hashes = _strings(raw, HASHES)
    if hashes.null_count != len(hashes):
        for algorithm, field in _HASH_FIELDS.items():
            found = pc.struct_field(pc.extract_regex(hashes, rf"(?i)(?:^|,)\s*{algorithm}=\s*(?P<d>[^,\s]+)"), "d")
            columns[field] = pc.coalesce(columns[field], pc.utf8_lower(found))
    arrays = [columns[f.name].cast(f.type) for f in PROCESS_SCHEMA] + [_strings(raw, e) for e in extra]
    table_schema = pa.schema(list(PROCESS_SCHEMA) + [(e, pa.string()) for e in extra])
    return pa.Table.from_arrays(arrays, schema=table_schema)
