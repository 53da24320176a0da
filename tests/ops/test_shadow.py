"""Shadow tests: deterministic sampling, pairs stored beside (never as) alerts, the report, the gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nightjar.commands  # noqa: F401  (registers the commands)
from nightjar.cli import app, main
from nightjar.errors import InputError
from nightjar.ops.shadow import ShadowRunner, check_fraction, key_hash, sample_mask, shadow_runner
from nightjar.ops.shadow_report import build_shadow_report, cohen_kappa
from nightjar.ops.settings import load_settings
from nightjar.ops.stats import iso
from nightjar.registry import Registry
from nightjar.scoring.ecs import alert_document
from nightjar.scoring.store import AlertStore

runner = CliRunner()


def settings(**overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(None, environ={}, overrides=overrides, use_default_path=False)


# --- sampling ------------------------------------------------------------------------------------
def test_sampling_is_deterministic_by_key_and_close_to_the_fraction() -> None:
    keys = pd.Series([f"host-{i}" for i in range(20000)])
    mask = sample_mask(keys, 0.1)
    assert abs(mask.mean() - 0.1) < 0.01
    assert (sample_mask(keys, 0.1) == mask).all()
    assert (mask <= sample_mask(keys, 0.3)).all()  # a larger fraction keeps every key of a smaller one
    cut = int(0.1 * 2**64)
    assert mask[:50].tolist() == [key_hash(k) < cut for k in keys[:50]]


def test_an_entity_is_shadowed_whole_and_missing_keys_never() -> None:
    keys = pd.Series(["a", "b", "a", None, "c", "a", "", "b"] * 100)
    mask = sample_mask(keys, 0.5)
    by_key = pd.DataFrame({"k": keys, "m": mask}).dropna().groupby("k")["m"].nunique()
    assert (by_key == 1).all()
    assert not mask[keys.isna().to_numpy() | (keys == "").to_numpy()].any()
    assert sample_mask(keys, 1.0).sum() == 600


@pytest.mark.parametrize("fraction", [0, -0.1, 1.0001, 2, float("nan")])
def test_a_fraction_outside_0_1_is_refused(fraction: float) -> None:
    with pytest.raises(InputError, match=r"--fraction must be in \(0, 1\]"):
        check_fraction(fraction)


@pytest.mark.parametrize("args", [["--shadow", "dga@1", "--fraction", "0"], ["--shadow", "dga@1", "--fraction", "1.5"],
                                  ["--shadow", "dga@99", "--fraction", "0.5"], ["--shadow", "dga", "--fraction", "0.5"],
                                  ["--fraction", "0.5"]])
def test_scan_refuses_bad_shadow_options_with_exit_2(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    names = tmp_path / "d.txt"
    names.write_text("example.com\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(names), "--store", str(tmp_path / "a.db"), "-q", *args])
    assert exc.value.code == 2
    message = capsys.readouterr().err
    assert ("--fraction" in message or "--shadow" in message) and "Traceback" not in message


def test_unknown_version_names_what_exists(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"dga@99: .*versions: 1"):
        shadow_runner("dga@99", 0.5)


# --- a real scan with a candidate ----------------------------------------------------------------
def test_scan_stores_shadow_pairs_never_alerts(tmp_path: Path) -> None:
    from nightjar.registry import load_model
    from nightjar.scoring.scan import run_scan

    names = tmp_path / "dns.csv"
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    rows = [f"host-{i % 40},{''.join(rng.choice(letters, 12))}.com" for i in range(300)]
    rows += [f"host-{i % 40},site{i}.example.org" for i in range(300)]
    names.write_text("host.name,dns.question.name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    candidate = load_model("dga").detector
    candidate.threshold_ = max(0.01, candidate.threshold_ / 10)  # a more eager candidate: additional detections
    shadow = ShadowRunner(candidate, "dga@2", "dga", 0.5, "host.name")
    summary = run_scan([names], store=tmp_path / "a.db", detectors=["dga"], hooks=[shadow])
    assert any("events shadowed" in n for n in summary.notes)
    with AlertStore(tmp_path / "a.db") as store:
        models = {m for (m,) in store.db.execute("SELECT DISTINCT model FROM alerts")}
        hosts = store.db.execute("SELECT COUNT(DISTINCT host_name), COUNT(*) FROM shadow_pairs").fetchone()
        report = build_shadow_report(store, "dga", settings())
    assert models == {"dga@1"}  # the candidate never raises alerts
    assert report.sampled == shadow.sampled == hosts[1] and 0 < report.sampled < 600
    assert hosts[0] < 40  # whole hosts are in or out
    assert report.candidate == "dga@2" and report.production == ["dga@1"]
    assert report.additional_detections > 0 and report.lost_detections == 0
    assert report.candidate_alerts >= report.production_alerts
    assert set(report.latency) == {"production", "candidate"}
    data = report.to_dict()
    assert {"sampled", "additional_detections", "lost_detections", "agreement", "kappa"} <= set(data)


# --- report and gate on synthetic pairs ----------------------------------------------------------
def add_pairs(store: AlertStore, cells: dict[tuple[int, int], int], *, candidate: str = "toy@2", production: str = "toy@1",
              days: float = 8.0, prod_seconds: float = 0.1, cand_seconds: float = 0.1) -> list[int]:
    """Pairs with the given (production_alert, candidate_alert) counts, spread over `days`; returns the pair ids."""
    start = datetime.now(UTC) - timedelta(days=days)
    n = sum(cells.values())
    cur = store.db.execute("INSERT INTO shadow_batches (detector, production, candidate, events, sampled, missing_key, "
                           "production_seconds, candidate_seconds, created_at) VALUES ('toy', ?, ?, ?, ?, 0, ?, ?, ?)",
                           (production, candidate, n * 10, n, prod_seconds * n * 10 / 1000, cand_seconds * n / 1000, iso(start)))
    rows, i = [], 0
    for (p, c), count in cells.items():
        for _ in range(count):
            when = start + timedelta(days=days * i / max(1, n - 1))
            rows.append((cur.lastrowid, production, candidate, f"id{i:05d}", f"x{i}.example", 0.9 if p else 0.1, p,
                         0.9 if c else 0.1, c, iso(when)))
            i += 1
    store.db.executemany("INSERT INTO shadow_pairs (batch_id, detector, production, candidate, alert_id, entity, production_score, "
                         "production_alert, candidate_score, candidate_alert, created_at) VALUES (?, 'toy', ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return [r for (r,) in store.db.execute("SELECT id FROM shadow_pairs WHERE candidate = ? ORDER BY id", (candidate,))]


def test_report_counts_agreement_and_kappa(tmp_path: Path) -> None:
    from sklearn.metrics import cohen_kappa_score

    cells = {(1, 1): 30, (1, 0): 5, (0, 1): 15, (0, 0): 950}
    with AlertStore(tmp_path / "a.db") as store:
        add_pairs(store, cells)
        r = build_shadow_report(store, "toy", settings())
    assert (r.sampled, r.both, r.lost_detections, r.additional_detections) == (1000, 30, 5, 15)
    assert (r.production_alerts, r.candidate_alerts) == (35, 45)
    assert r.agreement == pytest.approx(0.98) and r.per_1000(r.candidate_alerts) == 45.0
    prod = np.repeat([1, 1, 0, 0], list(cells.values()))
    cand = np.repeat([1, 0, 1, 0], list(cells.values()))
    assert r.kappa == pytest.approx(cohen_kappa_score(prod, cand))
    assert [p["entity"] for p in r.top_additional][:1] and all(p["candidate_score"] == 0.9 for p in r.top_additional)


def test_kappa_edge_cases() -> None:
    assert cohen_kappa(0, 0, 0, 0) is None and cohen_kappa(0, 0, 0, 10) is None
    assert cohen_kappa(5, 0, 0, 5) == 1.0


def test_labels_come_from_the_pair_or_from_alert_feedback(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.db") as store:
        ids = add_pairs(store, {(0, 1): 4, (1, 0): 2})
        doc = alert_document("toy", "toy@1", {"domain": "x"}, 0.9, "r")
        store.add_alerts([doc])
        store.db.execute("UPDATE shadow_pairs SET alert_id = ? WHERE id = ?", (doc["event"]["id"], ids[4]))  # a lost one
        store.label(doc["event"]["id"], "fp")
        result = runner.invoke(app, ["shadow", "label", str(ids[0]), "tp", "--store", str(tmp_path / "a.db")])
        assert result.exit_code == 0, result.output
        runner.invoke(app, ["shadow", "label", str(ids[1]), "fp", "--store", str(tmp_path / "a.db")])
        r = build_shadow_report(store, "toy", settings())
    assert r.additional_labels == {"tp": 1, "fp": 1, "unlabelled": 2}
    assert r.lost_labels == {"fp": 1, "unlabelled": 1}


def gate_settings(**overrides: object):  # type: ignore[no-untyped-def]
    base = {"gate.min_events": 1000, "gate.min_days": 7, "gate.min_reviewed": 10, "gate.min_true_share": 0.5,
            "gate.max_lost_share": 0.1, "gate.max_alert_increase": 0.5, "gate.max_latency_regression": 0.5}
    return settings(**(base | overrides))


def labelled_store(tmp_path: Path, tp: int, fp: int, **kwargs: object) -> Path:
    path = tmp_path / "shadow.db"
    with AlertStore(path) as store:
        ids = add_pairs(store, {(1, 1): 40, (1, 0): 2, (0, 1): 12, (0, 0): 1946}, **kwargs)  # type: ignore[arg-type]
        additional = ids[42:54]
        for pid in additional[:tp]:
            store.db.execute("UPDATE shadow_pairs SET label = 'tp' WHERE id = ?", (pid,))
        for pid in additional[tp:tp + fp]:
            store.db.execute("UPDATE shadow_pairs SET label = 'fp' WHERE id = ?", (pid,))
    return path


@pytest.mark.parametrize(("name", "store_kwargs", "overrides", "failed"), [
    ("passes", {"tp": 8, "fp": 2}, {}, set()),
    ("too few events", {"tp": 8, "fp": 2}, {"gate.min_events": 5000}, {"events"}),
    ("too short", {"tp": 8, "fp": 2, "days": 2.0}, {}, {"days"}),
    ("not reviewed", {"tp": 2, "fp": 0}, {}, {"reviewed_additional"}),
    ("mostly false", {"tp": 3, "fp": 7}, {}, {"true_share_additional"}),
    ("loses detections", {"tp": 8, "fp": 2}, {"gate.max_lost_share": 0.01}, {"lost_share"}),
    ("too many alerts", {"tp": 8, "fp": 2}, {"gate.max_alert_increase": 0.1}, {"alert_increase"}),
    ("slower", {"tp": 8, "fp": 2, "cand_seconds": 0.5}, {}, {"latency_regression"}),
    ("3x slower but 2 ms per 1,000 events", {"tp": 8, "fp": 2, "prod_seconds": 0.001, "cand_seconds": 0.003}, {}, set()),
    ("3x slower, no slack", {"tp": 8, "fp": 2, "prod_seconds": 0.001, "cand_seconds": 0.003}, {"gate.latency_slack": 0.0},
     {"latency_regression"}),
])
def test_gate_rules(tmp_path: Path, name: str, store_kwargs: dict[str, object], overrides: dict[str, object], failed: set[str]) -> None:
    path = labelled_store(tmp_path, **store_kwargs)  # type: ignore[arg-type]
    with AlertStore(path) as store:
        r = build_shadow_report(store, "toy", gate_settings(**overrides))
    assert {c.name for c in r.gate if not c.passed} == failed
    assert r.gate_passed == (not failed)


@pytest.fixture
def two_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "params.json").write_text("{}", encoding="utf-8")
    reg = Registry(tmp_path / "registry", seed_builtins=False)
    reg.register("toy", "dga", folder, alias=None)
    reg.register("toy", "dga", folder, alias="candidate")
    reg.promote("toy", 1)
    config = tmp_path / "config.toml"
    config.write_text("[gate]\nmin_events = 1000\nmin_days = 7\nmax_alert_increase = 0.5\n", encoding="utf-8")
    monkeypatch.setenv("NIGHTJAR_CONFIG", str(config))
    return reg


def promote(reg: Registry, store: Path) -> int:
    try:
        main(["models", "promote", "toy", "--version", "2", "--if-gate", "--store", str(store), "--registry", str(reg.root)])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_promote_if_gate_promotes_when_the_gate_passes_and_says_why(tmp_path: Path, two_versions: Registry) -> None:
    assert promote(two_versions, labelled_store(tmp_path, tp=8, fp=2)) == 0
    assert two_versions.aliases("toy")["production"] == 2
    last = two_versions.events("toy")[-1]
    assert last["action"] == "promote" and last["reason"].startswith("gate passed") and "events=2000" in last["reason"]


def test_promote_if_gate_refuses_and_logs_why(tmp_path: Path, two_versions: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    assert promote(two_versions, labelled_store(tmp_path, tp=3, fp=7)) == 1
    assert two_versions.aliases("toy")["production"] == 1
    last = two_versions.events("toy")[-1]
    assert last["action"] == "promote-refused" and last["version"] == 2 and "true_share_additional=0.3" in last["reason"]
    assert "true_share_additional" in capsys.readouterr().err


def test_promote_if_gate_without_shadow_pairs_is_refused(tmp_path: Path, two_versions: Registry) -> None:
    with AlertStore(tmp_path / "empty.db"):
        pass
    assert promote(two_versions, tmp_path / "empty.db") == 1
    assert two_versions.events("toy")[-1]["action"] == "promote-refused"


def test_shadow_report_command_json(tmp_path: Path) -> None:
    path = labelled_store(tmp_path, tp=8, fp=2)
    result = runner.invoke(app, ["shadow", "report", "toy", "--store", str(path), "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["sampled"], data["additional_detections"], data["lost_detections"]) == (2000, 12, 2)
    assert data["agreement"] == pytest.approx(1 - 14 / 2000) and -1 <= data["kappa"] <= 1
    text = runner.invoke(app, ["shadow", "report", "toy", "--store", str(path)])
    assert "additional detections (candidate only): 12" in text.output and "gate" in text.output


def test_shadow_report_without_pairs_is_exit_2(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.db"):
        pass
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "report", "dga", "--store", str(tmp_path / "a.db")])
    assert exc.value.code == 2


def test_a_label_covers_every_candidate_only_pair_of_the_entity_and_the_triage_list_groups_them(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.db") as store:
        ids = add_pairs(store, {(0, 1): 6, (1, 1): 2})
        store.db.execute("UPDATE shadow_pairs SET entity = 'evil.example' WHERE id IN (?, ?, ?, ?)", (ids[0], ids[1], ids[2], ids[6]))
        result = runner.invoke(app, ["shadow", "label", str(ids[1]), "tp", "--store", str(tmp_path / "a.db")])
        assert result.exit_code == 0 and "3 pair(s)" in result.output, result.output
        r = build_shadow_report(store, "toy", settings())
    assert r.additional_labels == {"tp": 3, "unlabelled": 3}
    top = {p["entity"]: p for p in r.top_additional}
    assert top["evil.example"]["pairs"] == 3 and top["evil.example"]["label"] == "tp" and len(top) == 4
