"""`run_score` with the lotl detector (CSV in, trees out), the train/evaluate hooks, and the shipped model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nightjar.detectors.lotl import LotlDetector
from nightjar.detectors.lotl import benign as B
from nightjar.errors import InputError
from nightjar.scoring import run_score

from .conftest import BENIGN, MALICIOUS, events


def test_run_score_csv_with_trees(small_detector: LotlDetector, tmp_path: Path) -> None:
    ev = events(BENIGN + MALICIOUS)
    ev["process.parent.entity_id"] = ["root"] * len(BENIGN) + ["WS1-7", "WS1-7", "x", "WS1-7", "WS1-7"]
    src = tmp_path / "p.csv"
    ev.to_csv(src, index=False)
    det = LotlDetector.load(_save(small_detector, tmp_path / "m"))
    det.threshold_ = 0.5
    summary = run_score("lotl", [src], tmp_path / "out.csv", detector=det, views={"trees": tmp_path / "trees.csv"})
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == len(ev) and summary.read == len(ev) and summary.alerts >= 4
    assert list(out.columns[:11]) == ["@timestamp", "host.name", "process.entity_id", "process.pid", "process.name",
                                      "process.command_line", "process.parent.name", "score", "alert", "reasons", "threat.technique.id"]
    trees = pd.read_csv(tmp_path / "trees.csv")
    assert 1 <= len(trees) < summary.alerts and trees["score"].is_monotonic_decreasing
    assert summary.views["trees"] == {"rows": len(trees), "alerts": int((trees["alerts"] > 0).sum())}  # no flag column: counted
    assert summary.views["trees"]["alerts"] >= 1


def test_unknown_view_is_a_usage_error(small_detector: LotlDetector, tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    events(BENIGN).to_csv(src, index=False)
    with pytest.raises(InputError, match="no hosts view"):
        run_score("lotl", [src], tmp_path / "o.csv", detector=small_detector, views={"hosts": tmp_path / "h.csv"})


def test_train_hooks_exist() -> None:
    from nightjar.commands.train import _hooks

    hooks = _hooks("lotl")
    assert hooks is not None and callable(hooks.train_command) and callable(hooks.evaluate_command)


def test_shipped_model_alerts_on_clear_abuse_not_on_admin_holdout(shipped: LotlDetector) -> None:
    bad = shipped.score(events(MALICIOUS[:3]))
    assert bad["alert"].sum() >= 2
    admin = shipped.score(B.admin_events(B.ADMIN_HOLDOUT), rarity=False)
    assert admin["alert"].mean() <= 0.1


def test_shipped_model_quiet_on_sysmon_modular_benign_lines(shipped: LotlDetector, shared_data: Path) -> None:
    out = shipped.score(B.sysmon_modular_events(shared_data), rarity=False)
    assert len(out) >= 60 and out["alert"].sum() == 0


def _save(det: LotlDetector, path: Path) -> Path:
    det.save(path)
    return path


def test_evtx_input_scores_process_creations_only(small_detector: LotlDetector, tmp_path: Path) -> None:
    import datetime as dt

    from tests.fixtures.evtx_writer import WinEvent, write_evtx

    sysmon = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    evs = [WinEvent(1, *sysmon, "WS1", t0, {"UtcTime": "2026-01-01 10:00:00.000", "ProcessId": "10", "ProcessGuid": "{a}",
                                            "Image": r"C:\Windows\System32\certutil.exe", "CommandLine": "certutil -urlcache -f http://a/b c",
                                            "ParentImage": r"C:\Windows\System32\cmd.exe", "ParentProcessGuid": "{p}", "ParentProcessId": "9"}),
           WinEvent(5, *sysmon, "WS1", t0, {"ProcessId": "10"})]
    src = tmp_path / "s.evtx"
    write_evtx(src, evs)
    summary = run_score("lotl", [src], tmp_path / "o.csv", detector=small_detector)
    out = pd.read_csv(tmp_path / "o.csv")
    assert len(out) == 1 and summary.scored == 1 and out["process.name"].iloc[0] == "certutil.exe"
    assert out["process.parent.name"].iloc[0] == "cmd.exe" and 0 <= out["score"].iloc[0] <= 1
