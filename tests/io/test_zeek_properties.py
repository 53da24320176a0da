"""Property tests: garbage into the Zeek readers never crashes, and every line is accounted for."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_json import json_batches
from nightjar.io.zeek_tsv import tsv_batches

HEADER = (
    b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    b"#fields\tts\tuid\tid.orig_p\tduration\tlocal_orig\ttunnel_parents\n"
    b"#types\ttime\tstring\tport\tinterval\tbool\tset[string]\n"
)
FIELD = st.one_of(
    st.sampled_from(["-", "(empty)", "T", "F", "1713484795.5", "12", "-3", "0.25", "a,b", "nan", "1e400", "\\x2d", "#"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)
TSV_LINE = st.one_of(
    st.lists(FIELD, min_size=0, max_size=9).map(lambda fs: "\t".join(fs).encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
)
JSON_LINE = st.one_of(
    st.fixed_dictionaries(
        {"ts": st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=30), st.none()),
         "uid": st.one_of(st.text(max_size=5), st.integers()),
         "id.orig_p": st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=3)),
         "query": st.one_of(st.text(max_size=10), st.lists(st.text(max_size=3), max_size=3))},
        optional={"qtype": st.integers(), "answers": st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3),
                  "RD": st.one_of(st.booleans(), st.text(max_size=2))},
    ).map(lambda record: json.dumps(record).encode()),  # stdlib json: big ints and NaN make nasty lines
    st.binary(max_size=40),
)


def records(lines: list[bytes]) -> int:
    """Non-empty, non-comment lines (a trailing carriage return belongs to the line break)."""
    count = 0
    for line in b"\n".join(lines).split(b"\n"):
        line = line[:-1] if line.endswith(b"\r") else line
        count += bool(line) and not line.startswith(b"#")
    return count


def run(reader, name: str, data: bytes, batch_rows: int) -> ReadReport:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        report = ReadReport(name)
        rows = sum(b.table.num_rows for b in reader(Source(path), report, batch_rows))
    assert report.read == report.parsed + report.rejected
    assert rows == report.parsed
    return report


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(TSV_LINE, max_size=25), batch_rows=st.integers(1, 50))
def test_tsv_garbage_never_crashes_and_balances(lines: list[bytes], batch_rows: int) -> None:
    report = run(tsv_batches, "conn.log", HEADER + b"\n".join(lines), batch_rows)
    assert report.read == records(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(JSON_LINE, max_size=25), batch_rows=st.integers(1, 50))
def test_json_garbage_never_crashes_and_balances(lines: list[bytes], batch_rows: int) -> None:
    report = run(json_batches, "dns.log", b"\n".join(lines), batch_rows)
    expected = sum(1 for line in b"\n".join(lines).split(b"\n") if line.strip() and not line.strip().startswith(b"#"))
    assert report.read == expected


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_tsv_any_bytes_after_header(data: bytes) -> None:
    run(tsv_batches, "conn.log", HEADER + data, 7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(TSV_LINE, max_size=25), batch_rows=st.integers(1, 50),
       fields=st.sets(st.sampled_from(["@timestamp", "zeek.session_id", "source.port", "zeek.conn.duration",
                                       "zeek.conn.local_orig", "zeek.conn.tunnel_parents", "zeek.conn.extra_1"])))
def test_tsv_projection_reads_and_rejects_like_a_full_read(lines: list[bytes], batch_rows: int, fields: set[str]) -> None:
    """Asking for some fields gives those columns of the full read, and the same accounting and rejections."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conn.log"
        path.write_bytes(HEADER + b"\n".join(lines))
        full, part = ReadReport("conn.log"), ReadReport("conn.log")
        full_tables = [b.table for b in tsv_batches(Source(path), full, batch_rows)]
        part_tables = [b.table for b in tsv_batches(Source(path), part, batch_rows, {"conn": fields})]
    assert (part.read, part.parsed, part.rejected, part.rejections) == (full.read, full.parsed, full.rejected, full.rejections)
    assert [t.num_rows for t in part_tables] == [t.num_rows for t in full_tables]
    for whole, projected in zip(full_tables, part_tables):
        assert set(fields) & set(whole.column_names) <= set(projected.column_names)
        assert projected.equals(whole.select(projected.column_names))
