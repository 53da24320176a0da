"""Monitoring reports from a real alert store: drift against the model's reference, labels, errors, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nightjar.commands  # noqa: F401  (registers the commands)
from nightjar.cli import app
from nightjar.ops import stats
from nightjar.ops.drift import reference_from_scores, score_histogram
from nightjar.ops.monitor import build_report
from nightjar.ops.settings import load_settings
from nightjar.registry import Registry
from nightjar.scoring.ecs import alert_document
from nightjar.scoring.store import AlertStore
from tests.ops.servers import free_port, http_server, smtp_server

NOW = datetime.now(UTC)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def settings(**overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(None, environ={}, overrides=overrides, use_default_path=False)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """A registry with toy@1 (a score reference in its manifest) and plain@1 (none)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "params.json").write_text("{}", encoding="utf-8")
    reg = Registry(tmp_path / "registry", seed_builtins=False)
    ref = reference_from_scores(sigmoid(np.random.default_rng(0).normal(-3, 1, 20000)), source="validation split")
    reg.register("toy", "dga", folder, metrics={"score_reference": ref}, threshold=0.5)
    reg.register("plain", "dga", folder, threshold=0.5)
    return reg


def add_batches(store: AlertStore, model: str, logits: tuple[float, float], n: int, *, when: datetime = NOW - timedelta(hours=1),
                batches: int = 5, source: str = "dns.log", alerts: int = 0, seconds: float = 0.05, seed: int = 1,
                rejected: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(batches):
        scores = sigmoid(rng.normal(*logits, n))
        rows.append(stats.BatchStats(model.split("@")[0], model, source, n + rejected, n, rejected, alerts, seconds,
                                     score_histogram(scores), stats.iso(when + timedelta(seconds=i))))
    stats.record(store.db, rows)


def open_store(tmp_path: Path) -> AlertStore:
    return AlertStore(tmp_path / "alerts.db")


def test_a_half_sd_shift_trips_psi_a_calm_window_does_not(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-3, 1), 1000)
        calm = build_report(store, settings(), since="1d", registry=registry)
    with open_store(tmp_path / "other") as store:
        add_batches(store, "toy@1", (-2.5, 1), 1000, seed=2)
        moved = build_report(store, settings(), since="1d", registry=registry)
    [m] = calm.models
    assert (m.model, m.scored, m.batches) == ("toy@1", 5000, 5)
    assert m.drift is not None and m.drift.psi < 0.1 and not calm.tripped
    assert m.drift.n_reference == 20000 and m.drift.n_current == 5000
    assert "manifest" in m.reference and "validation split" in m.reference
    tripped = {c.name for c in moved.tripped}
    assert "psi" in tripped and "ks" in tripped


def test_without_a_stored_reference_the_first_day_in_the_store_is_used_and_said(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "plain@1", (-3, 1), 1000, when=NOW - timedelta(days=5))
        add_batches(store, "plain@1", (-2.5, 1), 1000, seed=3)
        report = build_report(store, settings(), since="1d", registry=registry)
    [m] = report.models
    assert "no reference stored with plain@1" in m.reference and "first day in the store" in m.reference
    assert m.drift is not None and m.drift.n_reference == 5000 and "psi" in {c.name for c in report.tripped}


def test_without_reference_or_history_drift_is_not_computed(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "plain@1", (-3, 1), 1000)
        report = build_report(store, settings(), since="1d", registry=registry)
    [m] = report.models
    assert m.drift is None and "drift not computed" in m.reference and not report.tripped


def test_too_few_events_are_not_judged(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (0, 1), 50, batches=2)
        report = build_report(store, settings(), since="1d", registry=registry)
    assert report.models[0].drift is None and "not judged" in report.models[0].reference


def test_alert_rate_per_source_and_rejected_share(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-3, 1), 1000, source="a.log", alerts=1, batches=2)
        add_batches(store, "toy@1", (-3, 1), 1000, source="b.log", alerts=50, batches=2, rejected=100)
        report = build_report(store, settings(**{"monitor.min_events": 10**6}), since="1d", registry=registry)
    [m] = report.models
    assert m.alerts_per_1000 == pytest.approx(1000 * 102 / 4000)
    assert {s.source: round(s.alerts_per_1000, 3) for s in m.by_source} == {"a.log": 1.0, "b.log": 50.0}
    assert m.rejected_share == pytest.approx(200 / 4200)
    assert {c.name for c in report.tripped} == {"alert_rate"}


