"""CSV exports of process-creation events to process tables.

Headers are recognised in three dialects, column by column: Sysmon's CamelCase (`Image`, `CommandLine`,
`ParentImage`, `ProcessGuid`, `Hashes`, `Computer`, `EventID`, ...), the snake_case of the derived
datasets (`image`, `command_line`, `parent_image`, `event_source` = sysmon_1 | security_4688, `hashes`),
and ECS names (`process.command_line`). Columns with no mapping (labels, dataset, test ids) are kept,
as strings, after the ECS columns. A row with the wrong number of fields or an unreadable pid or time is
rejected with its line number (the header is line 1; quoted fields spanning lines shift later numbers).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from nightjar import schema
from nightjar.io import process_events as pe
from nightjar.io import process_vector
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

BOM = b"\xef\xbb\xbf"
# Header -> ECS (or a raw key `ProcessColumns` understands: `Hashes`, `user.domain`).
HEADER_MAP: dict[str, str] = {
    **schema.SYSMON_PROCESS_MAP,
    **{k: v for k, v in schema.SECURITY_4688_MAP.items() if k not in schema.SYSMON_PROCESS_MAP},
    **schema.SNAKE_PROCESS_MAP,
    **schema.WINDOWS_COMMON_MAP,
    "Hashes": pe.HASHES,
    "hashes": pe.HASHES,
    "event_source": schema.EVENT_CODE,
    "user.domain": schema.USER_DOMAIN,
    **{name: name for name in pe.PROCESS_SCHEMA.names},
}
# A CSV is a process CSV when its header names the executable or the command line in any dialect.
KEY_HEADERS = {"Image", "CommandLine", "NewProcessName", "image", "command_line", "process.executable", "process.command_line"}
EVENT_SOURCES = {"sysmon_1": "1", "security_4688": "4688"}


@register
class ProcessCsvReader:
    """CSV with Sysmon, snake_case or ECS process-creation columns."""

    format = "process-csv"

    def sniff(self, source: Source, head: bytes) -> bool:
        header = _header(head)
        return header is not None and bool(KEY_HEADERS & set(header))

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        with source.open() as stream:
            header = _header(stream.peek(1 << 16)) or []
            names, extra = _column_names(header)
            bad: list[tuple[int | None, str]] = []

            def invalid(row: pa_csv.InvalidRow) -> str:
                line = row.number
                bad.append((line, f"{row.actual_columns} fields where the header has {row.expected_columns}"))
                return "skip"

            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 22, column_names=names, skip_rows=1),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            columns = pe.ProcessColumns(extra)
            line, skipped = 2, set()
            for record_batch in reader:
                for bad_line, reason in bad:
                    report.reject(bad_line, reason)
                    skipped.add(bad_line)
                bad.clear()
                fast = process_vector.typed_table(_mapped_codes(pa.Table.from_batches([record_batch])), extra)
                if fast is not None:  # the whole block typed by Arrow kernels
                    yield from _flush(columns, report, source)  # rows queued before it come first
                    report.ok(fast.num_rows)
                    yield Batch(fast, schema.PROCESS, source.name)
                    for _ in range(fast.num_rows):
                        while line in skipped:
                            line += 1
                        line += 1
                    continue
                for row in record_batch.to_pylist():
                    while line in skipped:
                        line += 1
                    columns.add(_raw(row), line)
                    line += 1
                    if len(columns) >= batch_rows:
                        yield from _flush(columns, report, source)
            for bad_line, reason in bad:
                report.reject(bad_line, reason)
            yield from _flush(columns, report, source)
            if stream.truncated:
                report.ended_early(stream.truncated, report.read)


def _header(head: bytes) -> list[str] | None:
    first = head[len(BOM) :] if head.startswith(BOM) else head
    text = first.split(b"\n", 1)[0].rstrip(b"\r")
    if not text or text[:1] in (b"{", b"[", b"#"):
        return None
    try:
        fields = next(csv.reader(io.StringIO(text.decode("utf-8", errors="replace"))))
    except (csv.Error, StopIteration):
        return None
    return fields if len(fields) > 1 else None


def _column_names(header: list[str]) -> tuple[list[str], list[str]]:
    """Unique column names (ECS where known, else the header) and the names kept as extra columns."""
    names: list[str] = []
    extra: list[str] = []
    for field in header:
        name = HEADER_MAP.get(field.strip(), field.strip())
        while name in names:
            name += "_"
        names.append(name)
        if name not in HEADER_MAP.values():
            extra.append(name)
    return names, extra


def _raw(row: dict[str, str]) -> dict[str, str]:
    code = row.get(schema.EVENT_CODE)
    if code in EVENT_SOURCES:
        row[schema.EVENT_CODE] = EVENT_SOURCES[code]
    return row


def _mapped_codes(table: pa.Table) -> pa.Table:
    """`event_source` values (sysmon_1, security_4688) as event codes, as `_raw` does row by row."""
    if schema.EVENT_CODE not in table.column_names:
        return table
    codes = table.column(schema.EVENT_CODE)
    for source_name, code in EVENT_SOURCES.items():
        codes = pc.if_else(pc.equal(codes, source_name), code, codes)
    return table.set_column(table.schema.get_field_index(schema.EVENT_CODE), schema.EVENT_CODE, codes)


def _flush(columns: pe.ProcessColumns, report: ReadReport, source: Source) -> Iterator[Batch]:
    if not len(columns):
        return
    table, rejected = columns.table()
    for line, reason in rejected:
        report.reject(line, reason)
    report.ok(table.num_rows)
    if table.num_rows:
        yield Batch(table, schema.PROCESS, source.name)
