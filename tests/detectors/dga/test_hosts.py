"""The host view on a small synthetic DNS table."""

from __future__ import annotations

import pandas as pd

from nightjar.detectors.dga import DgaDetector
from nightjar.detectors.dga.hosts import host_view
from nightjar.scoring import score_frame


def test_host_with_many_dga_names_alerts(shipped: DgaDetector) -> None:
    bot = ["xkqzjvwpbt", "qwpzxkjvbn", "zzkxqwvbpl", "pqxzwkjvtr", "vbnqzxkwjp", "kjzxqpwvbm", "wqzxkvjpbn"]
    rows = [("10.0.0.5", f"{b}.biz", "NXDOMAIN") for b in bot] + [("10.0.0.5", "google.com", "NOERROR")]
    rows += [("10.0.0.9", n, "NOERROR") for n in ["google.com", "e6858.dsce9.akamaiedge.net", "github.com", "wikipedia.org"]]
    dns = pd.DataFrame(rows, columns=["source.ip", "dns.question.name", "dns.response_code"])
    scored = score_frame(shipped, dns)
    hosts = host_view(scored, shipped.threshold_)
    assert hosts["source.ip"].tolist() == ["10.0.0.5", "10.0.0.9"]
    bad, good = hosts.iloc[0], hosts.iloc[1]
    assert bad["host_alert"] and bad["dga_like_domains"] >= 5 and bad["queries"] == 8
    assert bad["dga_like_nxdomain_share"] == 1.0
    assert "distinct DGA-like" in bad["reasons"]
    assert not good["host_alert"] and good["dga_like_domains"] == 0


def test_empty_host_view() -> None:
    assert host_view(pd.DataFrame(), 0.5).empty
