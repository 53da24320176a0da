"""Zeek TSV logs: our own `#` header parsing, then pyarrow.csv block by block.

Each block of whole lines is parsed by pyarrow.csv with the types from `#types` (the fast path). When
a block holds anything pyarrow cannot take (a wrong number of fields, an unparsable number or time, a
stray carriage return), the block is salvaged line by line: bad lines are rejected with their line
number and field, and the good ones are parsed again by pyarrow. Blocks are read from `Source.open()`,
which stops cleanly at a truncated gzip and keeps everything before the break.

Given `fields` (per event kind, the ECS fields wanted), only those columns are converted and finished
(see `zeek_tsv_layout`); which lines are parsed or rejected, and why, does not change.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pcsv

from nightjar.io import zeek_types as zt
from nightjar.io.base import Batch, Fields
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_stream import BlockError, BlockStream, drop_cut_line, parse_checked
from nightjar.io.zeek_tsv_layout import Layout, TsvHeader, build_layout, parse_header

MIN_BLOCK = 1 << 16
MAX_BLOCK = 1 << 26
_HEAD_BYTES = 1 << 16


def parse_block(data: bytes, layout: Layout) -> tuple[pa.Table, int]:
    """The fast path: one block of whole lines through pyarrow.csv -> (table, physical lines), or BlockError.

    Only single-byte searches (memchr speed) touch the raw bytes; multi-byte searches over a whole
    block would cost more than the parse.
    """
    if b"\r" in data or layout.width < 2 or not _utf8(data):
        raise BlockError("carriage return, invalid UTF-8 or a single-column log: salvage")
    counts = {"comment": 0, "bad": 0, "empty": 0}

    def on_invalid(row: pcsv.InvalidRow) -> str:
        text = row.text
        counts["empty" if not text else "comment" if text.startswith("#") else "bad"] += 1
        return "skip"

    h = layout.header
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(
                column_names=layout.arrow_names, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=h.separator, quote_char=False, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=layout.convert_options,
        )
        if counts["bad"] or counts["comment"] != _comment_lines(data):
            raise BlockError(f"{counts['bad']} rows with a wrong number of fields")
        lines = table.num_rows + sum(counts.values())
        table = layout.finish(table, escaped=b"\\" in data, empties=b"(" in data)
        return table, lines
    except (pa.ArrowException, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise BlockError(str(exc)) from exc


def _utf8(data: bytes) -> bool:
    """True when `data` is valid UTF-8 (pyarrow's row handler cannot take anything else). ASCII is fast."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _comment_lines(data: bytes) -> int:
    """Lines that start with `#` (usually just a `#close` at the very end: search from the first `#`)."""
    first = data.find(b"#")
    if first == -1:
        return 0
    return data.count(b"\n#", max(0, first - 1)) + data.startswith(b"#")


def salvage_block(data: bytes, first_line: int, layout: Layout, report: ReadReport) -> list[pa.Table]:
    """Parse a block line by line: reject the bad lines (with line and field), parse the good ones."""
    good: list[tuple[int, bytes]] = []
    for offset, raw in enumerate(data.split(b"\n")):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw or raw.startswith(b"#"):
            _note_new_header(raw, layout, report)
            continue
        line_no = first_line + offset
        if not layout.columns:
            report.reject(line_no, "no #fields header before the first record")
            continue
        reason, field_name, line = layout.check(raw.decode("utf-8", "backslashreplace"))
        if reason is not None:
            report.reject(line_no, reason, field_name)
        else:
            good.append((line_no, line.encode("utf-8")))
    return parse_checked(good, lambda data: parse_block(data, layout)[0], report)


def _note_new_header(raw: bytes, layout: Layout, report: ReadReport) -> None:
    if raw.startswith(b"#fields") and raw.decode("utf-8", "replace").split(layout.header.separator)[1:] != layout.header.fields:
        report.note("a #fields header in the middle of the file differs from the first; rows were read with the first")


def read_header(stream: BlockStream) -> tuple[TsvHeader, bytes, list[bytes]]:
    """The header, the bytes after it, and a sample of the first data lines."""
    head = stream.read(_HEAD_BYTES)
    end = 0  # where the header ends
    while True:
        while head.startswith(b"#", end) and (nl := head.find(b"\n", end)) != -1:
            end = nl + 1
        if not head.startswith(b"#", end):
            break
        more = stream.read(_HEAD_BYTES)
        if not more:
            end = len(head)
            break
        head += more
    header = parse_header(head[:end].split(b"\n"))
    rest = head[end:]
    return header, rest, rest[:8192].split(b"\n")[:20]


def tsv_batches(source: Source, report: ReadReport, batch_rows: int, fields: Fields | None = None,
                stream: BlockStream | None = None) -> Iterator[Batch]:
    """Read one Zeek TSV log as batches of at most `batch_rows` rows (of the `fields` of its kind, when named),
    from `stream` when the source is already open (and not read yet)."""
    with stream if stream is not None else BlockStream(source) as stream:
        header, rest, sample = read_header(stream)
        path = zt.canonical_path(header.path or zt.path_from_filename(source.filename) or zt.path_from_fields(header.fields) or "unknown")
        if path == "unknown":
            report.note("log type unknown: no #path header, no known file name or fields")
        kind = zt.kind_of(path)
        layout = build_layout(header, path, sample[:-1] if len(sample) > 1 else sample, fields.get(kind) if fields else None)
        line_bytes = max(40, len(b"\n".join(sample)) // max(1, len(sample)))
        size = min(MAX_BLOCK, max(MIN_BLOCK, batch_rows * line_bytes))
        first_line = header.lines + 1
        for block in stream.blocks(size, rest):
            if stream.truncated and not block.endswith(b"\n"):
                block = drop_cut_line(block, first_line, report)
            try:
                table, lines = parse_block(block, layout)
                report.ok(table.num_rows)
                tables = [table]
            except BlockError:
                tables = salvage_block(block, first_line, layout, report)
                lines = block.count(b"\n")
            first_line += lines
            for table in tables:
                for start in range(0, table.num_rows, batch_rows):
                    yield Batch(table.slice(start, batch_rows), kind, source.name)
        if stream.truncated:
            report.ended_early(stream.truncated, report.read)
