"""ECS NDJSON events for scoring when no reader claims them (e.g. DNS events with `dns.question.name`).

An adapter in the scoring package until `nightjar.io` has an ECS DNS reader: one record per non-empty
line, nested objects flattened to dotted ECS names (`{"dns": {"question": {"name": ...}}}` ->
`dns.question.name`), lists and objects kept as JSON text. A line that is not a JSON object is still a
record: it keeps its row (with no name) and is noted. Batches are of kind "dns" when a
`dns.question.name` field is present, else "domain" when a `domain` field is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from nightjar.io.base import Batch
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source


def looks_like_ndjson(head: bytes) -> bool:
    """True when the first non-blank line parses as a JSON object."""
    for line in head.splitlines():
        if line.strip():
            try:
                return isinstance(orjson.loads(line), dict)
            except orjson.JSONDecodeError:
                return False
    return False


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


def ndjson_batches(source: Source, report: ReadReport, batch_rows: int) -> Iterator[Batch]:
    """Batches of flattened events; every non-empty line is one record."""
    report.format = "ecs_ndjson"
    rows: list[dict[str, Any]] = []
    with source.open() as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                report.note(f"line {number} is not a JSON object: kept as a record without a name")
                obj = {}
            rows.append(flatten(obj))
            if len(rows) >= batch_rows:
                yield _batch(rows, source, report)
                rows = []
    if rows:
        yield _batch(rows, source, report)


def _batch(rows: list[dict[str, Any]], source: Source, report: ReadReport) -> Batch:
    report.ok(len(rows))
    names = list(dict.fromkeys(k for r in rows for k in r))
    kind = "dns" if "dns.question.name" in names else "domain"
    if kind == "domain" and "domain" not in names:
        names.insert(0, "domain")
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if any(isinstance(v, (dict, list)) for v in values) or len({type(v) for v in values if v is not None}) > 1:
            values = [None if v is None else str(v) for v in values]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return Batch(pa.table(columns), kind, source.name)
