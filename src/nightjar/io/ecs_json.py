"""ECS events as JSON lines (nested or dotted) that are not Windows process events: DNS and URL events.

Elastic, Filebeat and most SIEM exports write ECS documents one per line. A document becomes a row
with dotted column names (`{"dns": {"question": {"name": ...}}}` -> `dns.question.name`); lists and
objects below are kept as JSON text. The batch kind follows the fields: `dns.question.name` -> "dns",
`url.full` / `url.original` -> "url" (with a `url` column as the URL detector reads it). A line that
is not a JSON object is rejected with its line number. Windows process events are the Windows JSON
reader's (it is asked first); Zeek JSON logs are the Zeek reader's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

KIND_FIELDS = (("dns.question.name", "dns"), ("url.full", schema.URL), ("url.original", schema.URL))


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects to dotted keys; lists become JSON text."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = orjson.dumps(value).decode()
        else:
            out[name] = value
    return out


def event_kind(fields: dict[str, Any]) -> str | None:
    """The batch kind of an ECS document's dotted fields, or None when it is neither DNS nor URL."""
    return next((kind for name, kind in KIND_FIELDS if name in fields), None)


@register
class EcsJsonReader:
    """ECS DNS and URL events, one JSON document per line."""

    format = "ecs_ndjson"

    def sniff(self, source: Source, head: bytes) -> bool:
        for line in head.lstrip(b"\xef\xbb\xbf").splitlines():
            if line.strip():
                try:
                    first = orjson.loads(line)
                except orjson.JSONDecodeError:
                    return False
                return isinstance(first, dict) and event_kind(flatten(first)) is not None
        return False

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        rows: list[dict[str, Any]] = []
        kind: str | None = None
        with source.open() as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    report.reject(number, f"malformed JSON: {exc}")
                    continue
                if not isinstance(obj, dict):
                    report.reject(number, f"not a JSON object but {type(obj).__name__}")
                    continue
                fields = flatten(obj)
                this = event_kind(fields) or kind
                if rows and this != kind:
                    yield _batch(rows, kind, source, report)
                    rows = []
                kind = this
                rows.append(fields)
                if len(rows) >= batch_rows:
                    yield _batch(rows, kind, source, report)
                    rows = []
            if stream.truncated:
                report.ended_early(stream.truncated, report.read + len(rows))
        if rows:
            yield _batch(rows, kind, source, report)


def _batch(rows: list[dict[str, Any]], kind: str | None, source: Source, report: ReadReport) -> Batch:
    report.ok(len(rows))
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns: dict[str, pa.Array] = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if len({type(v) for v in values if v is not None}) > 1:
            values = [None if v is None else str(v) for v in values]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    if schema.TIMESTAMP in columns and pa.types.is_string(columns[schema.TIMESTAMP].type):
        try:
            columns[schema.TIMESTAMP] = pc.cast(columns[schema.TIMESTAMP], pa.timestamp("us", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            report.note("@timestamp kept as text: not every value is an ISO 8601 time")
    if kind == schema.URL and schema.URL_FIELD not in columns:
        full = columns.get("url.full", columns.get("url.original"))
        columns = {schema.URL_FIELD: full, **columns}
    return Batch(pa.table(columns), kind or "dns", source.name)
