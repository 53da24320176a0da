"""Helpers for the NDJSON fast-path tests: read a file with and without the fast paths, compare everything."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from nightjar.io import ReadReport, ecs_ndjson, flat_ndjson, read_table


def record_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, ReadReport]:
    """`read_table` with both fast paths switched off: every line through orjson and `record_row`."""
    with monkeypatch.context() as patch:
        patch.setattr(ecs_ndjson, "eligible", lambda line: False)
        patch.setattr(flat_ndjson, "eligible", lambda line: False)
        return read_table(path)


def assert_same_as_record_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, ReadReport]:
    """The fast read of `path` equals the record-path read: rows, accounting, notes and rejections."""
    fast, report = read_table(path)
    slow, slow_report = record_path(path, monkeypatch)
    assert fast.equals(slow), _first_difference(fast, slow)
    assert (report.read, report.parsed, report.rejected) == (slow_report.read, slow_report.parsed, slow_report.rejected)
    assert report.notes == slow_report.notes
    assert sorted(map(str, report.rejections)) == sorted(map(str, slow_report.rejections))
    return fast, report


def write_lines(path: Path, records: list[object]) -> Path:
    """One line per record: dicts as JSON, bytes as they are."""
    path.write_bytes(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


def _first_difference(fast: pa.Table, slow: pa.Table) -> str:
    if fast.num_rows != slow.num_rows or fast.schema != slow.schema:
        return f"{fast.num_rows} rows ({fast.schema.names}) against {slow.num_rows} ({slow.schema.names})"
    for name in fast.column_names:
        if not fast.column(name).equals(slow.column(name)):
            return f"{name}: {fast.column(name).to_pylist()} against {slow.column(name).to_pylist()}"
    return "tables differ"
