"""The vectorised CSV typing gives exactly the row-by-row table, or declines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightjar.io import process_vector, read_table
from nightjar.io.process_events import ProcessColumns, basename, is_process_creation, split_hashes
from nightjar.io.process_vector import typed_table


def row_path(raw: pa.Table, extra: list[str]) -> pa.Table:
    columns = ProcessColumns(extra)
    for row in raw.to_pylist():
        columns.add(row, 1)
    table, rejected = columns.table()
    assert rejected == []
    return table


def test_same_table_as_the_row_path() -> None:
    raw = pa.table({
        "@timestamp": ["2024-10-25 10:03:02.9856973", "2024-10-25T10:03:03Z", "2024-10-25 10:03:04+00:00"],
        "process.pid": ["2732", "12.0", "-"],
        "process.executable": ["C:\\Windows\\System32\\cmd.exe", "-", "/usr/bin/curl"],
        "process.name": [None, "x.exe", ""],
        "Hashes": ["SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=12", "", "MD5=FF"],
        "label": ["attack", "", "-"],
    })
    fast = typed_table(raw, ["label"])
    assert fast is not None
    assert fast.equals(row_path(raw, ["label"]))
    assert fast.column("process.name").to_pylist() == ["cmd.exe", "x.exe", "curl"]
    assert fast.column("process.hash.md5").to_pylist() == ["cd", None, "ff"]


@pytest.mark.parametrize(
    ("times", "pids"),
    [(["2024-10-25 10:03:02.985697+00:00", "2024-10-25 10:03:03+00:00"], ["2732.0", "12"]),  # pandas' own shapes
     (["2024-10-25 10:03:02.9856973+00:00", " 2024-10-25 10:03:03+00:00"], [" 12.0", "7.0 "]),  # the regex path
     (["2024-10-25T10:03:02Z", "2024-10-25 10:03:03.1234567Z"], ["0.0", "4.0"]),
     (["2024-10-25 10:03:02+00:00", None], [None, "5.0"])],
)
def test_common_time_and_pid_shapes_read_as_the_row_path(times: list[str | None], pids: list[str | None]) -> None:
    raw = pa.table({"@timestamp": pa.array(times, pa.string()), "process.pid": pa.array(pids, pa.string()),
                    "process.executable": ["a.exe", "b.exe"]})
    fast = typed_table(raw, [])
    assert fast is not None and fast.equals(row_path(raw, []))


@pytest.mark.parametrize(
    ("column", "value"),
    [("process.pid", "0x1a2c"), ("@timestamp", "2024-10-25 10:03:02+02:00"), ("@timestamp", "yesterday"),
     ("winlog.event_data.IntegrityLevel", "S-1-16-12288"), ("user.domain", "CORP"), ("process.pid", "12.5")],
)
def test_declines_what_only_the_row_path_handles(column: str, value: str) -> None:
    assert typed_table(pa.table({column: [value], "process.executable": ["a.exe"]}), []) is None


def test_csv_reader_fast_and_row_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "UtcTime,Computer,Image,CommandLine,ProcessId,Hashes,label\n"
        "2024-10-25 10:03:02.123,WS1,C:\\cmd.exe,cmd /c whoami,42,MD5=AA,bad\n"
        "2024-10-25 10:03:03.123,WS1,C:\\x.exe,x,43,,ok,extra\n"
        "2024-10-25 10:03:04.123,WS2,C:\\y.exe,y,44,,ok\n"
    )
    fast, report = read_table(path)
    monkeypatch.setattr(process_vector, "typed_table", lambda raw, extra: None)
    slow, slow_report = read_table(path)
    assert fast.equals(slow)
    assert (report.read, report.parsed, report.rejected) == (slow_report.read, slow_report.parsed, slow_report.rejected) == (3, 2, 1)


_PATH_TEXT = st.text(alphabet=st.sampled_from(list("ab.\\/ :É")), max_size=12)
_HASH_TEXT = st.lists(
    st.one_of(st.sampled_from(["MD5", "md5", " SHA1 ", "SHA256", "IMPHASH", "imphash", "X", ""]), st.text(max_size=4)).flatmap(
        lambda name: st.text(alphabet=st.sampled_from(list("aB0= \t,\x1f")), max_size=6).map(lambda digest: f"{name}={digest}")
    ),
    max_size=5,
).map(",".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _PATH_TEXT), max_size=8))
def test_basenames_as_the_row_path(paths: list[str | None]) -> None:
    assert process_vector.basenames(pa.array(paths, pa.string())).to_pylist() == [None if p is None else basename(p) for p in paths]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _HASH_TEXT, st.text(max_size=10)), max_size=8))
def test_split_hashes_as_the_row_path(texts: list[str | None]) -> None:
    found = process_vector.split_hashes(pa.array(texts, pa.string()))
    for i, text in enumerate(texts):
        expected = split_hashes(text) if text is not None else {}
        assert {field: column[i].as_py() for field, column in found.items() if column[i].is_valid} == expected


_NAMES = st.one_of(st.none(), st.sampled_from(["", "Security", "SECURİTY", "Microsoft-Windows-Sysmon/Operational", "microsoft-windows-sysmon",
                                               "Microsoft-Windows-Security-Auditing", "System"]), st.text(max_size=5))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["1", "4688", "3", " 1"])), _NAMES, _NAMES), max_size=8))
def test_creation_mask_as_the_row_path(rows: list[tuple[str | None, str | None, str | None]]) -> None:
    codes, channels, providers = (pa.array(list(column), pa.string()) for column in zip(*rows)) if rows else [pa.array([], pa.string())] * 3
    expected = [code is not None and is_process_creation(code, channel, provider) and code.strip() == code for code, channel, provider in rows]
    assert process_vector.creation_mask(codes, channels, providers).to_pylist() == expected