def test_precision_share_labelled_and_time_to_label(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-3, 1), 1000, alerts=4, batches=5)
        docs = [alert_document("dga", "toy@1", {"domain": f"x{i}.example"}, 0.9, "r") for i in range(20)]
        store.add_alerts(docs)
        for i, doc in enumerate(docs[:10]):
            store.label(doc["event"]["id"], "tp" if i < 6 else "fp")
        loose = build_report(store, settings(**{"monitor.min_labelled": 5, "monitor.precision_min": 0.5}), since="1d", registry=registry)
        strict = build_report(store, settings(**{"monitor.min_labelled": 5, "monitor.precision_min": 0.7}), since="1d", registry=registry)
    m = loose.models[0]
    assert (m.labelled, m.tp, m.fp, m.precision) == (10, 6, 4, 0.6)
    assert m.to_dict()["share_labelled"] == 0.5 and m.hours_to_label is not None and m.hours_to_label["median"] < 0.1
    assert not loose.tripped and [c.name for c in strict.tripped] == ["precision"]


def test_failed_jobs_and_slow_scoring_trip(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        job = store.start_job("scan", ["x"], {})
        store.finish_job(job, {}, status="failed")
        add_batches(store, "toy@1", (-3, 1), 1000, seconds=9.0)
        report = build_report(store, settings(), since="1d", registry=registry)
    assert {c.name for c in report.tripped} == {"failed_jobs", "latency"}
    assert report.models[0].latency["p95"] == pytest.approx(9.0)


def test_report_command_writes_json_and_html_and_exits_1_when_tripped(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-2.4, 1), 1000)
    args = ["monitor", "report", "--store", str(tmp_path / "alerts.db"), "--registry", str(registry.root), "--since", "1d",
            "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "TRIPPED" in result.output and "toy@1" in result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["ok"] is False and data["models"][0]["drift"]["psi"] > 0.2
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "<script" not in html and "toy@1" in html


def test_report_command_exits_0_when_calm_and_2_without_a_store(tmp_path: Path, registry: Registry) -> None:
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-3, 1), 1000)
    ok = CliRunner().invoke(app, ["monitor", "report", "--store", str(tmp_path / "alerts.db"), "--registry", str(registry.root)])
    assert ok.exit_code == 0, ok.output
    from nightjar.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["monitor", "report", "--store", str(tmp_path / "none.db")])
    assert exc.value.code == 2


def test_daily_sends_email_and_slack_and_a_dead_webhook_does_not_fail_it(tmp_path: Path, registry: Registry,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.ops.notify import retry

    monkeypatch.setattr(retry, "sleep", lambda s: None)
    monkeypatch.setenv("NIGHTJAR_NOTIFY_STATE_FILE", str(tmp_path / "state.sqlite"))
    monkeypatch.setenv("NIGHTJAR_EMAIL_SECURITY", "none")
    monkeypatch.setenv("NIGHTJAR_WEBHOOK_SECRET", "k")
    with open_store(tmp_path) as store:
        add_batches(store, "toy@1", (-3, 1), 1000)
    with smtp_server("plain") as (port, inbox), http_server([(200, {})]) as (slack_url, slack_requests):
        args = ["monitor", "daily", "--store", str(tmp_path / "alerts.db"), "--registry", str(registry.root),
                "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--email-to", "soc@example.org",
                "--slack-webhook", slack_url, "--webhook-url", f"http://127.0.0.1:{free_port()}/hook"]
        first = CliRunner().invoke(app, args)
        second = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "email: sent" in first.output and "slack: sent" in first.output and "webhook: failed" in first.output
    assert "deduped" in second.output and len(inbox.messages) == 1 and len(slack_requests) == 1
    mail = inbox.messages[0]
    assert "all checks passed" in mail["Subject"]
    assert "<svg" in mail.get_body(("html",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert json.loads(attachment.get_content())["models"][0]["model"] == "toy@1"


def test_scan_records_score_statistics_that_the_report_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.scoring.scan import run_scan

    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "reg"))
    names = tmp_path / "domains.txt"
    names.write_text("google.com\nwikipedia.org\nxjwqkzpvbtqqz.net\nqwpoeiruty.biz\n", encoding="utf-8")
    summary = run_scan([names], store=tmp_path / "alerts.db", detectors=["dga"])
    with AlertStore(tmp_path / "alerts.db") as store:
        report = build_report(store, settings(), since="1h")
    [m] = report.models
    assert (m.detector, m.scored, m.alerts, m.by_source[0].source) == ("dga", 4, summary.alerts, str(names))
    assert m.latency is not None
