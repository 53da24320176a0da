"""Windows `.evtx` files to process-creation tables, with the Rust-based `evtx` package.

Each record is rendered to JSON by `evtx.PyEvtxParser.records_json()` and mapped by
`process_events.from_event_record`. Only Sysmon 1 and Security 4688 records become rows; read / parsed /
rejected count those and the records the parser could not decode (which may have been anything), each
rejection located by its EVTX record number. Other events are counted in a note, nowhere else.

A plain file is handed to the parser by path; a compressed file or an archive member is read into
memory first (the parser needs to seek).

A plain file can also be read in parts (`parts`, `batches(part=)`): runs of PART_CHUNKS chunks. An EVTX
chunk is self-contained (its records, string and template tables), so a part is parsed as the file's header
followed by its chunks, and read-ahead workers parse the parts of one large file side by side.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import evtx as pyevtx
import orjson
import pyarrow as pa

from nightjar import schema
from nightjar.errors import InputError, Location
from nightjar.io import process_events as pe
from nightjar.io import process_vector
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

MAGIC = b"ElfFile\x00"
#: the file header's size and a chunk's, fixed by the format
HEADER_BYTES, CHUNK_BYTES = 4096, 65536
#: chunks per part (4 MB, about 1,500 Sysmon records): small enough that two workers start and end together
PART_CHUNKS = 64
_RECORD_NUMBER = re.compile(r"record number (\d+)")


@register
class EvtxReader:
    """Windows XML event log files (Sysmon Operational, Security)."""

    format = "evtx"
    read_ahead = True  # parsing takes ~60 % of `nightjar score lotl`'s time: worth child processes on large files
    accepts = frozenset({"part"})  # optional arguments of `batches` (see nightjar.io.base)

    def sniff(self, source: Source, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def parts(self, source: Source) -> int:
        """Runs of PART_CHUNKS chunks in a plain file; 1 (the whole) for a compressed file or an archive member."""
        if not source.is_plain_file:
            return 1
        chunks = -(-max(0, source.path.stat().st_size - HEADER_BYTES) // CHUNK_BYTES)
        return max(1, -(-chunks // PART_CHUNKS))

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS,
                part: int | None = None) -> Iterator[Batch]:
        columns = pe.ProcessColumns()
        ignored = 0
        for number, record in _records(source, report, part):
            try:
                row = pe.from_event_record(record)
            except (ValueError, TypeError, AttributeError) as exc:
                report.reject(number, f"EVTX record {number}: not a usable event: {exc}")
                continue
            if row is None:
                ignored += 1
                continue
            columns.add(row, number)
            if len(columns) >= batch_rows:
                yield from _flush(columns, report, source)
        yield from _flush(columns, report, source)
        report.ignore(ignored, "non-process-creation events")


def _records(source: Source, report: ReadReport, part: int | None = None) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """(record number, decoded JSON) per record of the file or of its `part`; undecodable records are rejected and skipped."""
    try:
        if part is not None:
            parser = pyevtx.PyEvtxParser(_part(source, part), 1)
        else:
            parser = pyevtx.PyEvtxParser(str(source.path) if source.is_plain_file else _in_memory(source), 1)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot read EVTX: {exc}", Location(source.name)) from exc
    records = parser.records_json()
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (RuntimeError, OSError) as exc:
            match = _RECORD_NUMBER.search(str(exc))
            number = int(match.group(1)) if match else None
            report.reject(number, f"EVTX record {number if number is not None else '?'} cannot be decoded: {_short(exc)}")
            continue
        number = record.get("event_record_id")
        try:
            yield number, orjson.loads(record["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            report.reject(number, f"EVTX record {number}: unreadable JSON rendering: {exc}")


def _part(source: Source, part: int) -> io.BytesIO:
    """The file's header followed by the chunks of `part`: an EVTX file of its own."""
    with open(source.path, "rb") as stream:
        header = stream.read(HEADER_BYTES)
        stream.seek(HEADER_BYTES + part * PART_CHUNKS * CHUNK_BYTES)
        return io.BytesIO(header + stream.read(PART_CHUNKS * CHUNK_BYTES))


def _in_memory(source: Source) -> io.BytesIO:
    with source.open() as stream:
        data = stream.read()
        truncated = stream.truncated
    if truncated:
        raise InputError(f"compressed EVTX ends early ({truncated})", Location(source.name))
    return io.BytesIO(data)


def _flush(columns: pe.ProcessColumns, report: ReadReport, source: Source) -> Iterator[Batch]:
    """The queued rows as one typed batch: column-wise when `process_vector` can type them, else row by row."""
    if not len(columns):
        return
    table = process_vector.typed_table(_raw_columns(columns.rows), [])
    if table is not None:
        columns.rows, columns.lines = [], []
        rejected: list[tuple[int | None, str]] = []
    else:  # some value needs the row path (or a row is to be rejected): it gives the same table
        table, rejected = columns.table()
    for number, reason in rejected:
        report.reject(number, f"EVTX record {number}: {reason}")
    report.ok(table.num_rows)
    if table.num_rows:
        yield Batch(table, schema.PROCESS, source.name)


_RAW_FIELDS = [*pe.PROCESS_SCHEMA.names, pe.HASHES, schema.USER_DOMAIN]


_RAW_SCHEMA = pa.schema([(name, pa.string()) for name in _RAW_FIELDS])


def _raw_columns(rows: list[dict[str, Any]]) -> pa.Table:
    """The raw values of `rows` as string columns (numbers as `str()` gives them, as the row path reads them)."""
    try:
        return pa.Table.from_pylist(rows, schema=_RAW_SCHEMA)  # every value a string or None: the common case
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.table({name: pa.array([_raw(row.get(name)) for row in rows], pa.string()) for name in _RAW_FIELDS})


def _raw(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."
