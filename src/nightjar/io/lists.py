"""Domain lists and URL lists: plain text (one per line) or CSV with a common header.

Every line of a text list is a record, empty ones included, so that scored output lines up with the
input line for line; judging a value (empty, not a domain) is the detector's job, which keeps the row
and says why in `reasons`. CSV lists keep their other columns (labels, families, ranks) beside the
`domain` or `url` column. A headerless CSV whose column holds domains (`rank,domain`, `"domain","family"`) is read too.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

_DOMAIN = re.compile(r"^(?=.{1,253}\.?$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}\.?$", re.I)
_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$", re.I)  # host names, single labels included
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]{1,15}://\S+|[a-z0-9_.-]+\.[a-z]{2,63}(?::\d+)?[/?#]\S*)$", re.I)
_SAMPLE_LINES = 200
_MIN_SHARE = 0.6  # share of sampled non-empty lines that must look like the kind


def _lines(head: bytes) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if head and not head.endswith((b"\n", b"\r")) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    return [ln.strip() for ln in lines[:_SAMPLE_LINES] if ln.strip()]


def _share(values: list[str], pattern: re.Pattern[str]) -> float:
    return sum(bool(pattern.match(v)) for v in values) / len(values) if values else 0.0


def _delimiter(lines: list[str]) -> str | None:
    if not lines or not any(d in lines[0] for d in ",\t;"):
        return None
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;").delimiter
    except csv.Error:
        return "," if "," in lines[0] else None


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


_EXPLICIT_DOMAIN_HEADERS = {"dns.question.name", "domain", "domain_name", "fqdn"}


def _domain_column(name: str, lines: list[str], col: int, delimiter: str) -> bool:
    """An explicit domain header counts; a generic one (host, name, query) only when it holds domains."""
    if name.strip().lower() in _EXPLICIT_DOMAIN_HEADERS:
        return True
    values = [r[col].strip() for r in csv.reader(lines[1:50], delimiter=delimiter) if len(r) > col]
    return bool(values) and _share(values, _DOMAIN) >= _MIN_SHARE


@dataclass(frozen=True)
class ListLayout:
    """How a list file is laid out: kind "domain"/"url"; layout "text", "csv" (with a header) or "headerless"."""

    kind: str
    layout: str
    column: int = 0
    delimiter: str = ","


def classify(head: bytes) -> ListLayout | None:
    """The layout of a list from its first bytes, or None when it is not a domain or URL list."""
    lines = _lines(head)
    if not lines or lines[0].startswith(("{", "[", "#separator")):
        return None
    delimiter = _delimiter(lines)
    header = next(csv.reader([lines[0]], delimiter=delimiter)) if delimiter else None
    if header and len(header) > 1 and delimiter:
        url_col, dom_col = _pick(header, schema.URL_HEADERS), _pick(header, schema.DOMAIN_HEADERS)
        process_like = _pick(header, ("image", "commandline", "command_line", "process.executable")) is not None
        if url_col is None:
            url_col = next((i for i, h in enumerate(header) if "url" in h.strip().lower()), None)
        if not process_like and url_col is not None:
            return ListLayout(schema.URL, "csv", url_col, delimiter)
        if not process_like and dom_col is not None and _domain_column(header[dom_col], lines, dom_col, delimiter):
            return ListLayout(schema.DOMAIN, "csv", dom_col, delimiter)
        rows = list(csv.reader(lines[:50], delimiter=delimiter))
        for col in range(len(header)):
            values = [r[col].strip() for r in rows if len(r) == len(header)]
            if len(values) == len(rows) and _DOMAIN.match(values[0]) and _share(values, _DOMAIN) >= 0.9:
                return ListLayout(schema.DOMAIN, "headerless", col, delimiter)
        return None
    if _share(lines, _NAME) >= _MIN_SHARE:
        return ListLayout(schema.DOMAIN, "text")
    if _share(lines, _URL) >= _MIN_SHARE:
        return ListLayout(schema.URL, "text")
    return None


@register
class ListReader:
    """Domain or URL lists (text, CSV with a header, or a headerless CSV with a domain column)."""

    format = "list"

    def sniff(self, source: Source, head: bytes) -> bool:
        return classify(head) is not None

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        layout = classify(source.head()) or ListLayout(schema.DOMAIN, "text")
        yield from read_list(source, report, layout, batch_rows)


def read_list(source: Source, report: ReadReport, layout: ListLayout, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
    """Read `source` as a list of domains or URLs laid out as `layout` says."""
    report.format = f"{layout.kind}_list_{layout.layout}"
    field = schema.DOMAIN_FIELD if layout.kind == schema.DOMAIN else schema.URL_FIELD
    with source.open() as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        if layout.layout == "text":
            yield from _text_batches(text, source, report, layout.kind, field, batch_rows)
        else:
            yield from _csv_batches(text, source, report, layout, field, batch_rows)
        if stream.truncated:
            report.ended_early(stream.truncated, report.read)


def _text_batches(text: io.TextIOWrapper, source: Source, report: ReadReport, kind: str, field: str, batch_rows: int) -> Iterator[Batch]:
    values: list[str | None] = []
    for line in text:
        value = line.strip()
        values.append(value or None)
        if len(values) >= batch_rows:
            report.ok(len(values))
            yield Batch(pa.table({field: pa.array(values, pa.string())}), kind, source.name)
            values = []
    if values:
        report.ok(len(values))
        yield Batch(pa.table({field: pa.array(values, pa.string())}), kind, source.name)


def _csv_batches(text: io.TextIOWrapper, source: Source, report: ReadReport, layout: ListLayout, field: str, batch_rows: int) -> Iterator[Batch]:
    kind = layout.kind
    reader = csv.reader(text, delimiter=layout.delimiter)
    offset = 0  # lines consumed before the csv reader started counting
    if layout.layout == "headerless":
        offset = 1
        first = next(csv.reader([text.readline()], delimiter=layout.delimiter), [])
        header = [f"column_{i + 1}" for i in range(len(first))]
        header[layout.column] = field
        if len(first) == len(header):
            yield _csv_batch([first], header, field, kind, source, report)
    else:
        header = [h.strip() for h in next(reader, [])]
        header = [h if h != field else f"{h}_original" for h in header]
        header[layout.column] = field
    width = len(header)
    rows: list[list[str]] = []
    for row in reader:
        line = reader.line_num + offset
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                report.reject(line, "empty CSV row")
            else:
                report.reject(line, f"expected {width} fields, found {len(row)}")
            continue
        rows.append(row)
        if len(rows) >= batch_rows:
            yield _csv_batch(rows, header, field, kind, source, report)
            rows = []
    if rows:
        yield _csv_batch(rows, header, field, kind, source, report)


def _csv_batch(rows: list[list[str]], header: list[str], field: str, kind: str, source: Source, report: ReadReport) -> Batch:
    report.ok(len(rows))
    columns = {name: [r[i].strip() or None for r in rows] for i, name in enumerate(header) if name}
    ordered = {field: columns.pop(field), **columns}
    arrays = {k: pa.array(v, pa.string()) for k, v in ordered.items()}
    return Batch(pa.table(_with_context_names(arrays)), kind, source.name)


def _with_context_names(arrays: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Context columns (time, recipient, user, client address) under their ECS names, times typed.

    A time column whose values do not all parse as ISO 8601 keeps its own name and text.
    """
    out: dict[str, pa.Array] = {}
    for name, array in arrays.items():
        ecs = schema.LIST_CONTEXT_MAP.get(name.lower())
        if ecs is None or ecs in out or ecs in arrays:
            out[name] = array
            continue
        if ecs == schema.TIMESTAMP:
            try:
                array = pc.cast(array, pa.timestamp("us", tz="UTC"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out[name] = array
                continue
        out[ecs] = array
    return out
