"""Zeek readers on the public datasets in ../shared/data (skipped when absent).

Expected counts are the non-`#` lines of each log, counted with `zcat ... | grep -v '^#' | grep -c .`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from nightjar.io import Reading, read_table

pytestmark = pytest.mark.shared_data

RITA = {"conn": 105918, "dns": 5432, "http": 18829, "ssl": 139, "zeek.ssh": 17299, "zeek.notice": 23}
OTRF = {
    "LSASS_campaign_01": {"conn": 112, "dns": 96, "http": 3, "ssl": 5},
    "LSASS_campaign_02": {"conn": 119, "dns": 147, "http": 3},
    "LSASS_campaign_03": {"conn": 126, "dns": 149, "http": 1},
    "LSASS_campaign_04": {"conn": 116, "dns": 121, "http": 4},
    "LSASS_campaign_05": {"conn": 895, "dns": 2872, "http": 3, "ssl": 2},
    "LSASS_campaign_06": {"conn": 777, "dns": 2312, "http": 3, "ssl": 2},
    "LSASS_campaign_07": {"conn": 566, "dns": 1523, "http": 3, "ssl": 2},
}


@pytest.fixture(scope="module")
def rita(shared_data: Path) -> tuple[dict[str, pa.Table], Reading]:
    reading = Reading([shared_data / "beacon" / "rita_missing_host"], show_progress=False)
    parts: dict[str, list[pa.Table]] = {}
    for batch in reading:
        parts.setdefault(batch.kind, []).append(batch.table)
    return {kind: pa.concat_tables(tables) for kind, tables in parts.items()}, reading


def test_rita_counts_all_parsed(rita: tuple[dict[str, pa.Table], Reading]) -> None:
    tables, reading = rita
    assert {kind: t.num_rows for kind, t in tables.items()} == RITA
    zeek_reports = [r for r in reading.reports if r.format == "zeek_tsv"]
    assert len([r for r in zeek_reports if "/conn." in r.source]) == 72
    assert all(r.balanced and r.rejected == 0 and not r.truncated for r in zeek_reports)
    assert sum(r.parsed for r in zeek_reports) == sum(RITA.values())


def test_rita_conn_content(rita: tuple[dict[str, pa.Table], Reading]) -> None:
    conn = rita[0]["conn"]
    assert conn.schema.field("@timestamp").type == pa.timestamp("us", tz="UTC")
    assert conn.column("source.ip").null_count == 0 and conn.column("@timestamp").null_count == 0
    pairs = Counter(zip(conn.column("source.ip").to_pylist(), conn.column("destination.port").to_pylist()))
    assert pairs[("73.54.23.243", 80)] >= 900  # the planted beacon (950 connections per the dataset notes)


def test_rita_dns_answers_are_lists(rita: tuple[dict[str, pa.Table], Reading]) -> None:
    dns = rita[0]["dns"]
    assert dns.schema.field("dns.answers.data").type == pa.list_(pa.string())
    assert any(len(a) > 1 for a in dns.column("dns.answers.data").to_pylist() if a)


@pytest.mark.parametrize("campaign", sorted(OTRF))
def test_otrf_lsass_counts(shared_data: Path, campaign: str) -> None:
    folder = shared_data / "beacon" / "otrf_lsass_campaign_zeek" / campaign
    for kind, expected in OTRF[campaign].items():
        table, report = read_table(folder / f"{kind}.log")
        assert (table.num_rows, report.parsed, report.rejected, report.read) == (expected, expected, 0, expected)
        assert report.format == "zeek_tsv"
