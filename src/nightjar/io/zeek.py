"""Zeek logs, TSV (`#separator` header) or JSON lines, into typed tables with ECS column names.

conn, dns, http and ssl logs become batches of kind "conn", "dns", "http", "ssl"; any other log
(ssh, notice, ...) passes through as kind "zeek.<path>" with columns `zeek.<path>.<field>`. The log
type comes from the `#path` header (or JSON `_path`), else the file name, else the fields present.

Example:
    >>> from nightjar.io import read_table
    >>> table, report = read_table("conn.log")  # doctest: +SKIP
    >>> table.column("source.ip")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, Fields, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_json import json_batches
from nightjar.io.zeek_stream import BlockStream
from nightjar.io.zeek_tsv import tsv_batches

_JSON_ID_KEYS = ("uid", "id.orig_h", "id_orig_h")


@register
class ZeekTsvReader:
    """Zeek's ASCII (tab-separated) log format."""

    format = "zeek_tsv"
    accepts = frozenset({"fields", "stream"})  # optional arguments of `batches` (see nightjar.io.base)

    def sniff(self, source: Source, head: bytes) -> bool:
        return head.startswith(b"#separator")

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS,
                fields: Fields | None = None, stream: BlockStream | None = None) -> Iterator[Batch]:
        return tsv_batches(source, report, batch_rows, fields, stream)


@register
class ZeekJsonReader:
    """Zeek's JSON lines format (one log record per line, `ts` as epoch seconds or ISO 8601)."""

    format = "zeek_json"

    def sniff(self, source: Source, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0].strip()
        if not first.startswith(b"{"):
            return False
        try:
            record = orjson.loads(first)
        except orjson.JSONDecodeError:
            return False
        return isinstance(record, dict) and "ts" in record and any(k in record for k in _JSON_ID_KEYS)

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        return json_batches(source, report, batch_rows)
