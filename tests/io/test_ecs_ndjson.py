"""The flat ECS NDJSON fast path gives exactly the table of the record-by-record path."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nightjar.io import ecs_ndjson, read_table, windows_json
from tests.io.fast_paths import assert_same_as_record_path, write_lines


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


def test_fast_path_matches_record_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "p.ndjson", events())
    fast, fast_report = read_table(path)
    monkeypatch.setattr(ecs_ndjson, "eligible", lambda line: False)
    slow, slow_report = read_table(path)
    assert fast.num_rows == 100
    assert fast.equals(slow)
    assert fast_report.notes == slow_report.notes == ["50 non-process-creation events ignored"]
    assert fast.column("process.name").to_pylist()[:2] == ["cmd.exe", "CMD.EXE"]


def test_chunk_the_fast_path_cannot_type_falls_back_per_record(tmp_path: Path) -> None:
    rows = events()[:3] + [{**events()[0], "process.pid": "0x1a"}]
    path = write_lines(tmp_path / "p.ndjson", rows)
    path.write_bytes(path.read_bytes() + b"{not json\n")
    table, report = read_table(path)
    assert table.column("process.pid").to_pylist() == [4242, 7, 26]
    assert (report.read, report.parsed, report.rejected) == (4, 3, 1)


def test_pids_written_as_whole_floats_and_space_separated_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{**events()[0], "process.pid": 2732.0, "@timestamp": "2024-10-25 10:03:02.985697+00:00"}]
    path = write_lines(tmp_path / "p.ndjson", rows)
    fast, report = read_table(path)
    monkeypatch.setattr(ecs_ndjson, "eligible", lambda line: False)
    slow, _ = read_table(path)
    assert report.rejected == 0
    assert fast.column("process.pid").to_pylist() == [2732]
    assert fast.equals(slow)


BASE = {**events()[0], "process.parent.pid": 100, "process.hash.sha256": "ABC", "process.name": "cmd.exe"}
WITHOUT = object()


def variant(**changes: object) -> dict[str, object]:
    return {k: v for k, v in {**BASE, **changes}.items() if v is not WITHOUT}


# named rows: each line goes between two ordinary events; keys with dots are passed as a dict
LINES: dict[str, object] = {
    "process start": BASE,
    "4688": variant(**{"event.code": "4688"}),
    "another event": variant(**{"event.code": "3"}),
    "code a number": variant(**{"event.code": 1}),
    "code null": variant(**{"event.code": None}),
    "no code": variant(**{"event.code": WITHOUT}),
    "no code, category process start": variant(**{"event.code": WITHOUT, "event.category": ["process"], "event.type": ["start"]}),
    "code ' 1'": variant(**{"event.code": " 1"}),
    "winlog.event_id": variant(**{"winlog.event_id": 1}),
    "winlog.event_id null": variant(**{"winlog.event_id": None}),
    "winlog.event_id 3": variant(**{"winlog.event_id": 3}),
    "Sysmon channel": variant(**{"winlog.channel": "Microsoft-Windows-Sysmon/Operational"}),
    "another channel": variant(**{"winlog.channel": "System"}),
    "another provider": variant(**{"event.provider": "Microsoft-Windows-Kernel-Process"}),
    "winlog.provider_name over event.provider": variant(**{"winlog.provider_name": "Microsoft-Windows-Sysmon", "event.provider": "x"}),
    "winlog.provider_name null": variant(**{"winlog.provider_name": None, "event.provider": "x"}),
    "provider in capitals": variant(**{"event.provider": "MICROSOFT-WINDOWS-SYSMON"}),
    "winlog.computer_name": variant(**{"winlog.computer_name": "wc"}),
    "winlog.computer_name empty": variant(**{"winlog.computer_name": ""}),
    "host.name empty": variant(**{"host.name": "", "host.hostname": "hh"}),
    "host.name '-'": variant(**{"host.name": "-", "host.hostname": "hh"}),
    "host.name a list": variant(**{"host.name": ["a"]}),
    "event data Image": variant(**{"winlog.event_data.Image": "C:\\x.exe"}),
    "event data Hashes": variant(**{"winlog.event_data.Hashes": "MD5=AA"}),
    "event data not mapped": variant(**{"winlog.event_data.RuleName": "r"}),
    "nested process": variant(process={"args": ["a"]}),
    "nested winlog": variant(winlog={"event_id": 1}),
    "host a string": variant(host="h"),
    "EventID": variant(EventID=1),
    "Event": variant(Event={}),
    "command line empty": variant(**{"process.command_line": ""}),
    "parent '-'": variant(**{"process.parent.executable": "-"}),
    "name empty": variant(**{"process.name": ""}),
    "name null, executable a folder": variant(**{"process.name": None, "process.executable": "C:\\dir\\"}),
    "pid 2732.0": variant(**{"process.pid": 2732.0}),
    "pid 2732.5": variant(**{"process.pid": 2732.5}),
    "pid -1": variant(**{"process.pid": -1}),
    "pid -1.0": variant(**{"process.pid": -1.0}),
    "pid 1e16": variant(**{"process.pid": 1e16}),
    "pid 2**53 + 1 next to a float pid": variant(**{"process.pid": 2**53 + 1, "process.parent.pid": 5.0}),
    "pid hex text": variant(**{"process.pid": "0x10"}),
    "pid true": variant(**{"process.pid": True}),
    "pid beyond int64": orjson.dumps(BASE).replace(b'"process.pid":4242', b'"process.pid":9223372036854775808'),
    "user.domain": variant(**{"user.domain": "CORP", "user.name": "ann"}),
    "user.domain empty": variant(**{"user.domain": ""}),
    "time with +00:00": variant(**{"@timestamp": "2024-10-25 10:03:02.985697+00:00"}),
    "time in ms": variant(**{"@timestamp": 1700000000000}),
    "time with an offset": variant(**{"@timestamp": "2024-10-25T10:03:02+02:00"}),
    "time with 9 digits": variant(**{"@timestamp": "2024-10-25T10:03:02.123456789Z"}),
    "time null": variant(**{"@timestamp": None}),
    "integrity SID": variant(**{"winlog.event_data.IntegrityLevel": "S-1-16-8192"}),
    "command line a number": variant(**{"process.command_line": 5}),
    "command line true": variant(**{"process.command_line": True}),
    "NaN": orjson.dumps(BASE)[:-1] + b',"x":NaN}',
    "two objects": orjson.dumps(BASE) + orjson.dumps(BASE),
}


@pytest.mark.parametrize("name", LINES)
def test_same_as_record_path(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "events.ndjson", [BASE, LINES[name], BASE])
    assert_same_as_record_path(path, monkeypatch)


@pytest.mark.parametrize("chunk_bytes", [4 << 20, 700])
def test_all_lines_in_one_file(chunk_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows_json, "CHUNK_BYTES", chunk_bytes)
    path = write_lines(tmp_path / "events.ndjson", [BASE, *LINES.values()])
    table, report = assert_same_as_record_path(path, monkeypatch)
    assert report.rejected == 9 and table.num_rows == report.parsed
