"""EVTX reader, on files made by the test writer (there are no .evtx files in the shared data)."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import evtx

from nightjar.io import read_table
from nightjar.io.process_events import PROCESS_SCHEMA
from tests.fixtures.evtx_writer import WinEvent, write_evtx

T0 = dt.datetime(2024, 10, 22, 15, 39, 16, 72920, tzinfo=dt.timezone.utc)
SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "Security")


def events(n: int = 3) -> list[WinEvent]:
    out = []
    for i in range(n):
        out.append(WinEvent(1, *SYSMON, "Server002", T0, {"UtcTime": "2024-10-22 15:39:16.070", "ProcessId": str(100 + i),
                                                          "Image": "C:\\Windows\\System32\\wevtutil.exe", "CommandLine": f"wevtutil cl {i}",
                                                          "ParentImage": "C:\\Windows\\System32\\wsmprovhost.exe", "ParentProcessId": "7",
                                                          "User": "SERVER002\\admin_test", "Hashes": "SHA256=5293A9"}))
        out.append(WinEvent(5, *SYSMON, "Server002", T0, {"ProcessId": "1"}))
    out.append(WinEvent(4688, *SECURITY, "DC1", T0, {"NewProcessId": "0x1a2c", "ProcessId": "0x2b8", "NewProcessName": "C:\\x\\Cmd.exe",
                                                     "CommandLine": "cmd /c", "SubjectUserName": "bob", "SubjectDomainName": "CORP",
                                                     "ParentProcessName": "C:\\Windows\\explorer.exe"}))
    out.append(WinEvent(1, "Microsoft-Windows-Kernel-General", "System", "DC1", T0, {"Image": "not a process event"}))
    return out


def test_writer_round_trips_through_the_evtx_package(tmp_path: Path) -> None:
    path = tmp_path / "a.evtx"
    assert write_evtx(path, events(1)) == 4
    records = list(evtx.PyEvtxParser(str(path)).records_json())
    assert [r["event_record_id"] for r in records] == [1, 2, 3, 4]
    assert '"CommandLine":"wevtutil cl 0"' in records[0]["data"]


def test_evtx_reader_maps_process_creation_only(tmp_path: Path) -> None:
    path = tmp_path / "a.evtx"
    write_evtx(path, events(3))
    table, report = read_table(path)
    assert report.format == "evtx" and table.schema == PROCESS_SCHEMA
    assert (report.read, report.parsed, report.rejected) == (4, 4, 0)
    assert report.notes == ["4 non-process-creation events ignored"]
    rows = table.to_pylist()
    assert [r["process.pid"] for r in rows] == [100, 101, 102, 0x1A2C]
    assert rows[0]["process.name"] == "wevtutil.exe" and rows[0]["process.hash.sha256"] == "5293a9"
    assert rows[0]["@timestamp"].isoformat() == "2024-10-22T15:39:16.070000+00:00"
    assert rows[3]["process.parent.command_line"] is None and rows[3]["user.name"] == "CORP\\bob"
    assert rows[3]["@timestamp"] == T0 and rows[3]["host.name"] == "DC1" and rows[3]["process.name"] == "Cmd.exe"


def test_corrupt_record_is_rejected_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "c.evtx"
    write_evtx(path, events(3), corrupt=[3])
    table, report = read_table(path)
    assert table.num_rows == 3 and report.rejected == 1 and report.read == 4  # record 3 was a Sysmon 1
    assert report.rejections[0].source.line == 3 and "record 3" in report.rejections[0].reason


def test_many_chunks_and_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.evtx"
    write_evtx(path, events(400))
    assert path.stat().st_size > 4096 + 2 * 65536
    table, report = read_table(path)
    assert table.num_rows == 401 and report.rejected == 0


def test_gzipped_evtx(tmp_path: Path) -> None:
    path = tmp_path / "a.evtx"
    write_evtx(path, events(2))
    packed = tmp_path / "a.evtx.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    table, report = read_table(packed)
    assert table.num_rows == 3 and report.format == "evtx"
