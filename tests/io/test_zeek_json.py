"""Zeek JSON lines reader: epoch and ISO ts, `_` field names, bad lines, log-type detection, sniffing."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from nightjar.errors import InputError
from nightjar.io import Source, detect
from nightjar.io.report import ReadReport
from nightjar.io.zeek_json import json_batches


def write_json(tmp_path: Path, name: str, records: list[object], extra: bytes = b"") -> Path:
    data = b"\n".join(orjson.dumps(r) for r in records) + b"\n" + extra
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def read(path: Path, batch_rows: int = 65536) -> tuple[pa.Table, ReadReport, list[str]]:
    report = ReadReport(str(path))
    batches = list(json_batches(Source(path), report, batch_rows))
    assert report.balanced
    table = pa.concat_tables([b.table for b in batches], promote_options="permissive") if batches else pa.table({})
    return table, report, sorted({b.kind for b in batches})


def dns(i: int, **over: object) -> dict[str, object]:
    record: dict[str, object] = {"ts": 1713484800.5 + i, "uid": f"C{i}", "id.orig_h": "10.0.0.1", "id.orig_p": 5353,
                                 "id.resp_h": "8.8.8.8", "id.resp_p": 53, "proto": "udp", "query": f"q{i}.example.com",
                                 "qtype": 1, "qtype_name": "A", "answers": ["1.1.1.1", "2.2.2.2"], "TTLs": [60.0, 30.0],
                                 "RD": True, "rtt": 0.01}
    record.update(over)
    return record


def test_epoch_ts_types_and_names(tmp_path: Path) -> None:
    table, report, kinds = read(write_json(tmp_path, "dns.log", [dns(0), dns(1, answers=[])]))
    assert kinds == ["dns"] and (report.read, report.parsed) == (2, 2)
    assert table.schema.field("@timestamp").type == pa.timestamp("us", tz="UTC")
    first = table.to_pylist()[0]
    assert first["@timestamp"] == datetime(2024, 4, 19, 0, 0, 0, 500000, tzinfo=timezone.utc)
    assert first["dns.question.name"] == "q0.example.com" and first["destination.port"] == 53
    assert first["dns.answers.data"] == ["1.1.1.1", "2.2.2.2"] and first["zeek.dns.RD"] is True
    assert table.column("dns.answers.data").to_pylist()[1] == []
    assert table.schema.field("zeek.dns.rtt").type == pa.float64()


def test_iso_ts_and_underscore_names(tmp_path: Path) -> None:
    records = [{"ts": "2024-04-19T00:00:01.250000Z", "uid": "C1", "id_orig_h": "10.0.0.1", "id_orig_p": 1234,
                "id_resp_h": "10.0.0.2", "id_resp_p": 80, "host": "a.example", "uri": "/x", "status_code": 200}]
    table, report, kinds = read(write_json(tmp_path, "http_events.json", records))
    assert kinds == ["http"] and report.parsed == 1
    row = table.to_pylist()[0]
    assert row["@timestamp"] == datetime(2024, 4, 19, 0, 0, 1, 250000, tzinfo=timezone.utc)
    assert row["source.ip"] == "10.0.0.1" and row["destination.port"] == 80
    assert row["url.domain"] == "a.example" and row["http.response.status_code"] == 200
    assert "id_orig_h" not in " ".join(table.column_names)


def test_mixed_ts_forms_are_converted(tmp_path: Path) -> None:
    records = [dns(0), dns(1, ts="2024-04-19T00:00:03.5Z"), dns(2)]
    table, report, _ = read(write_json(tmp_path, "dns.log", records))
    assert report.parsed == 3 and report.rejected == 0
    assert table.column("@timestamp").to_pylist()[1] == datetime(2024, 4, 19, 0, 0, 3, 500000, tzinfo=timezone.utc)


def test_bad_lines_are_rejected_not_fatal(tmp_path: Path) -> None:
    records = [dns(0), dns(1, qtype="A"), [1, 2], dns(3, ts="not a time"), dns(4)]
    path = write_json(tmp_path, "dns.log", records, extra=b'{"ts": 1, "uid": \n\n#comment\n')
    table, report, _ = read(path)
    assert (report.read, report.parsed, report.rejected) == (6, 2, 4)
    assert table.column("zeek.session_id").to_pylist() == ["C0", "C4"]
    where = {(r.source.line, r.source.field) for r in report.rejections}
    assert where == {(2, "qtype"), (3, None), (4, "ts"), (6, None)}


@pytest.mark.parametrize(
    ("name", "record", "kind"),
    [
        ("x.json", {"ts": 1.0, "uid": "C", "query": "a.b", "qtype": 1}, "dns"),
        ("x.json", {"ts": 1.0, "uid": "C", "host": "a.b", "uri": "/"}, "http"),
        ("x.json", {"ts": 1.0, "uid": "C", "server_name": "a.b"}, "ssl"),
        ("x.json", {"ts": 1.0, "uid": "C", "orig_bytes": 3}, "conn"),
        ("x.json", {"ts": 1.0, "uid": "C", "_path": "ssh", "auth_success": True}, "zeek.ssh"),
        ("conn.log", {"ts": 1.0, "uid": "C"}, "conn"),
        ("HOST_ssl.log.gz", {"ts": 1.0, "uid": "C"}, "ssl"),
    ],
)
def test_log_type_detection(tmp_path: Path, name: str, record: dict[str, object], kind: str) -> None:
    _, _, kinds = read(write_json(tmp_path, name, [record]))
    assert kinds == [kind]


def test_sniff(tmp_path: Path) -> None:
    assert detect(Source(write_json(tmp_path, "a.json", [dns(0)]))).format == "zeek_json"
    assert detect(Source(write_json(tmp_path, "b.json", [{"ts": 1.0, "id_orig_h": "1.2.3.4"}]))).format == "zeek_json"
    other = write_json(tmp_path, "c.json", [{"ts": 1.0, "message": "hello"}])
    try:
        fmt = detect(Source(other)).format
    except InputError:
        fmt = None
    assert fmt != "zeek_json"


def test_truncated_gzip_keeps_records_before_break(tmp_path: Path) -> None:
    data = b"\n".join(orjson.dumps(dns(i)) for i in range(20000)) + b"\n"
    whole = gzip.compress(data)
    path = tmp_path / "dns.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    table, report, _ = read(path, batch_rows=4000)
    assert report.truncated and 2000 < report.parsed < 20000 and report.rejected <= 1
    assert table.column("zeek.session_id").to_pylist() == [f"C{i}" for i in range(report.parsed)]
