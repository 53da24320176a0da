"""`nightjar demo`: generates the lab once, scans it, scores the alerts against the truth, writes the report."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from nightjar.lab import LabConfig
from nightjar.lab.demo import cached_lab, ensure_lab


EXE = Path(sys.executable).with_name("nightjar")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `nightjar` command, output piped."""
    if not EXE.exists():
        pytest.skip(f"{EXE} is not installed")
    env = {**os.environ, "NIGHTJAR_PROGRESS": "0", "COLUMNS": "120", **(env or {})}
    return subprocess.run([str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_demo_writes_the_report_and_reuses_the_lab(tmp_path: Path) -> None:
    first = run("demo", "--out", "tmp", "--hosts", "8", "--days", "1", "--no-profile", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    html = tmp_path / "tmp" / "report.html"
    assert html.exists() and "<svg" in html.read_text() and "Planted attacks" in html.read_text()
    assert str(Path("tmp") / "report.html") in first.stdout and "generated in" in first.stdout
    report = orjson.loads((tmp_path / "tmp" / "report.json").read_bytes())
    rows = {r["detector"]: r for r in report["summary"]}
    assert set(rows) >= {"dga", "url", "lotl", "beacon"}
    for r in rows.values():
        assert r["tp"] + r["other"] + r["fp"] == r["alerts"] and r["found"] + r["missed"] == r["planted"]
    assert "<script" not in html.read_text() and "http://cdn" not in html.read_text().split("<body>")[0]
    second = run("demo", "--out", "tmp", "--hosts", "8", "--days", "1", "--no-profile", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "reused from" in second.stdout and "need a second day" in second.stdout
    again = orjson.loads((tmp_path / "tmp" / "report.json").read_bytes())
    assert [r["alerts"] for r in again["summary"]] == [r["alerts"] for r in report["summary"]]


def test_the_lab_cache_follows_parameters_version_and_files(tmp_path: Path) -> None:
    config = LabConfig(hosts=6, days=1, seed=4)
    assert ensure_lab(tmp_path, config) is False
    assert cached_lab(tmp_path, config) and ensure_lab(tmp_path, config) is True
    assert not cached_lab(tmp_path, replace(config, seed=5))
    (tmp_path / "telemetry" / "zeek" / "dns.log").write_text("#separator \\x09\n")
    assert not cached_lab(tmp_path, config)


def test_bad_sizes_are_usage_errors(tmp_path: Path) -> None:
    result = run("demo", "--out", "tmp", "--hosts", "2", cwd=tmp_path)
    assert result.returncode == 2 and "hosts" in result.stderr


def test_demo_shadows_a_retrained_candidate_and_monitors_in_its_own_registry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env_home = {"NIGHTJAR_HOME": str(home)}
    result = run("demo", "--out", "d", "--hosts", "8", "--days", "2", "--no-profile", "--shadow-fraction", "1", cwd=tmp_path, env=env_home)
    assert result.returncode == 0, result.stderr
    assert "shadow test dga@2 vs dga@1" in result.stdout and "Monitoring summary" in result.stdout
    assert not (home / "registry").exists()  # the user's registry is never touched
    aliases = orjson.loads((tmp_path / "d" / "registry" / "dga" / "aliases.json").read_bytes())
    assert aliases == {"production": 1, "candidate": 2}
    ops = orjson.loads((tmp_path / "d" / "report.json").read_bytes())["operations"]
    shadow = ops["shadow"]
    assert shadow["candidate"] == "dga@2" and shadow["sampled"] == shadow["events_seen"] > 0  # fraction 1: every day-2 event
    neither = shadow["sampled"] - shadow["both"] - shadow["additional_detections"] - shadow["lost_detections"]
    assert neither >= 0 and abs(shadow["agreement"] - (shadow["both"] + neither) / shadow["sampled"]) < 1e-9
    models = {m["model"]: m for m in ops["monitor"]["models"]}
    assert "dga@1" in models and models["dga@1"]["drift"] is not None and "reference.json" in models["dga@1"]["reference"]
    html = (tmp_path / "d" / "report.html").read_text()
    assert "Shadow test of a retrained candidate" in html and "Monitoring summary" in html and "<script" not in html


def test_one_day_skips_the_shadow_test_and_a_bad_fraction_is_a_usage_error(tmp_path: Path) -> None:
    bad = run("demo", "--out", "d", "--hosts", "8", "--days", "1", "--shadow-fraction", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "fraction" in bad.stderr
