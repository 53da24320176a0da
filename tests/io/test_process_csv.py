"""Process CSV reader: CamelCase, snake_case and ECS headers; extra columns kept; bad rows rejected."""

from __future__ import annotations

from pathlib import Path

from nightjar.io import read_table
from nightjar.io.process_csv import ProcessCsvReader
from nightjar.io.process_events import PROCESS_SCHEMA
from nightjar.io.sources import Source


def test_sysmon_camelcase(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text('UtcTime,Computer,EventID,Image,CommandLine,ProcessId,ParentImage,Hashes,label\n'
                    '2024-01-01 00:00:00.1234567,h1,1,C:\\a\\A.exe,"a ""q"", b",12,C:\\p.exe,"MD5=AB,SHA1=CD",bad\n')
    table, report = read_table(path)
    row = table.to_pylist()[0]
    assert table.schema.names == PROCESS_SCHEMA.names + ["label"]
    assert row["process.command_line"] == 'a "q", b' and row["process.name"] == "A.exe" and row["process.parent.name"] == "p.exe"
    assert row["process.hash.md5"] == "ab" and row["event.code"] == "1" and row["host.name"] == "h1" and row["label"] == "bad"
    assert row["@timestamp"].isoformat() == "2024-01-01T00:00:00.123456+00:00"


def test_snake_case_with_event_source_hex_pids_and_extras(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("dataset,event_source,timestamp,host,user,pid,image,command_line,ppid,parent_image,parent_command_line\n"
                    "ds1,security_4688,2020-06-10T02:51:05.734Z,DC,MORDOR\\DC$,0x7d8,C:\\s.exe,s,0x2b8,C:\\p.exe,\n")
    table, _ = read_table(path)
    row = table.to_pylist()[0]
    assert row["event.code"] == "4688" and row["process.pid"] == 0x7D8 and row["process.parent.pid"] == 0x2B8
    assert row["process.parent.command_line"] is None and row["dataset"] == "ds1" and row["user.name"] == "MORDOR\\DC$"


def test_ecs_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("@timestamp,process.command_line,process.executable,process.pid,user.name,user.domain\n2024-01-01T00:00:00Z,x y,C:\\x.exe,5,al,CORP\n")
    table, _ = read_table(path)
    assert table.to_pylist()[0]["user.name"] == "CORP\\al" and table.column_names == PROCESS_SCHEMA.names


def test_bad_rows_rejected_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("Image,CommandLine,ProcessId,UtcTime\nC:\\a.exe,a,1,2024-01-01\nC:\\b.exe,b\nC:\\c.exe,c,zz,2024-01-01\nC:\\d.exe,d,2,not a time\nC:\\e.exe,e,3,2024-01-01\n")
    table, report = read_table(path)
    assert table.num_rows == 2 and (report.read, report.parsed, report.rejected) == (5, 2, 3)
    assert sorted(r.source.line for r in report.rejections) == [3, 4, 5]


def test_sniff_needs_a_process_column(tmp_path: Path) -> None:
    reader = ProcessCsvReader()
    assert not reader.sniff(Source(tmp_path / "x.csv"), b"domain,label\nexample.com,0\n")
    assert not reader.sniff(Source(tmp_path / "x.csv"), b'{"Image": "a"}\n')
    assert reader.sniff(Source(tmp_path / "x.csv"), b"\xef\xbb\xbfImage,CommandLine\na,b\n")
