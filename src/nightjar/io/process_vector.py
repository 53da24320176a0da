"""Vectorised typing of raw process columns: the fast twin of `process_events.typed_row`.

Readers whose records arrive as whole string columns (CSV, NDJSON) type them here with Arrow kernels;
pid columns may also arrive as integers (JSON numbers), which the record path keeps as they are. Any
value this path does not handle exactly as the row path does (hex pids, SID integrity levels, a
separate `user.domain`, times with a zone offset or that do not parse) makes `typed_table` return
None, and the caller types that block row by row instead, so both paths always give the same table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io import process_events as pe
from nightjar.io.process_events import _HASH_FIELDS, _NAME_OF, HASHES, PROCESS_SCHEMA

_INTEGRITY = "winlog.event_data.IntegrityLevel"
_PLACEHOLDERS = pa.array(["", "-"])
_NULL = pa.scalar(None, pa.string())
_ASCII_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace())  # what str.strip() removes from ASCII
_SYSMON = pa.array([pe.SYSMON_CHANNEL, pe.SYSMON_PROVIDER])
_SECURITY = pa.array([pe.SECURITY_CHANNEL, pe.SECURITY_PROVIDER])


def creation_mask(code: pa.Array, channel: pa.Array, provider: pa.Array) -> pa.Array:
    """`process_events.is_process_creation` over string columns (codes as `str(code).strip()` gives them)."""
    channel, provider = (lower(pc.coalesce(c, "")) for c in (channel, provider))
    unknown = pc.and_(pc.equal(channel, ""), pc.equal(provider, ""))
    sysmon = pc.or_(unknown, pc.or_(pc.is_in(channel, value_set=_SYSMON), pc.is_in(provider, value_set=_SYSMON)))
    security = pc.or_(unknown, pc.or_(pc.is_in(channel, value_set=_SECURITY), pc.is_in(provider, value_set=_SECURITY)))
    mask = pc.or_(pc.and_(pc.equal(code, "1"), sysmon), pc.and_(pc.equal(code, "4688"), security))
    return pc.fill_null(mask, False)


def _strings(raw: pa.Table, name: str) -> pa.Array:
    """A column as strings, null for missing, empty and '-' (as `_value`)."""
    if name not in raw.column_names:
        return pa.nulls(raw.num_rows, pa.string())
    column = raw.column(name).combine_chunks().cast(pa.string())
    if not _any(pc.less_equal(pc.binary_length(column), 1)):
        return column  # no value short enough to be a placeholder
    return pc.if_else(pc.is_in(column, value_set=_PLACEHOLDERS), _NULL, column)


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _pids(values: pa.Array) -> pa.Array | None:
    if _any(pc.starts_with(values, "0x", ignore_case=True)):
        return None
    try:  # common shapes first, "1234" and "1234.0" (a failed cast costs ~0.2 µs a value)
        return pc.cast(_without_point_zero(values), pa.int64())  # plain decimal digits (no spaces: the cast refuses them)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pc.cast(pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"\.0$", ""), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _without_point_zero(values: pa.Array) -> pa.Array:
    """Values without a final ".0" (a float's text); what the regex below does when the cast then succeeds."""
    return pc.if_else(pc.ends_with(values, ".0"), pc.utf8_slice_codeunits(values, 0, -2), values)


def _times(values: pa.Array) -> pa.Array | None:
    for text in (_without_utc_mark(values), values):  # common shapes first (a failed cast costs ~0.5 µs a value)
        if text is not None:
            try:
                return pc.cast(pc.cast(text, pa.timestamp("us")), pa.timestamp("us", tz="UTC"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"(Z|[+-]00:?00)$", "")  # UTC marks
    if _any(pc.match_substring_regex(text, r"\d[+-]\d\d:?\d\d$")):
        return None  # other zone offsets: the row path converts them
    text = pc.replace_substring_regex(text, r"(\.\d{6})\d+$", r"\1")
    try:
        return pc.cast(pc.cast(text, pa.timestamp("us")), pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _without_utc_mark(values: pa.Array) -> pa.Array | None:
    """Times that all end in "Z" or all in "+00:00", without it; None otherwise.

    When the cast of the result succeeds (no spaces, at most 6 fraction digits, no other offset: the
    cast refuses them), it reads what the regex path below would have read.
    """
    if values.null_count == len(values):
        return None
    for mark in ("Z", "+00:00"):
        if pc.all(pc.ends_with(values, mark)).as_py():
            return pc.utf8_slice_codeunits(values, 0, -len(mark))
    return None


def basenames(paths: pa.Array) -> pa.Array:
    """`process_events.basename` of each path (null stays null)."""
    if paths.null_count == len(paths):
        return paths
    unified = pc.replace_substring(pc.utf8_rtrim(paths, characters="\\/"), "/", "\\")
    parts = pc.split_pattern(unified, "\\", max_splits=1, reverse=True)
    last = pc.max_element_wise(pc.subtract(parts.offsets[1:], 1), 0)
    return pc.if_else(pc.is_valid(paths), pc.take(parts.values, last), _NULL)


def split_hashes(hashes: pa.Array) -> dict[str, pa.Array]:
    """`process_events.split_hashes` over a column: {"process.hash.md5": digests or null, ...}; the last one named wins."""
    if not _ascii(hashes):  # str.upper / str.lower differ from Arrow's on some letters: the row function
        split = [pe.split_hashes(text) if text else {} for text in hashes.to_pylist()]
        return {field: pa.array([found.get(field) for found in split], pa.string()) for field in _HASH_FIELDS.values()}
    parts = pc.split_pattern(hashes, ",")
    rows = pc.list_parent_indices(parts).to_numpy()
    pieces = pc.split_pattern(pc.list_flatten(parts), "=", max_splits=1)
    starts, paired = pieces.offsets[:-1], pc.equal(pc.list_value_length(pieces), 2)
    digest = pc.if_else(paired, pc.take(pieces.values, pc.if_else(paired, pc.add(starts, 1), starts)), "")
    algorithm = pc.ascii_upper(pc.ascii_trim(pc.take(pieces.values, starts), characters=_ASCII_SPACE))
    digest = pc.ascii_lower(pc.ascii_trim(digest, characters=_ASCII_SPACE))
    found = {}
    for name, field in _HASH_FIELDS.items():
        hit = pc.and_(pc.equal(algorithm, name), pc.not_equal(digest, "")).to_numpy(zero_copy_only=False)
        where, digests = rows[hit], digest.filter(hit)
        last = np.append(where[:-1] != where[1:], True) if len(where) else np.empty(0, bool)
        index = np.full(len(hashes), -1)
        index[where[last]] = np.flatnonzero(last)
        found[field] = pc.take(digests, pa.array(index, mask=index < 0))
    return found


def lower(values: pa.Array) -> pa.Array:
    """`str.lower()` of each value (Arrow's kernel where the values are ASCII)."""
    if _ascii(values):
        return pc.ascii_lower(values)
    return pa.array([None if v is None else v.lower() for v in values.to_pylist()], pa.string())


def _ascii(values: pa.Array) -> bool:
    return pc.all(pc.string_is_ascii(values)).as_py() is not False


def typed_table(raw: pa.Table, extra: list[str]) -> pa.Table | None:
    """`raw` string columns (ECS names, `Hashes`, extras) typed as PROCESS_SCHEMA + extras, or None."""
    if raw.num_rows == 0 or _strings(raw, schema.USER_DOMAIN).null_count != raw.num_rows:
        return None
    numbers = {name for name in schema.PROCESS_INT_FIELDS if name in raw.column_names and pa.types.is_integer(raw.schema.field(name).type)}
    columns = {name: _strings(raw, name) for name in PROCESS_SCHEMA.names if name not in numbers}
    if _any(pc.starts_with(columns[_INTEGRITY], "S-1-", ignore_case=True)):
        return None
    for name in schema.PROCESS_INT_FIELDS:
        if name in numbers:  # JSON numbers: the record path keeps them as they are
            columns[name] = raw.column(name).combine_chunks().cast(pa.int64())
            continue
        pids = _pids(columns[name])
        if pids is None:
            return None
        columns[name] = pids
    times = _times(columns[schema.TIMESTAMP])
    if times is None:
        return None
    columns[schema.TIMESTAMP] = times
    for executable, name in _NAME_OF.items():
        if columns[name].null_count:
            columns[name] = pc.coalesce(columns[name], basenames(columns[executable]))
    hashes = _strings(raw, HASHES)
    if hashes.null_count != len(hashes):
        for field, found in split_hashes(hashes).items():
            columns[field] = pc.coalesce(columns[field], found)
    arrays = [columns[f.name].cast(f.type) for f in PROCESS_SCHEMA] + [_strings(raw, e) for e in extra]
    table_schema = pa.schema(list(PROCESS_SCHEMA) + [(e, pa.string()) for e in extra])
    return pa.Table.from_arrays(arrays, schema=table_schema)
