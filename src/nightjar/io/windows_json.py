"""Windows events as JSON: NDJSON, JSON arrays, plain or in archives, to process-creation tables.

Record shapes understood (per record, so mixed files work):
- XML-shaped exports: {"Event": {"System": {...}, "EventData": {"Data": [{"@Name", "#text"}, ...]}}}
- winlogbeat 6 (OTRF 2019): log_name, event_id, event_data{...}, computer_name, @timestamp
- flat (OTRF 2020+, nxlog): Channel, EventID, event data at top level, Hostname, @timestamp
- ECS (winlogbeat 7+), nested or with dotted keys: process.*, winlog.event_id, winlog.event_data.*, host.name

Only Sysmon 1 and Security 4688 records become rows; read / parsed / rejected count those and the
malformed lines (which may have been anything). Other events are counted in a note, nowhere else.
NDJSON is read in 4 MiB chunks of whole lines. When the first line is flat ECS (dotted keys,
`ecs_ndjson`) or a flat event with `EventID` at top level (`flat_ndjson`), each chunk goes through that
fast path first: msgspec decodes the fields it needs (`json_chunks`), Arrow kernels type them, and the lines
it leaves (malformed, unusual, Security 4688 in flat exports) are read here record by record with orjson,
the rows of both merged in input order. Other shapes are read record by record.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from nightjar import schema
from nightjar.io import ecs_ndjson, flat_ndjson
from nightjar.io import process_events as pe
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

CHUNK_BYTES = 4 << 20
READY_BYTES = 8 << 20
BOM = b"\xef\xbb\xbf"
_MARKERS = re.compile(rb'"(Event|EventID|event_id|log_name|event_data|winlog|winlog\.event_id|process\.command_line)"\s*:')
_ZEEK_KEYS = {"ts", "uid", "id.orig_h"}
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<![89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def parse_line(line: bytes) -> Any:
    """One JSON value; lone UTF-16 surrogate escapes (seen in real exports) become U+FFFD.

    JSONDecodeError also for values nested so deeply that orjson runs out of stack (RecursionError).
    """
    try:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            if b"\\u" not in line:
                raise
            return orjson.loads(_LONE_SURROGATE.sub(rb"\\ufffd", line))
    except RecursionError:
        raise orjson.JSONDecodeError("nested too deeply", line.decode("utf-8", "replace"), 0) from None


def record_row(record: Any) -> dict[str, Any] | None:
    """The raw ECS row of one JSON record, None when it is not a process creation; ValueError if unusable."""
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but {type(record).__name__}")
    if "Event" in record:
        return pe.from_event_record(record)
    if "winlog" not in record and ("event_data" in record or "log_name" in record or "event_id" in record):
        code = record.get("event_id")
        if not pe.is_process_creation(code, record.get("log_name"), record.get("source_name")):
            return None
        data = record.get("event_data")
        return pe.creation_row(str(code), data if isinstance(data, dict) else {}, record.get("computer_name"), record.get("@timestamp"))
    if "EventID" in record:
        return flat_row(record)
    return ecs_row(_flattened(record))


def flat_row(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A flat record (event data at top level, OTRF 2020+ / nxlog)."""
    code = record.get("EventID")
    if not pe.is_process_creation(code, record.get("Channel"), record.get("SourceName")):
        return None
    host = record.get("Hostname") or record.get("Computer")
    time = record.get("@timestamp") or record.get("TimeCreated") or record.get("EventTime")
    return pe.creation_row(str(code), record, host, time)


