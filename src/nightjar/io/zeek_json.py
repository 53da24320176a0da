"""Zeek JSON lines: pyarrow.json with an explicit schema from the known Zeek field types.

`ts` is epoch seconds or an ISO 8601 string (both appear in the wild; the first record decides, and
the salvage path converts the other form). Field names may use `_` for `.` (`id_orig_h`). When
pyarrow refuses a block, it is salvaged line by line with orjson: a bad line is rejected with its
line number and field, the good lines are parsed again by pyarrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from nightjar.io import zeek_types as zt
from nightjar.io.base import Batch
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_stream import PIECE, BlockError, BlockStream, drop_cut_line, parse_checked

_NUMBER = (int, float)


class JsonLayout:
    """The explicit schema of one JSON log and how to check and name its fields."""

    def __init__(self, path: str, keys: list[str], ts_text: bool) -> None:
        self.path = path
        self.ts_text = ts_text
        known = zt.KNOWN_FIELDS.get(path, zt.ID_FIELDS)
        underscore = any(k.startswith("id_") for k in keys)
        self.types: dict[str, str] = {}  # JSON key -> Zeek type
        for name, ztype in known.items():
            self.types[name.replace(".", "_") if underscore and name.startswith("id.") else name] = ztype
        self.schema = pa.schema([(key, self._arrow_type(ztype)) for key, ztype in self.types.items()])

    def _arrow_type(self, ztype: str) -> pa.DataType:
        if ztype == "time":
            return pa.string() if self.ts_text else pa.float64()
        if zt.is_list(ztype):
            return pa.list_(zt.parse_type(ztype[ztype.index("[") + 1 : -1]))
        return zt.parse_type(ztype)

    def parse(self, data: bytes) -> pa.Table:
        """One block through pyarrow.json, typed and ECS-named, or BlockError."""
        try:
            table = pj.read_json(
                pa.BufferReader(data),
                read_options=pj.ReadOptions(use_threads=False, block_size=max(PIECE, len(data) + 1)),
                parse_options=pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer"),
            )
            names, arrays = [], []
            for key, values in zip(table.column_names, table.columns):
                ztype = self.types.get(key)
                if ztype is not None:
                    values = zt.finish(values, ztype, ",", None)
                name = zt.column_name(self.path, zt.dotted(key))
                if name in names:  # both `id.orig_h` and `id_orig_h` in one file
                    i = names.index(name)
                    arrays[i] = pc.coalesce(arrays[i], pc.cast(values, arrays[i].type))
                    continue
                names.append(name)
                arrays.append(values)
            return pa.table(arrays, names=names)
        except (pa.ArrowException, ValueError) as exc:
            raise BlockError(str(exc)) from exc

    def check(self, line: bytes) -> tuple[str | None, str | None, bytes]:
        """Validate one line: (reason, field, normalised line); reason is None when the line is good."""
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return f"not JSON: {exc}", None, line
        if not isinstance(record, dict):
            return "not a JSON object", None, line
        for key, ztype in self.types.items():
            value = record.get(key)
            if value is None:
                continue
            if ztype == "time":
                value = _time_value(value, self.ts_text)
                if value is None:
                    return f"not a valid time: {str(record[key])[:60]!r}", key, line
                record[key] = value
            elif not _valid(value, ztype):
                return f"not a valid {ztype}: {str(value)[:60]!r}", key, line
        return None, None, orjson.dumps(record)


def _valid(value: object, ztype: str) -> bool:
    if zt.is_list(ztype):
        inner = ztype[ztype.index("[") + 1 : -1]
        return isinstance(value, list) and all(v is None or _valid(v, inner) for v in value)
    target = zt.parse_type(ztype)
    if pa.types.is_boolean(target):
        return isinstance(value, bool)
    if pa.types.is_integer(target):
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if pa.types.is_floating(target):
        return isinstance(value, _NUMBER) and not isinstance(value, bool)
    return isinstance(value, str)


def _time_value(value: object, as_text: bool) -> float | str | None:
    """A `ts` value in the form the layout expects (epoch seconds or ISO text), or None when invalid."""
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        if not abs(value) < 9.2e12:  # also NaN
            return None
        if not as_text:
            return float(value)
        try:
            return datetime.fromtimestamp(value, timezone.utc).isoformat()
        except (ValueError, OverflowError, OSError):  # outside years 1-9999
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return moment.isoformat() if as_text else moment.timestamp()
    return None


def salvage_block(data: bytes, first_line: int, layout: JsonLayout, report: ReadReport) -> list[pa.Table]:
    """Check a block line by line with orjson, reject the bad lines, parse the good ones."""
    good: list[tuple[int, bytes]] = []
    for offset, raw in enumerate(data.split(b"\n")):
        raw = raw.strip()
        if not raw or raw.startswith(b"#"):
            continue
        reason, field_name, line = layout.check(raw)
        if reason is not None:
            report.reject(first_line + offset, reason, field_name)
        else:
            good.append((first_line + offset, line))
    return parse_checked(good, layout.parse, report)


def json_batches(source: Source, report: ReadReport, batch_rows: int) -> Iterator[Batch]:
    """Read one Zeek JSON lines log as batches of at most `batch_rows` rows."""
    with BlockStream(source) as stream:
        head = stream.read(PIECE)
        first = _first_record(head)
        path = first.get("_path") if isinstance(first.get("_path"), str) else None
        path = zt.canonical_path(path or zt.path_from_filename(source.filename) or zt.path_from_fields(list(first)) or "unknown")
        if path == "unknown":
            report.note("log type unknown: no _path field, no known file name or fields")
        layout = JsonLayout(path, list(first), ts_text=isinstance(first.get("ts"), str))
        kind = zt.kind_of(path)
        size = min(1 << 26, max(1 << 16, batch_rows * max(100, len(orjson.dumps(first)))))
        first_line = 1
        for block in stream.blocks(size, head):
            if stream.truncated and not block.endswith(b"\n"):
                block = drop_cut_line(block, first_line, report)
            lines = block.count(b"\n") + (not block.endswith(b"\n"))
            try:
                table = layout.parse(block)
                if table.num_rows != lines - block.count(b"\n\n") - block.startswith(b"\n"):
                    raise BlockError("records do not match lines")
                report.ok(table.num_rows)
                tables = [table]
            except BlockError:
                tables = salvage_block(block, first_line, layout, report)
            first_line += block.count(b"\n")
            for table in tables:
                for start in range(0, table.num_rows, batch_rows):
                    yield Batch(table.slice(start, batch_rows), kind, source.name)
        if stream.truncated:
            report.ended_early(stream.truncated, report.read)


def _first_record(head: bytes) -> dict[str, object]:
    for line in head.split(b"\n", 20)[:20]:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            return record
    return {}
