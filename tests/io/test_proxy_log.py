"""Proxy access logs: Squid native and W3C extended, read as `proxy` events with an absolute `url.full`."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from nightjar.io import read_table
from nightjar.io.proxy_log import connect_url

SQUID = """\
1700000000.123    180 10.0.0.5 TCP_MISS/200 411 GET http://example.com/a?b=1 - HIER_DIRECT/93.184.216.34 text/html
1700000001.500     12 10.0.0.6 TCP_TUNNEL/200 5120 CONNECT login.example.org:443 alice HIER_DIRECT/1.2.3.4 -
not a squid line at all
1700000002.000     50 10.0.0.5 TCP_DENIED/403 0 GET http://bad.test/x - HIER_NONE/- text/html
1700000003.000     50 10.0.0.7 TCP_MISS/200 - GET
1700000004.000      7 10.0.0.8 TCP_TUNNEL/200 99 CONNECT mail.example.net:8443 - HIER_DIRECT/5.6.7.8 -
"""

W3C = """\
#Software: SGOS 6.7.4.1
#Version: 1.0
#Date: 2024-05-01 00:00:00
#Fields: date time time-taken c-ip cs-username s-action sc-status cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query cs(User-Agent) sc-bytes
2024-05-01 10:00:01 15 10.1.1.1 bob TCP_NC_MISS 200 GET http www.example.com 80 /index.html - "Mozilla/5.0 (Windows NT 10.0; Win64)" 1024
2024-05-01 10:00:02 20 10.1.1.2 - TCP_TUNNELED 200 CONNECT tcp secure.example.org 443 / - "Mozilla/5.0" 0
2024-05-01 10:00:03 20 10.1.1.2 - TCP_NC_MISS 200 GET https drive.example.com 8443 /file/d/abc ?usp=sharing "Mozilla/5.0" 300
2024-05-01 10:00:04 oops
"""


def test_squid_native_log_reads_every_line_and_rejects_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(SQUID.encode()))
    table, report = read_table(path)
    assert report.format == "proxy_squid"
    assert (report.read, report.parsed, report.rejected) == (6, 4, 2)
    assert [r.source.line for r in report.rejections] == [3, 5]
    rows = table.to_pylist()
    assert [r["url.full"] for r in rows] == ["http://example.com/a?b=1", "https://login.example.org", "http://bad.test/x",
                                             "https://mail.example.net:8443"]
    assert rows[1]["url.original"] == "login.example.org:443" and rows[1]["user.name"] == "alice"
    assert rows[0]["user.name"] is None and rows[0]["destination.ip"] == "93.184.216.34"
    assert rows[0]["http.response.status_code"] == 200 and rows[0]["http.response.bytes"] == 411
    assert rows[0]["@timestamp"] == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc)
    assert rows[2]["destination.ip"] is None and rows[2]["event.action"] == "TCP_DENIED"


def test_w3c_extended_log_builds_urls_from_their_parts(tmp_path: Path) -> None:
    path = tmp_path / "proxysg.log"
    path.write_text(W3C)
    table, report = read_table(path)
    assert report.format == "proxy_w3c"
    assert (report.read, report.parsed, report.rejected) == (4, 3, 1)
    assert report.rejections[0].source.line == 8 and "expected 15 fields" in report.rejections[0].reason
    rows = table.to_pylist()
    assert [r["url.full"] for r in rows] == ["http://www.example.com/index.html", "https://secure.example.org",
                                             "https://drive.example.com:8443/file/d/abc?usp=sharing"]
    assert rows[0]["user_agent.original"] == "Mozilla/5.0 (Windows NT 10.0; Win64)"
    assert rows[0]["user.name"] == "bob" and rows[1]["user.name"] is None
    assert rows[0]["@timestamp"] == datetime(2024, 5, 1, 10, 0, 1, tzinfo=timezone.utc)


def test_connect_targets_become_https_urls() -> None:
    assert connect_url("a.example:443") == "https://a.example"
    assert connect_url("a.example:8443") == "https://a.example:8443"
    assert connect_url("a.example") == "https://a.example"


def test_score_url_reads_proxy_logs_row_for_row(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nightjar import commands  # noqa: F401  (registers the commands)
    from nightjar.cli import app

    log = tmp_path / "access.log"
    log.write_text(SQUID)
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(app, ["score", "url", str(log), "-o", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert len(scored) == 4  # 6 lines read = 4 scored + 2 rejected by the reader
    assert scored["url"].tolist()[1] == "https://login.example.org"
    assert scored["score"].between(0, 1).all()
