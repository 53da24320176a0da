"""Windows event JSON reader: record shapes, malformed lines, accounting."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightjar.io import read_table
from nightjar.io.process_events import PROCESS_SCHEMA
from nightjar.io.sources import Source

SYSMON_DATA = {
    "UtcTime": "2020-06-10 02:51:04.728",
    "ProcessGuid": "{b669e388-4a98-5ee0-1704-000000000300}",
    "ProcessId": "2008",
    "Image": "C:\\Windows\\System32\\SppSvc.exe",
    "CommandLine": "C:\\windows\\system32\\sppsvc.exe",
    "User": "NT AUTHORITY\\NETWORK SERVICE",
    "IntegrityLevel": "System",
    "Hashes": "SHA1=C89B,MD5=49D5,SHA256=AA09,IMPHASH=4157",
    "ParentProcessId": "696",
    "ParentImage": "C:\\Windows\\System32\\services.exe",
    "ParentCommandLine": "C:\\windows\\system32\\services.exe",
    "OriginalFileName": "sppsvc.exe",
}
SECURITY_DATA = {
    "NewProcessId": "0x1ecc",
    "NewProcessName": "C:\\Windows\\System32\\wbem\\WmiApSrv.exe",
    "CommandLine": "C:\\Windows\\system32\\wbem\\WmiApSrv.exe",
    "ProcessId": "0x214",
    "ParentProcessName": "C:\\Windows\\System32\\services.exe",
    "SubjectUserName": "HR001$",
    "SubjectDomainName": "SHIRE",
    "TargetUserName": "-",
    "MandatoryLabel": "S-1-16-16384",
}


def flat(code: int, channel: str, data: dict, **extra: object) -> dict:
    return {"EventID": code, "Channel": channel, "Hostname": "WS6.mordor.local", "host": "wec.collector",
            "@timestamp": "2020-06-10T02:51:05.723Z", **data, **extra}


def beat6(code: int, log_name: str, data: dict) -> dict:
    return {"@timestamp": "2019-05-18T20:20:32.799Z", "event_id": code, "log_name": log_name, "event_data": data,
            "computer_name": "HR001.shire.com", "host": {"name": "WECserver"}, "source_name": "x"}


def write_lines(path: Path, records: list, extra_lines: list[bytes] = ()) -> Path:
    path.write_bytes(b"\n".join([orjson.dumps(r) for r in records] + list(extra_lines)) + b"\n")
    return path


def test_flat_schema_maps_sysmon_and_4688(tmp_path: Path) -> None:
    records = [flat(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA), flat(13, "Microsoft-Windows-Sysmon/Operational", {}),
               flat(4688, "security", SECURITY_DATA), flat(4624, "Security", {})]
    table, report = read_table(write_lines(tmp_path / "flat.json", records))
    assert table.schema == PROCESS_SCHEMA
    assert (report.read, report.parsed, report.rejected) == (2, 2, 0)
    assert report.notes == ["2 non-process-creation events ignored"]
    sysmon, security = table.to_pylist()
    assert sysmon["process.name"] == "SppSvc.exe" and sysmon["process.parent.name"] == "services.exe"
    assert sysmon["process.pid"] == 2008 and sysmon["host.name"] == "WS6.mordor.local"
    assert sysmon["process.hash.sha256"] == "aa09" and sysmon["process.hash.imphash"] == "4157"
    assert sysmon["@timestamp"].isoformat() == "2020-06-10T02:51:04.728000+00:00"  # UtcTime, not the shipper's time
    assert security["event.code"] == "4688" and security["process.pid"] == 0x1ECC and security["process.parent.pid"] == 0x214
    assert security["process.parent.command_line"] is None
    assert security["user.name"] == "SHIRE\\HR001$" and security["winlog.event_data.IntegrityLevel"] == "System"


def test_winlogbeat6_nested_schema(tmp_path: Path) -> None:
    records = [beat6(4688, "Security", SECURITY_DATA), beat6(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA), beat6(4103, "Microsoft-Windows-PowerShell/Operational", {})]
    table, report = read_table(write_lines(tmp_path / "beat6.json", records))
    rows = table.to_pylist()
    assert [r["event.code"] for r in rows] == ["4688", "1"]
    assert {r["host.name"] for r in rows} == {"HR001.shire.com"}  # the event's computer, not the collector
    assert rows[0]["process.parent.command_line"] is None and rows[1]["process.parent.command_line"]
    assert report.balanced and report.notes == ["1 non-process-creation events ignored"]


def test_eventid_1_of_another_channel_is_not_sysmon(tmp_path: Path) -> None:
    table, report = read_table(write_lines(tmp_path / "sys.json", [flat(1, "System", {"Image": "x"}), flat(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA)]))
    assert table.num_rows == 1 and report.read == 1


def test_winlogbeat7_nested_ecs(tmp_path: Path) -> None:
    doc = {"@timestamp": "2021-03-01T10:00:00.5Z", "host": {"name": "collector"},
           "process": {"command_line": "cmd.exe /c whoami", "executable": "C:\\Windows\\System32\\cmd.exe", "pid": 4242,
                       "parent": {"executable": "C:\\Windows\\explorer.exe", "pid": 100}},
           "user": {"name": "alice", "domain": "CORP"},
           "winlog": {"event_id": 1, "channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "ws1.corp",
                      "event_data": {"IntegrityLevel": "Medium", "Hashes": "SHA256=ABC"}}}
    other = {"@timestamp": "2021-03-01T10:00:00Z", "winlog": {"event_id": 3, "channel": "Microsoft-Windows-Sysmon/Operational"}}
    table, report = read_table(write_lines(tmp_path / "wlb7.ndjson", [doc, other]))
    (row,) = table.to_pylist()
    assert row["process.pid"] == 4242 and row["process.name"] == "cmd.exe" and row["process.parent.name"] == "explorer.exe"
    assert row["host.name"] == "ws1.corp" and row["user.name"] == "CORP\\alice" and row["process.hash.sha256"] == "abc"
    assert row["winlog.event_data.IntegrityLevel"] == "Medium" and row["event.code"] == "1"


def test_flat_dotted_ecs(tmp_path: Path) -> None:
    doc = {"@timestamp": "2021-03-01T10:00:00Z", "event.code": "4688", "host.name": "h", "process.command_line": "a b",
           "process.executable": "C:\\a.exe", "process.pid": "0x10"}
    table, _ = read_table(write_lines(tmp_path / "dotted.ndjson", [doc]))
    assert table.to_pylist()[0]["process.pid"] == 16


def test_xml_shaped_export_with_bom_and_crlf(tmp_path: Path) -> None:
    def event(code: object, channel: str) -> dict:
        data = [{"@Name": k, "#text": v} for k, v in SYSMON_DATA.items()]
        return {"Event": {"System": {"Provider": {"@Name": "Microsoft-Windows-Sysmon"}, "EventID": code, "Channel": channel,
                                     "Computer": "Server002", "TimeCreated": {"@SystemTime": "2024-10-22 15:39:16.0729203"}},
                          "EventData": {"Data": data}}}
    lines = [orjson.dumps(e) for e in (event("1", "Microsoft-Windows-Sysmon/Operational"), event({"#text": 1}, "Microsoft-Windows-Sysmon/Operational"), event(5, "Microsoft-Windows-Sysmon/Operational"))]
    path = tmp_path / "T1119-1_Microsoft-Windows-Sysmon_Operational.json"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    table, report = read_table(path)
    assert table.num_rows == 2 and report.balanced and report.rejected == 0
    assert table.to_pylist()[0]["host.name"] == "Server002"


def test_bom_only_file_is_an_empty_export(tmp_path: Path) -> None:
    path = tmp_path / "T1_Application.json"
    path.write_bytes(b"\xef\xbb\xbf")
    table, report = read_table(path)
    assert report.read == 0 and report.format == "windows-json"


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([flat(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA), flat(4688, "Security", SECURITY_DATA)], indent=2))
    table, report = read_table(path)
    assert table.num_rows == 2 and report.read == 2


def test_malformed_lines_are_rejected_with_line_numbers(tmp_path: Path) -> None:
    good = flat(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA)
    bad_pid = flat(1, "Microsoft-Windows-Sysmon/Operational", {**SYSMON_DATA, "ProcessId": "twelve"})
    path = write_lines(tmp_path / "mixed.json", [good], [b'{"EventID": 1, "Chan', b"[1, 2]", orjson.dumps(bad_pid), orjson.dumps(good)])
    table, report = read_table(path)
    assert table.num_rows == 2
    assert (report.read, report.parsed, report.rejected) == (5, 2, 3)
    assert [r.source.line for r in report.rejections] == [2, 3, 4]
    assert str(report.rejections[0].source) == f"{path}:2"


def test_lone_surrogate_escape_is_repaired(tmp_path: Path) -> None:
    line = orjson.dumps(flat(1, "Microsoft-Windows-Sysmon/Operational", SYSMON_DATA))[:-1] + b',"Message":"bad \\ud800 x"}'
    path = tmp_path / "s.json"
    path.write_bytes(line + b"\n")
    table, report = read_table(path)
    assert table.num_rows == 1 and report.rejected == 0


def test_zeek_json_is_not_windows_json(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text('{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80}\n')
    from nightjar.io.windows_json import WindowsJsonReader
    assert not WindowsJsonReader().sniff(Source(path), path.read_bytes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode),
                          st.sampled_from([b'{"EventID": 1}', b'{"EventID": "4688", "NewProcessId": "0xZZ"}', b'{"Event": 3}', b"{}", b"[]", b"null"])), max_size=30))
def test_garbage_never_crashes_and_balances(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "g.json"
    path.write_bytes(b'{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "a.exe"}\n' + b"\n".join(l.replace(b"\n", b" ") for l in lines) + b"\n")
    table, report = read_table(path)
    assert report.balanced and report.parsed == (table.num_rows if table.num_columns else 0)
