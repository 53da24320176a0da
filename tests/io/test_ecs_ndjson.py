"""The flat ECS NDJSON fast path gives exactly the table of the record-by-record path."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nightjar.io import ecs_ndjson, read_table


def events() -> list[dict[str, object]]:
    base = {
        "@timestamp": "2026-03-02T09:00:00.123Z",
        "event.code": "1",
        "host.name": "WS01",
        "user.name": "CORP\\ann",
        "process.pid": 4242,
        "process.executable": "C:\\Windows\\System32\\cmd.exe",
        "process.command_line": "cmd.exe /c whoami",
        "process.parent.executable": "C:\\Windows\\explorer.exe",
        "winlog.event_data.IntegrityLevel": "Medium",
    }
    other = {**base, "event.code": "3", "process.command_line": None}
    named = {**base, "process.name": "CMD.EXE", "event.code": "4688", "process.pid": 7}
    return [base, other, named] * 50


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_fast_path_matches_record_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "p.ndjson", events())
    fast, fast_report = read_table(path)
    monkeypatch.setattr(ecs_ndjson, "eligible", lambda line: False)
    slow, slow_report = read_table(path)
    assert fast.num_rows == 100
    assert fast.equals(slow)
    assert fast_report.notes == slow_report.notes == ["50 non-process-creation events ignored"]
    assert fast.column("process.name").to_pylist()[:2] == ["cmd.exe", "CMD.EXE"]


def test_chunk_the_fast_path_cannot_type_falls_back_per_record(tmp_path: Path) -> None:
    rows = events()[:3] + [{**events()[0], "process.pid": "0x1a"}]
    path = write(tmp_path / "p.ndjson", rows)
    path.write_bytes(path.read_bytes() + b"{not json\n")
    table, report = read_table(path)
    assert table.column("process.pid").to_pylist() == [4242, 7, 26]
    assert (report.read, report.parsed, report.rejected) == (4, 3, 1)


def test_pids_written_as_whole_floats_and_space_separated_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{**events()[0], "process.pid": 2732.0, "@timestamp": "2024-10-25 10:03:02.985697+00:00"}]
    path = write(tmp_path / "p.ndjson", rows)
    fast, report = read_table(path)
    monkeypatch.setattr(ecs_ndjson, "eligible", lambda line: False)
    slow, _ = read_table(path)
    assert report.rejected == 0
    assert fast.column("process.pid").to_pylist() == [2732]
    assert fast.equals(slow)