def ecs_row(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """An ECS document with dotted keys: event data from winlog.event_data.*, ECS fields over it."""
    code = doc.get("winlog.event_id", doc.get(schema.EVENT_CODE))
    channel, provider = doc.get("winlog.channel"), doc.get("winlog.provider_name", doc.get(schema.EVENT_PROVIDER))
    if code is not None and str(code) not in ("1", "4688"):
        return None
    if code is None and not _ecs_process_start(doc):
        return None
    if code is not None and not pe.is_process_creation(code, channel, provider):
        return None
    prefix = "winlog.event_data."
    data = {k[len(prefix) :]: v for k, v in doc.items() if k.startswith(prefix)}
    host = doc.get("winlog.computer_name") or doc.get(schema.HOST_NAME) or doc.get("host.hostname")
    row = pe.creation_row(str(code), data, host, doc.get(schema.TIMESTAMP)) if code is not None else {}
    for name in pe.PROCESS_SCHEMA.names + [schema.USER_DOMAIN]:
        if name != schema.HOST_NAME and doc.get(name) not in (None, "", []):
            row[name] = doc[name]
    row.setdefault(schema.HOST_NAME, host)
    row[schema.EVENT_CODE] = None if code is None else str(code)
    return row


def _ecs_process_start(doc: Mapping[str, Any]) -> bool:
    category, kind = doc.get("event.category"), doc.get("event.type")
    if category is None:
        return "process.command_line" in doc or "process.executable" in doc
    return "process" in _as_list(category) and "start" in _as_list(kind)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _flattened(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flattened(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@register
class WindowsJsonReader:
    """Windows event JSON / NDJSON (winlogbeat, ECS, OTRF, XML-shaped exports) -> process table."""

    format = "windows-json"

    def sniff(self, source: Source, head: bytes) -> bool:
        text = head.lstrip(BOM + b" \t\r\n")
        if head.startswith(BOM) and not text:
            return True  # an export with no events: a BOM and nothing else
        if text[:1] not in (b"{", b"["):
            return False
        first = text.split(b"\n", 1)[0]
        try:
            record = parse_line(first)
        except orjson.JSONDecodeError:
            return bool(_MARKERS.search(text)) and b'"id.orig_h"' not in text
        if isinstance(record, list):
            record = record[0] if record else {}
        if not isinstance(record, dict) or _ZEEK_KEYS <= record.keys():
            return False
        keys = set(record) | set(_flattened(record))
        return bool(keys & {"Event", "EventID", "event_id", "log_name", "event_data", "winlog.event_id", "process.command_line", "process.executable"})

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        reading = _Reading(source, report, batch_rows)
        with source.open() as stream:
            head = stream.peek(4096)[:4096].lstrip(BOM + b" \t\r\n")
            if head[:1] == b"[" or (head[:1] == b"{" and _is_document(head)):
                yield from reading.document(stream)
            else:
                yield from reading.lines(stream)
            if stream.truncated:
                report.ended_early(stream.truncated)
        yield from reading.flush(final=True)
        report.ignore(reading.ignored, "non-process-creation events")


def _is_document(head: bytes) -> bool:
    """True when the first line alone is not a JSON value (a pretty-printed single object)."""
    first = head.split(b"\n", 1)[0]
    try:
        parse_line(first)
    except orjson.JSONDecodeError:
        return b"\n" in head
    return False


class _Reading:
    """The state of reading one JSON source: queued rows, the count of ignored events."""

    def __init__(self, source: Source, report: ReadReport, batch_rows: int) -> None:
        self.source, self.report, self.batch_rows = source, report, batch_rows
        self.columns = pe.ProcessColumns()
        self.ignored = 0
        self.fast: ModuleType | None = None  # ecs_ndjson or flat_ndjson: chunks go through its parse_chunk first
        self.ready: list[pa.Table] = []  # typed rows of fast chunks, yielded `batch_rows` at a time
        self.ready_rows = self.ready_bytes = 0

    def flush(self, final: bool = False) -> Iterator[Batch]:
        # fast-path rows go when batch_rows of them or READY_BYTES are ready (holding ~100 MB of long events
        # until batch_rows costs page faults: ~20 % slower on 1.5 KB events)
        while self.ready_rows >= self.batch_rows or (self.ready_rows and (final or self.ready_bytes >= READY_BYTES)):
            rows = pa.concat_tables(self.ready)
            rest = rows.slice(self.batch_rows)
            self.ready, self.ready_rows, self.ready_bytes = ([rest] if rest.num_rows else []), rest.num_rows, rest.nbytes
            yield Batch(rows.slice(0, self.batch_rows), schema.PROCESS, self.source.name)
        while len(self.columns) >= self.batch_rows or (final and len(self.columns)):
            table, rejected = self.columns.table(self.batch_rows)
            for line, reason in rejected:
                self.report.reject(line, reason)
            self.report.ok(table.num_rows)
            if table.num_rows:
                yield Batch(table, schema.PROCESS, self.source.name)

    def add(self, record: Any, line: int | None) -> None:
        try:
            row = record_row(record)
        except (ValueError, TypeError, AttributeError) as exc:
            self.report.reject(line, f"not a usable Windows event: {exc}")
            return
        if row is None:
            self.ignored += 1
        else:
            self.columns.add(row, line)

    def document(self, stream: io.BufferedReader) -> Iterator[Batch]:
        try:
            value = parse_line(stream.read().lstrip(BOM))
        except orjson.JSONDecodeError as exc:
            self.report.reject(getattr(exc, "lineno", None), f"malformed JSON: {exc}")
            return
        for record in value if isinstance(value, list) else [value]:
            self.add(record, None)
            yield from self.flush()

    def lines(self, stream: io.BufferedReader) -> Iterator[Batch]:
        """NDJSON in chunks of whole lines, read into one reused buffer (fresh 4 MiB objects cost page faults)."""
        line_no, buffer, kept = 1, bytearray(CHUNK_BYTES), 0
        while True:
            if kept == len(buffer):  # a line longer than the buffer
                buffer = buffer + bytearray(len(buffer))
            read = stream.readinto(memoryview(buffer)[kept:])
            filled = kept + read
            cut = buffer.rfind(b"\n", 0, filled) + 1 if read else filled
            if read and not cut:
                kept = filled
                continue
            skip = 0
            if line_no == 1:
                while skip < cut and buffer[skip] in BOM:  # as bytes.lstrip(BOM)
                    skip += 1
                end = buffer.find(b"\n", skip, cut)
                first = bytes(buffer[skip : cut if end < 0 else end])
                self.fast = next((path for path in (ecs_ndjson, flat_ndjson) if path.eligible(first)), None)
            chunk = memoryview(buffer)[skip:cut]
            if len(chunk) and self.fast:
                line_no += self._fast(chunk, line_no) - 1
                yield from self.flush()
            elif len(chunk):
                data = bytes(chunk)
                self._slow(data, line_no)
                line_no += data.count(b"\n")
                yield from self.flush()
            del chunk
            kept = filled - cut
            buffer[:kept] = buffer[cut:filled]
            if not read:
                return

    def _fast(self, chunk: memoryview, first_line: int) -> int:
        """One chunk through the fast path, the lines it leaves record by record (rows merged in input order,
        queued in `ready`); returns the chunk's line count."""
        assert self.fast is not None
        parsed = self.fast.parse_chunk(chunk)
        self.ignored += parsed.ignored
        for offset in parsed.slow:
            self._record(parsed.decoded.line(offset).strip(), first_line + offset)
        lines = self.columns.lines
        slow, rejected = self.columns.table()
        for line, reason in rejected:
            self.report.reject(line, reason)
        table = parsed.table
        if slow.num_rows:
            bad = {line for line, _ in rejected}
            offsets = np.array([line - first_line for line in lines if line not in bad], np.int64)
            order = np.argsort(np.concatenate([parsed.offsets, offsets]), kind="stable")
            table = pa.concat_tables([table, slow]).take(order)
        self.report.ok(table.num_rows)
        if table.num_rows:
            self.ready.append(table)
            self.ready_rows, self.ready_bytes = self.ready_rows + table.num_rows, self.ready_bytes + table.nbytes
        return parsed.line_count

    def _slow(self, chunk: bytes, first_line: int) -> None:
        for offset, line in enumerate(chunk.split(b"\n")):
            line = line.strip()
            if line:
                self._record(line, first_line + offset)

    def _record(self, line: bytes, line_no: int) -> None:
        try:
            record = parse_line(line)
        except orjson.JSONDecodeError as exc:
            self.report.reject(line_no, f"malformed JSON: {exc}")
            return
        self.add(record, line_no)
