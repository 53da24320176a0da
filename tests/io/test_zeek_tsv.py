"""Zeek TSV reader: header handling, types, markers, labelled columns, bad lines, truncation, naming."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from nightjar.io import Source, detect, read_table
from nightjar.io.report import ReadReport
from nightjar.io.zeek_tsv import tsv_batches

CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes",
               "local_orig", "tunnel_parents"]
CONN_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "bool", "set[string]"]


def zeek_tsv(fields: list[str], types: list[str], rows: list[str], path: str | None = "conn", close: bool = True) -> str:
    """A Zeek TSV log with a standard header."""
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-"]
    if path:
        head.append(f"#path\t{path}")
    head += ["#open\t2024-04-19-00-00-01", "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    tail = ["#close\t2024-04-19-01-00-00"] if close else []
    return "\n".join(head + rows + tail) + "\n"


def conn_row(i: int, **over: str) -> str:
    values = {"ts": f"1713484795.{i:06d}", "uid": f"C{i}", "id.orig_h": "10.0.0.1", "id.orig_p": str(40000 + i),
              "id.resp_h": "10.0.0.2", "id.resp_p": "443", "proto": "tcp", "duration": "1.5", "orig_bytes": "100",
              "local_orig": "T", "tunnel_parents": "-"}
    values.update(over)
    return "\t".join(values[f] for f in CONN_FIELDS)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def read(path: Path, batch_rows: int = 65536) -> tuple[pa.Table, ReadReport, list[str]]:
    report = ReadReport(str(path))
    batches = list(tsv_batches(Source(path), report, batch_rows))
    assert report.balanced
    table = pa.concat_tables([b.table for b in batches]) if batches else pa.table({})
    return table, report, sorted({b.kind for b in batches})


def test_types_names_and_markers(tmp_path: Path) -> None:
    rows = [conn_row(1), conn_row(2, duration="-", orig_bytes="-", local_orig="F", tunnel_parents="(empty)"),
            conn_row(3, uid="(empty)", tunnel_parents="a,b")]
    table, report, kinds = read(write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows)))
    assert kinds == ["conn"] and report.read == 3 and report.parsed == 3 and report.rejected == 0
    assert table.schema.field("@timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("zeek.conn.duration").type == pa.float64()
    assert table.schema.field("source.port").type == pa.int64()
    assert table.schema.field("zeek.conn.local_orig").type == pa.bool_()
    assert table.schema.field("zeek.conn.tunnel_parents").type == pa.list_(pa.string())
    rows_out = table.to_pylist()
    assert rows_out[0]["@timestamp"] == datetime(2024, 4, 18, 23, 59, 55, 1, tzinfo=timezone.utc)
    assert rows_out[0]["source.ip"] == "10.0.0.1" and rows_out[0]["destination.port"] == 443
    assert rows_out[0]["source.bytes"] == 100 and rows_out[0]["network.transport"] == "tcp"
    assert rows_out[1]["zeek.conn.duration"] is None and rows_out[1]["source.bytes"] is None
    assert rows_out[1]["zeek.conn.local_orig"] is False
    assert rows_out[0]["zeek.conn.tunnel_parents"] is None  # "-": unset
    assert rows_out[1]["zeek.conn.tunnel_parents"] == []  # "(empty)": empty set
    assert rows_out[2]["zeek.conn.tunnel_parents"] == ["a", "b"]
    assert rows_out[2]["zeek.session_id"] == ""  # "(empty)" string


def test_timestamp_keeps_microseconds(tmp_path: Path) -> None:
    rows = [conn_row(1, ts="1713484795.943239"), conn_row(2, ts="1713484799.999999")]
    table, _, _ = read(write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows)))
    micros = table.column("@timestamp").cast(pa.int64()).to_pylist()
    assert micros == [1713484795943239, 1713484799999999]


def test_malformed_lines_are_rejected_with_location(tmp_path: Path) -> None:
    rows = [conn_row(1), "garbage", conn_row(3, orig_bytes="lots"), conn_row(4, ts="yesterday"),
            conn_row(5) + "\textra\tmore", conn_row(6, local_orig="maybe"), conn_row(7)]
    path = write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows))
    table, report, _ = read(path)
    assert (report.read, report.parsed, report.rejected) == (7, 3, 4)
    assert table.column("zeek.session_id").to_pylist() == ["C1", "C5", "C7"]
    assert table.column("zeek.conn.extra_1").to_pylist() == [None, "extra", None]
    where = {(r.source.line, r.source.field) for r in report.rejections}
    assert where == {(10, None), (11, "orig_bytes"), (12, "ts"), (14, "local_orig")}


def test_wrong_field_count_only_rows_are_rejected(tmp_path: Path) -> None:
    rows = [conn_row(1), "\t".join(conn_row(2).split("\t")[:5]), conn_row(3)]
    table, report, _ = read(write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows)))
    assert table.column("zeek.session_id").to_pylist() == ["C1", "C3"]
    assert report.rejected == 1 and "expected 11 fields, found 5" in report.rejections[0].reason


def test_close_and_comment_lines_are_not_records(tmp_path: Path) -> None:
    text = zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1), "#a comment", "", conn_row(2)])
    _, report, _ = read(write(tmp_path, "conn.log", text))
    assert (report.read, report.parsed, report.rejected) == (2, 2, 0)


def test_extra_tab_columns_are_kept(tmp_path: Path) -> None:
    rows = [conn_row(1) + "\tMalicious\tC&C", conn_row(2) + "\tBenign\t-", conn_row(3)]
    table, report, _ = read(write(tmp_path, "conn.log.labeled", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows)))
    assert report.rejected == 0 and report.parsed == 3
    assert table.column("zeek.conn.extra_1").to_pylist() == ["Malicious", "Benign", None]
    assert table.column("zeek.conn.extra_2").to_pylist() == ["C&C", None, None]


def test_stratosphere_labelled_columns_split_on_spaces(tmp_path: Path) -> None:
    fields = CONN_FIELDS[:-1] + ["tunnel_parents   label   detailed-label"]
    types = CONN_TYPES[:-1] + ["set[string]   string   string"]
    rows = [conn_row(1, tunnel_parents="-   Malicious   C&C-HeartBeat"), conn_row(2, tunnel_parents="-   Benign   -")]
    table, report, kinds = read(write(tmp_path, "conn.log.labeled", zeek_tsv(fields, types, rows, path=None)))
    assert kinds == ["conn"] and report.rejected == 0
    assert table.column("zeek.conn.label").to_pylist() == ["Malicious", "Benign"]
    assert table.column("zeek.conn.detailed-label").to_pylist() == ["C&C-HeartBeat", None]
    assert table.column("zeek.conn.tunnel_parents").to_pylist() == [None, None]


def test_gzip_and_truncated_gzip(tmp_path: Path) -> None:
    rows = [conn_row(i, uid=f"C{i}-" + "x" * (i % 50)) for i in range(20000)]
    text = zeek_tsv(CONN_FIELDS, CONN_TYPES, rows)
    table, report, _ = read(write(tmp_path, "conn.log.gz", text), batch_rows=5000)
    assert table.num_rows == 20000 and not report.truncated
    whole = gzip.compress(text.encode())
    cut = tmp_path / "cut" / "conn.log.gz"
    cut.parent.mkdir()
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    table, report, _ = read(cut, batch_rows=5000)
    assert report.truncated and any("ended early" in n for n in report.notes)
    assert 5000 < report.parsed < 20000 and report.rejected <= 1
    uids = table.column("zeek.session_id").to_pylist()
    assert uids == [f"C{i}-" + "x" * (i % 50) for i in range(len(uids))]  # everything before the break, in order
    # the reader keeps (almost) all that Python's gzip can recover before the break
    recovered = gzip.GzipFile(fileobj=__import__("io").BytesIO(cut.read_bytes()))
    try:
        plain = recovered.read()
    except EOFError:
        plain = b""
    if plain:
        assert abs(sum(1 for line in plain.split(b"\n") if line and not line.startswith(b"#")) - report.read) <= 1


def test_batches_respect_batch_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(1000)]))
    report = ReadReport(str(path))
    sizes = [b.table.num_rows for b in tsv_batches(Source(path), report, 64)]
    assert sum(sizes) == 1000 and max(sizes) <= 64


def test_empty_and_header_only(tmp_path: Path) -> None:
    table, report, kinds = read(write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, [])))
    assert report.read == 0 and kinds == []
    table, report, kinds = read(write(tmp_path, "dns.log", "#separator \\x09\n"))
    assert report.read == 0


@pytest.mark.parametrize(
    ("name", "path", "fields", "kind"),
    [
        ("conn.log", None, CONN_FIELDS, "conn"),
        ("conn.00:00:00-01:00:00.log.gz", None, CONN_FIELDS, "conn"),
        ("sensor1_dns.log", None, ["ts", "uid"], "dns"),
        ("whatever.log", "http", ["ts", "uid"], "http"),
        ("data.txt", None, ["ts", "uid", "query", "qtype"], "dns"),
        ("data.txt", None, ["ts", "uid", "host", "uri"], "http"),
        ("data.txt", None, ["ts", "uid", "server_name"], "ssl"),
        ("data.txt", None, ["ts", "uid", "conn_state"], "conn"),
        ("known_services.log", None, ["ts", "uid"], "zeek.known_services"),
        ("ssh.log", None, ["ts", "uid", "auth_success"], "zeek.ssh"),
    ],
)
def test_log_type_detection(tmp_path: Path, name: str, path: str | None, fields: list[str], kind: str) -> None:
    types = ["time"] + ["string"] * (len(fields) - 1)
    row = "\t".join(["1713484795.1"] + ["x"] * (len(fields) - 1))
    _, _, kinds = read(write(tmp_path, name, zeek_tsv(fields, types, [row], path=path)))
    assert kinds == [kind]


def test_other_logs_pass_through_with_zeek_names(tmp_path: Path) -> None:
    fields, types = ["ts", "uid", "id.orig_h", "auth_success", "auth_attempts"], ["time", "string", "addr", "bool", "count"]
    table, _, kinds = read(write(tmp_path, "ssh.log", zeek_tsv(fields, types, ["1.0\tC1\t1.2.3.4\tT\t3"], path="ssh")))
    assert kinds == ["zeek.ssh"]
    assert table.column_names == ["@timestamp", "zeek.session_id", "source.ip", "zeek.ssh.auth_success", "zeek.ssh.auth_attempts"]


def test_escapes_are_decoded(tmp_path: Path) -> None:
    fields, types = ["ts", "query", "answers"], ["time", "string", "vector[string]"]
    table, _, _ = read(write(tmp_path, "dns.log", zeek_tsv(fields, types, ["1.0\ta\\x2db\\x09c\tx\\x2cy,z"], path="dns")))
    assert table.column("dns.question.name").to_pylist() == ["a-b\tc"]
    assert table.column("dns.answers.data").to_pylist() == [["x,y", "z"]]


def test_sniff_and_registry(tmp_path: Path) -> None:
    path = write(tmp_path, "conn.log.gz", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1)]))
    assert detect(Source(path)).format == "zeek_tsv"
    table, report = read_table(path)
    assert table.num_rows == 1 and report.format == "zeek_tsv"


# --- projection: only the fields a caller asks for ---------------------------------------------------
BEACON_CONN = {"@timestamp", "source.ip", "destination.ip", "destination.port", "zeek.conn.duration"}


def read_fields(path: Path, fields: dict[str, set[str]] | None, batch_rows: int = 65536) -> tuple[pa.Table, ReadReport]:
    report = ReadReport(str(path))
    batches = list(tsv_batches(Source(path), report, batch_rows, fields))
    assert report.balanced
    return pa.concat_tables([b.table for b in batches]), report


def test_projection_returns_the_fields_asked_for(tmp_path: Path) -> None:
    rows = [conn_row(1), conn_row(2, duration="-", tunnel_parents="a,b"), conn_row(3, uid="(empty)")]
    path = write(tmp_path, "conn.log.gz", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows))
    full, full_report = read_fields(path, None)
    part, report = read_fields(path, {"conn": BEACON_CONN | {"no.such.field"}, "dns": {"dns.question.name"}})
    assert part.column_names == [c for c in full.column_names if c in BEACON_CONN]
    assert part.equals(full.select(part.column_names))
    assert (report.read, report.parsed, report.rejected) == (full_report.read, full_report.parsed, 0) == (3, 3, 0)
    other, _ = read_fields(path, {"dns": {"dns.question.name"}})  # kinds not named: every field
    assert other.equals(full)


def test_projection_to_absent_fields_keeps_the_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1), conn_row(2)]))
    table, report = read_fields(path, {"conn": {"no.such.field"}})
    assert table.num_rows == 2 and report.parsed == 2 and table.num_columns >= 1


def test_projection_rejects_the_same_lines(tmp_path: Path) -> None:
    """Bad values in columns not asked for still reject their line, with line and field, as in a full read."""
    rows = [conn_row(1), "garbage", conn_row(3, orig_bytes="lots"), conn_row(4, ts="yesterday"),
            conn_row(5) + "\textra\tmore", conn_row(6, local_orig="maybe"), conn_row(7, uid="\\x41")]
    path = write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, rows))
    full, full_report = read_fields(path, None)
    only = {"conn": {"source.ip", "zeek.session_id"}}  # orig_bytes, ts and local_orig are not asked for
    table, report = read_fields(path, only)
    assert (report.read, report.parsed, report.rejected) == (full_report.read, full_report.parsed, full_report.rejected) == (7, 3, 4)
    assert report.rejections == [r for r in full_report.rejections]
    assert {(r.source.line, r.source.field) for r in report.rejections} == {(10, None), (11, "orig_bytes"), (12, "ts"), (14, "local_orig")}
    assert table.column_names == ["zeek.session_id", "source.ip"]
    assert table.column("zeek.session_id").to_pylist() == ["C1", "C5", "A"]
    # the fast path too: one bad count in a block of good lines sends the block to salvage
    good = [conn_row(i) for i in range(50)]
    for bad in ({"orig_bytes": "lots"}, {"ts": "1e300"}, {"local_orig": "maybe"}, {"id.orig_p": "99999999999999999999"}):
        path = write(tmp_path, "conn.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, good[:20] + [conn_row(99, **bad)] + good[20:]))
        table, report = read_fields(path, only)
        assert (report.parsed, report.rejected, report.rejections[0].source.line) == (50, 1, 29), bad
        assert report.rejections[0].source.field == next(iter(bad))


def test_projection_of_labelled_columns(tmp_path: Path) -> None:
    fields = CONN_FIELDS[:-1] + ["tunnel_parents   label   detailed-label"]
    types = CONN_TYPES[:-1] + ["set[string]   string   string"]
    rows = [conn_row(1, tunnel_parents="-   Malicious   C&C") + "\tx", conn_row(2, tunnel_parents="-   Benign   -")]
    path = write(tmp_path, "conn.log.labeled", zeek_tsv(fields, types, rows, path=None))
    full, _ = read_fields(path, None)
    table, report = read_fields(path, {"conn": {"zeek.conn.label", "zeek.conn.extra_1"}})
    assert report.parsed == 2 and {"zeek.conn.label", "zeek.conn.extra_1"} <= set(table.column_names)
    assert table.equals(full.select(table.column_names))
    assert table.column("zeek.conn.label").to_pylist() == ["Malicious", "Benign"]


def test_reading_passes_fields_to_readers_that_project(tmp_path: Path) -> None:
    from nightjar.io import Reading

    write(tmp_path, "conn.log.gz", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1)]))
    write(tmp_path, "domains.txt", "example.com\nexample.org\n")  # a reader that cannot project: every field
    reading = Reading([tmp_path], show_progress=False, fields={"conn": {"source.ip"}, "domain": {"nothing"}})
    tables = {b.kind: b.table for b in reading}
    assert tables["conn"].column_names == ["source.ip"]
    assert tables["domain"].num_rows == 2 and "domain" in tables["domain"].column_names
    assert reading.totals() == {"read": 3, "parsed": 3, "rejected": 0, "skipped_files": 0}


# --- each source is opened once: sniffed from a stream that the Zeek TSV reader reads on ----------
@pytest.mark.parametrize("cut", [None, 2 / 3, 0.02])
def test_reading_sniffs_and_reads_one_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: float | None) -> None:
    from nightjar.io import Reading, sources, zeek_stream

    rows = [conn_row(i, uid=f"C{i}-" + "x" * (i % 50)) for i in range(20000)]
    whole = gzip.compress(zeek_tsv(CONN_FIELDS, CONN_TYPES, rows).encode())
    path = tmp_path / "conn.log.gz"
    path.write_bytes(whole if cut is None else whole[: int(len(whole) * cut)])
    direct, report, _ = read(path, batch_rows=5000)  # tsv_batches opening the file itself
    opened: list[str] = []
    init, open_ = zeek_stream.BlockStream.__init__, sources.Source.open
    monkeypatch.setattr(zeek_stream.BlockStream, "__init__", lambda self, source: (opened.append("stream"), init(self, source))[1])
    monkeypatch.setattr(sources.Source, "open", lambda self: (opened.append("open"), open_(self))[1])
    reading = Reading([path], batch_rows=5000, show_progress=False)
    table = pa.concat_tables([b.table for b in reading])
    assert table.equals(direct)
    (shared,) = reading.reports
    assert (shared.read, shared.parsed, shared.rejected, shared.truncated, shared.rejections) == (
        report.read, report.parsed, report.rejected, report.truncated, report.rejections)
    assert opened.count("stream") == 1  # one decompression for the sniffing and the reading
    assert opened.count("open") == (0 if cut is None else 1)  # Python's gzip only to read up to a break


def test_block_stream_peek_leaves_the_bytes_to_read(tmp_path: Path) -> None:
    from nightjar.io.zeek_stream import BlockStream

    data = b"".join(b"line %d\n" % i for i in range(50000))
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(data))
    with BlockStream(Source(path)) as stream:
        assert stream.peek(10) == data[:10] and stream.peek(70000) == data[:70000]
        assert stream.read(5) == data[:5] and stream.peek(3) == data[5:8]
        assert stream.read(1 << 20) + b"".join(iter(stream.read, b"")) == data[5:]
    assert Source(path).head(65536) == data[:65536]


def test_logs_with_one_header_share_a_layout(tmp_path: Path) -> None:
    from nightjar.io.zeek_tsv_layout import build_layout, parse_header

    text = zeek_tsv(CONN_FIELDS, CONN_TYPES, [])
    header = parse_header(text.encode().split(b"\n"))
    again = parse_header(text.encode().split(b"\n"))
    plain, labelled = [conn_row(1).encode()], [(conn_row(1) + "\tMalicious").encode()]
    assert build_layout(header, "conn", plain) is build_layout(again, "conn", plain)
    assert build_layout(header, "conn", plain) is not build_layout(header, "conn", plain, {"source.ip"})
    assert build_layout(header, "conn", labelled).field_names == [*CONN_FIELDS, "extra_1"]
    assert build_layout(header, "conn", plain).field_names == CONN_FIELDS
    # hourly files one after the other: the second one's labels are still read
    first, _, _ = read(write(tmp_path, "conn.1.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(1)])))
    second, _, _ = read(write(tmp_path, "conn.2.log", zeek_tsv(CONN_FIELDS, CONN_TYPES, [conn_row(2) + "\tMalicious"])))
    assert "zeek.conn.extra_1" not in first.column_names and second.column("zeek.conn.extra_1").to_pylist() == ["Malicious"]
