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


def test_many_failed_odd_lookups_alert_without_any_name_alert() -> None:
    """A word-DGA bot: no name reaches the per-name threshold, but 12 distinct registered domains with
    middling scores fail with NXDOMAIN; a client with failed look-ups of ordinary-looking names, or too
    few odd ones, does not alert."""
    bot = [("10.0.0.5", f"{a}{b}.com", 0.35, "NXDOMAIN") for a, b in zip(["summer", "yellow", "double", "market", "garden", "silver",
                                                                          "answer", "winter", "stone", "music", "plain", "quiet"],
                                                                         ["paper", "house", "river", "light", "story", "chair",
                                                                          "glass", "money", "follow", "travel", "father", "nature"])]
    typo = [("10.0.0.9", f"gogle{i}.com", 0.1, "NXDOMAIN") for i in range(15)]
    few = [("10.0.0.7", f"odd{i}x.net", 0.5, "NXDOMAIN") for i in range(9)]
    scored = pd.DataFrame(bot + typo + few, columns=["source.ip", "domain.normalized", "score", "dns.response_code"])
    scored["alert"] = False
    hosts = host_view(scored, threshold=0.98).set_index("source.ip")
    assert hosts.loc["10.0.0.5", "host_alert"] and hosts.loc["10.0.0.5", "failed_odd_domains"] == 12
    assert hosts.loc["10.0.0.5", "dga_like_domains"] == 0 and "rendezvous domain" in hosts.loc["10.0.0.5", "reasons"]
    assert not hosts.loc["10.0.0.9", "host_alert"] and hosts.loc["10.0.0.9", "failed_odd_domains"] == 0
    assert not hosts.loc["10.0.0.7", "host_alert"] and hosts.loc["10.0.0.7", "failed_odd_domains"] == 9
