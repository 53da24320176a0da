"""The flat NDJSON fast path (EventID at top level) gives exactly what the record-by-record path gives."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightjar.io import Reading, flat_ndjson, read_table, windows_json
from tests.io.fast_paths import assert_same_as_record_path, write_lines

SYSMON = "Microsoft-Windows-Sysmon/Operational"
BASE = {
    "EventID": 1, "Channel": SYSMON, "Hostname": "WS6.mordor.local", "@timestamp": "2020-06-10T02:51:05.723Z",
    "UtcTime": "2020-06-10 02:51:04.728", "ProcessGuid": "{b669e388-4a98-5ee0-1704-000000000300}", "ProcessId": "2008",
    "Image": "C:\\Windows\\System32\\SppSvc.exe", "CommandLine": "C:\\windows\\system32\\sppsvc.exe", "User": "NT AUTHORITY\\NETWORK SERVICE",
    "IntegrityLevel": "System", "Hashes": "SHA1=C89B,MD5=49D5,SHA256=AA09,IMPHASH=4157", "ParentProcessId": "696",
    "ParentImage": "C:\\Windows\\System32\\services.exe", "ParentCommandLine": "C:\\windows\\system32\\services.exe",
    "OriginalFileName": "sppsvc.exe", "Message": "Process Create:\r\nRuleName: -", "tags": ["mordorDataset"], "Keywords": -9223372036854775808,
}
SECURITY = {
    "EventID": 4688, "Channel": "Security", "Hostname": "HR001", "@timestamp": "2020-06-10T02:51:05.723Z", "NewProcessId": "0x1ecc",
    "NewProcessName": "C:\\Windows\\System32\\wbem\\WmiApSrv.exe", "CommandLine": "WmiApSrv.exe", "ProcessId": "0x214",
    "ParentProcessName": "C:\\Windows\\System32\\services.exe", "SubjectUserName": "HR001$", "SubjectDomainName": "SHIRE",
    "TargetUserName": "-", "MandatoryLabel": "S-1-16-16384",
}
WITHOUT = object()


def variant(**changes: object) -> dict[str, object]:
    return {k: v for k, v in {**BASE, **changes}.items() if v is not WITHOUT}


# named rows: each line goes between two ordinary Sysmon 1 events
LINES: dict[str, object] = {
    "sysmon 1": BASE,
    "another event": variant(EventID=3),
    "event 1 of another channel": variant(Channel="System"),
    "provider only": variant(Channel=WITHOUT, SourceName="Microsoft-Windows-Sysmon"),
    "no channel, no provider": variant(Channel=WITHOUT),
    "channel in capitals": variant(Channel=SYSMON.upper()),
    "security 4688": SECURITY,
    "4688 of another channel": {**SECURITY, "Channel": "System"},
    "UtcTime empty": variant(UtcTime=""),
    "UtcTime '-'": variant(UtcTime="-"),
    "UtcTime null, log time empty": variant(UtcTime=None, **{"@timestamp": ""}, TimeCreated="2020-06-10T01:00:00Z"),
    "UtcTime 7 digits": variant(UtcTime="2020-06-10 02:51:04.1234567"),
    "UtcTime with offset": variant(UtcTime="2020-06-10 02:51:04+02:00"),
    "UtcTime not a time": variant(UtcTime="yesterday"),
    "Hostname empty": variant(Hostname="", Computer="C1"),
    "Hostname '-'": variant(Hostname="-", Computer="C1"),
    "ProcessId as a number": variant(ProcessId=2008),
    "ProcessId hex": variant(ProcessId="0x10"),
    "ProcessId '12.0'": variant(ProcessId="12.0"),
    "ProcessId padded": variant(ProcessId=" 12 "),
    "ProcessId not a number": variant(ProcessId="twelve"),
    "ProcessId beyond int64": variant(ProcessId="9223372036854775808"),
    "EventID in quotes": variant(EventID="1"),
    "EventID null": variant(EventID=None),
    "EventID 1.0": variant(EventID=1.0),
    "no EventID": variant(EventID=WITHOUT),
    "no EventID, ECS fields": {"process.command_line": "cmd", "event.code": "1"},
    "hashes in lower case and spaced": variant(Hashes="sha256=ab , md5 = CD,IMPHASH="),
    "hash named twice": variant(Hashes="MD5=AA,MD5=BB"),
    "hashes odd": variant(Hashes=",,=,MD5,MD5=x=y,SHA1=\x1fAB"),
    "Image a folder": variant(Image="C:\\dir\\"),
    "Image only slashes": variant(Image="\\\\"),
    "Image POSIX": variant(Image="/usr/bin/curl"),
    "Image '-'": variant(Image="-"),
    "Image a number": variant(Image=5),
    "IntegrityLevel a SID": variant(IntegrityLevel="S-1-16-12288"),
    "IntegrityLevel a SID in lower case": variant(IntegrityLevel="s-1-16-12288"),
    "an Event key": variant(Event=None),
    "winlog object": variant(winlog={"event_id": 1}),
    "event_data": variant(event_data={}),
    "CommandLine an object": variant(CommandLine={"a": 1}),
    "non-ASCII": variant(CommandLine="café ® \u2028 \x00", Image="C:\\É\\ß.EXE"),
    "empty object": {},
    "malformed": b'{"EventID": 1, "Chan',
    "array": b"[1, 2]",
    "null": b"null",
    "NaN": orjson.dumps(BASE)[:-1] + b',"X":NaN}',
    "invalid UTF-8 in a skipped field": orjson.dumps(BASE)[:-1] + b',"X":"\xff"}',
    "two objects on a line": orjson.dumps(BASE) + b" " + orjson.dumps(BASE),
    "lone surrogate": orjson.dumps(BASE)[:-1] + b',"M":"a\\ud800b"}',
    "blank": b"",
    "spaces": b"  \t ",
    "CR at the end": orjson.dumps(BASE) + b"\r",
    "BOM inside": b"\xef\xbb\xbf" + orjson.dumps(BASE),
    "trailing comma": orjson.dumps(BASE)[:-1] + b",}",
    "nested too deep": orjson.dumps(BASE)[:-1] + b',"X":' + b"[" * 1100 + b"]" * 1100 + b"}",
    "nested 1000 deep": orjson.dumps(BASE)[:-1] + b',"X":' + b"[" * 1000 + b"]" * 1000 + b"}",
}


@pytest.mark.parametrize("name", LINES)
def test_same_as_record_path(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "events.json", [BASE, LINES[name], BASE, LINES[name]])
    assert_same_as_record_path(path, monkeypatch)


@pytest.mark.parametrize("chunk_bytes", [4 << 20, 2000, 64])
def test_all_lines_in_one_file_at_any_chunk_size(chunk_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows_json, "CHUNK_BYTES", chunk_bytes)  # 64: most lines are longer than the buffer
    path = write_lines(tmp_path / "events.json", [BASE, *LINES.values()])
    table, report = assert_same_as_record_path(path, monkeypatch)
    assert report.rejected == 13 and table.num_rows == report.parsed


def test_bom_crlf_and_no_final_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.json"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(orjson.dumps(r) for r in [BASE, SECURITY, variant(EventID=3), BASE]))
    table, report = assert_same_as_record_path(path, monkeypatch)
    assert table.column("event.code").to_pylist() == ["1", "4688", "1"]
    assert report.notes == ["1 non-process-creation events ignored"]


def test_rows_keep_input_order_around_record_path_lines(tmp_path: Path) -> None:
    rows = [variant(ProcessId=str(i)) if i % 3 else {**SECURITY, "NewProcessId": hex(i)} for i in range(1, 30)]
    table, _ = read_table(write_lines(tmp_path / "events.json", rows))
    assert table.column("process.pid").to_pylist() == list(range(1, 30))


def test_overflowing_number_in_a_skipped_field_is_the_one_known_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson rejects 1e400 (infinite as a double); msgspec skips the field without reading the number."""
    path = write_lines(tmp_path / "events.json", [BASE, orjson.dumps(BASE)[:-1] + b',"X":1e400}'])
    assert read_table(path)[1].parsed == 2
    monkeypatch.setattr(flat_ndjson, "eligible", lambda line: False)
    assert read_table(path)[1].rejected == 1


# hypothesis raises the recursion limit, and msgspec then decodes deeper nesting than orjson's 1024 levels
SHALLOW = sorted(name for name in LINES if not name.startswith("nested"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SHALLOW), min_size=1, max_size=25), st.sampled_from([4 << 20, 300]))
def test_any_mix_of_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str], chunk_bytes: int) -> None:
    monkeypatch.setattr(windows_json, "CHUNK_BYTES", chunk_bytes)
    path = write_lines(tmp_path / "mix.json", [BASE] + [LINES[n] for n in names])
    assert_same_as_record_path(path, monkeypatch)


def test_fast_rows_come_in_batches_of_batch_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows_json, "CHUNK_BYTES", 2000)  # two or three events a chunk
    rows = [variant(ProcessId=str(i)) if i % 4 else variant(EventID=3) for i in range(1, 60)]
    reading = Reading([write_lines(tmp_path / "events.json", rows)], show_progress=False, batch_rows=7)
    batches = [batch.table for batch in reading]
    assert [t.num_rows for t in batches] == [7] * 6 + [3]
    assert pa.concat_tables(batches).column("process.pid").to_pylist() == [i for i in range(1, 60) if i % 4]
    assert reading.reports[0].notes == ["14 non-process-creation events ignored"]
