"""The whole path on the small lab: generate, `run_scan` with the shipped models, alerts against the truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightjar.detectors.base import KINDS, available_kinds
from nightjar.lab import Lab
from nightjar.lab.demo import read_alerts
from nightjar.lab.evaluate import DetectorResult, evaluate_alerts


@pytest.fixture(scope="module")
def scanned(small_lab: Lab, tmp_path_factory: pytest.TempPathFactory):
    from nightjar.scoring.scan import run_scan

    out = tmp_path_factory.mktemp("scan")
    summary = run_scan([small_lab.telemetry], store=out / "alerts.db", alerts_out=out / "alerts.ndjson")
    results = evaluate_alerts(small_lab.truth, read_alerts(out / "alerts.ndjson"), detectors=list(summary.detectors))
    return summary, results


def test_the_scan_accounts_for_every_record_and_the_dirty_files(small_lab: Lab, scanned) -> None:
    summary, _ = scanned
    assert summary.read == summary.scored + summary.rejected
    assert [Path(s["path"]).name for s in summary.skipped] == ["capture-0001.pcap"]
    assert summary.rejected >= 1  # the half-written line of the guest Wi-Fi log


@pytest.mark.parametrize("kind", KINDS)
def test_each_planted_attack_kind_is_found_by_its_detector(kind: str, small_lab: Lab, scanned, record_property) -> None:
    if kind not in available_kinds():
        pytest.skip(f"the {kind} detector is not installed")
    summary, results = scanned
    if kind not in summary.detectors:
        pytest.skip(f"the {kind} detector did not run: {'; '.join(summary.notes) or 'no model'}")
    result: DetectorResult = results[kind]
    for name in ("planted", "found", "alerts", "true_positives", "false_positives", "fp_entities"):
        record_property(f"{kind}.{name}", getattr(result, name))
    assert result.planted > 0
    assert result.found >= 1, f"{kind}: none of {result.planted} planted attacks alerted; missed {[a.id for a in result.missed]}"
    assert result.true_positives + result.other_attack + result.false_positives == result.alerts
    assert result.found + len(result.missed) == result.planted
