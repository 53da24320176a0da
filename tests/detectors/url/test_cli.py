"""`nightjar score url` end to end with the shipped model: one row per input line, bad input, campaigns."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from nightjar import commands  # noqa: F401  (registers the commands)
from nightjar.cli import app

LINES = ["https://www.wikipedia.org/wiki/Cat", "n/a", "", "example.com/login", "http://[::1]:80/x", "http://%zz.com/",
         "http://a.com/?" + "q" * 10_000, "http://a.com/\x01bad", "http://paypal.com.secure-verify-acct.xyz/webscr/login.php",
         "http://%9a.com/"]  # well-formed escape of a byte that is not UTF-8


def test_score_url_keeps_one_row_per_line_and_writes_campaigns(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "registry"))
    kit = [f"http://h{i}.site{i}.com/ap/{i:016x}/?cmd=_update" for i in range(6)]
    src = tmp_path / "urls.txt"
    src.write_bytes("\n".join(LINES + kit).encode() + b"\nhttp://bad\xff\xfe.com/x\n")
    out, camp = tmp_path / "scored.csv", tmp_path / "campaigns.csv"
    result = CliRunner().invoke(app, ["score", "url", str(src), "-o", str(out), "--campaigns", str(camp), "--threshold", "0.001"])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored.columns[:4]) == ["url", "score", "alert", "reasons"]
    assert len(scored) == len(LINES) + len(kit) + 1
    by_line = dict(zip(range(len(scored)), scored["reasons"]))
    assert by_line[1] == "placeholder, not a URL" and by_line[2] == "empty line"
    assert scored.loc[1, "score"] == "" and scored.loc[1, "alert"] in (False, "False")
    assert scored.loc[3, "score"] != "" and "no scheme" in by_line[3]
    assert "very long URL" in by_line[6] and "control characters removed" in by_line[7]
    assert "invalid percent-encoding" in by_line[5] and "invalid percent-encoding" in by_line[9]
    assert "not UTF-8" in by_line[len(scored) - 1] or scored.loc[len(scored) - 1, "score"] == ""
    campaigns = pd.read_csv(camp)
    assert list(campaigns.columns[:3]) == ["campaign", "summary", "urls"]
    assert "6 URLs, 6 hosts, one kit: /ap/*/?cmd" in campaigns["summary"].tolist()  # every scored row alerts at 0.001


def test_campaigns_option_is_refused_for_other_detectors(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "registry"))
    src = tmp_path / "d.txt"
    src.write_text("google.com\n")
    result = CliRunner().invoke(app, ["score", "dga", str(src), "-o", str(tmp_path / "o.csv"), "--campaigns", str(tmp_path / "c.csv")])
    assert result.exit_code != 0 and "no campaigns view" in str(result.exception)
