"""Matching alerts to the truth: table-driven, on a truth and alert documents built here."""

from __future__ import annotations

import pytest

from nightjar.lab.evaluate import evaluate_alerts, norm_url
from nightjar.lab.truth import Truth


def truth() -> Truth:
    t = Truth({"seed": 0})
    t.add("dga", "T1568.002", "bot", 0.0, {"host.name": "WS1", "source.ip": "10.0.0.5", "domains": ["abc123def456.info", "q1w2e3r4t5.org"]})
    t.add("url", "T1566.002", "mail", 0.0, {"url": "http://evil.top/login.php?x=1", "recipient": "a@b", "where": "mail"})
    t.add("url", "T1204.001", "click", 0.0, {"url": "http://evil.top/login.php?x=1", "source.ip": "10.0.0.7", "where": "http"})
    t.add("lotl", "T1059.001", "ps", 0.0, {"host.name": "WS1", "process.entity_id": "{p1}", "process.command_line": "powershell -enc AA"})
    t.add("beacon", "T1071.001", "beacon", 0.0, {"source.ip": "10.0.0.7", "destination.ip": "185.1.1.1", "destination.port": 443,
                                                 "destination.domain": "c2.example.net", "interval": 300, "jitter": 0.2})
    return t


def alert(kind: str, score: float = 0.99, **fields: object) -> dict:
    return {**fields, "nightjar": {kind: {"score": score, "entity": str(next(iter(fields.values()), ""))}}}


CASES = [  # (name, alert, detector, expected: "tp" | "fp" | "other")
    ("dga name of the bot", alert("dga", **{"domain.normalized": "abc123def456.info", "source.ip": "10.0.0.5"}), "dga", "tp"),
    ("dga name, trailing dot and case", alert("dga", **{"dns": {"question": {"name": "Q1W2E3R4T5.ORG."}}}), "dga", "tp"),
    ("dga on a phishing host is another attack", alert("dga", **{"domain": "evil.top"}), "dga", "other"),
    ("dga on a CDN name", alert("dga", **{"domain": "d1a2b3c4.cloudfront.net"}), "dga", "fp"),
    ("url in the mail log", alert("url", **{"url": {"full": "HTTP://EVIL.TOP/login.php?x=1"}}), "url", "tp"),
    ("url of the click's page resource", alert("url", **{"url.full": "http://evil.top/logo.png", "source.ip": "10.0.0.7"}), "url", "tp"),
    ("url on the C2 domain", alert("url", **{"url.full": "http://c2.example.net/a.dll", "source.ip": "10.0.0.9"}), "url", "other"),
    ("benign url", alert("url", **{"url.full": "https://teams.microsoft.com/l/x"}), "url", "fp"),
    ("planted process", alert("lotl", **{"process.entity_id": "{p1}"}), "lotl", "tp"),
    ("admin's process", alert("lotl", **{"process.entity_id": "{p2}"}), "lotl", "fp"),
    ("beacon pair by address", alert("beacon", **{"source.ip": "10.0.0.7", "destination.ip": "185.1.1.1", "destination.port": 443}), "beacon", "tp"),
    ("beacon pair by name", alert("beacon", **{"source.ip": "10.0.0.7", "destination.domain": "C2.example.net"}), "beacon", "tp"),
    ("beacon, other port", alert("beacon", **{"source.ip": "10.0.0.7", "destination.ip": "185.1.1.1", "destination.port": 80}), "beacon", "fp"),
    ("NTP to the DC", alert("beacon", **{"source.ip": "10.0.0.7", "destination.ip": "10.0.0.1", "destination.port": 123}), "beacon", "fp"),
]


@pytest.mark.parametrize(("name", "doc", "kind", "expected"), CASES, ids=[c[0] for c in CASES])
def test_one_alert_is_classified(name: str, doc: dict, kind: str, expected: str) -> None:
    r = evaluate_alerts(truth(), [doc])[kind]
    got = {"tp": r.true_positives, "fp": r.false_positives, "other": r.other_attack}
    assert got == {k: int(k == expected) for k in got}
    assert r.alerts == 1


def test_counts_found_missed_and_best_scores() -> None:
    docs = [alert("dga", 0.95, domain="abc123def456.info"), alert("dga", 0.99, domain="q1w2e3r4t5.org"),
            alert("url", **{"url.full": "http://evil.top/login.php?x=1"}), alert("lotl", **{"process.entity_id": "{zz}"})]
    results = evaluate_alerts(truth(), docs, detectors=["dga", "url", "lotl"])
    assert (results["dga"].found, results["dga"].true_positives, results["dga"].best_scores) == (1, 2, {"dga-1": 0.99})
    assert results["url"].found == 1 and [a.id for a in results["url"].missed] == ["url-2"]  # the click was not seen
    assert results["lotl"].found == 0 and results["lotl"].fp_entities == 1
    assert results["beacon"].planted == 1 and not results["beacon"].ran


def test_norm_url() -> None:
    assert norm_url("HTTP://Evil.TOP/A?b=C") == "http://evil.top/A?b=C"
    assert norm_url("evil.top/") == "http://evil.top"


def test_a_zeek_http_alert_is_matched_by_host_and_uri() -> None:
    doc = alert("url", **{"url": {"domain": "evil.top", "original": "/login.php?x=1"}, "source": {"ip": "10.0.0.7"}})
    r = evaluate_alerts(truth(), [doc])["url"]
    assert (r.true_positives, r.found_ids) == (1, ["url-2"])
