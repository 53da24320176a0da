"""Feature drift: the feature grid, monitoring features recorded by the scan hook, references, the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.base import KINDS, detector_class
from nightjar.ops import features as FX
from nightjar.ops import monitor_render, stats
from nightjar.ops.drift import score_histogram
from nightjar.ops.monitor import build_report, model_feature_reference
from nightjar.ops.references import REFERENCE, write_reference
from nightjar.ops.settings import load_settings
from nightjar.registry import Registry
from nightjar.scoring.store import AlertStore

NOW = datetime.now(UTC)
N_REF = 20_000


def settings(**overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(None, environ={}, overrides=overrides, use_default_path=False)


def features(rng: np.random.Generator, n: int, length_shift_sd: float = 0.0) -> dict[str, np.ndarray]:
    """Two toy features: a length ~ N(20, 4) (shifted by `length_shift_sd` sd) and an entropy ~ N(3, 0.3)."""
    return {"length": rng.normal(20 + 4 * length_shift_sd, 4, n), "entropy": rng.normal(3, 0.3, n)}


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """toy@1: a model folder whose reference.json holds scores and feature histograms (seed 0)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "params.json").write_text("{}", encoding="utf-8")
    rng = np.random.default_rng(0)
    write_reference(folder, rng.uniform(0, 0.1, N_REF), "validation split", features(rng, N_REF))
    reg = Registry(tmp_path / "registry", seed_builtins=False)
    reg.register("toy", "dga", folder, threshold=0.5)
    return reg


def add_window(store: AlertStore, seed: int, shift: float, batches: int = 5, n: int = 1000) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(batches):
        rows.append(stats.BatchStats("dga", "toy@1", "dns.log", n, n, 0, 0, 0.05, score_histogram(rng.uniform(0, 0.1, n)),
                                     stats.iso(NOW - timedelta(hours=1, seconds=-i)),
                                     features=FX.feature_histograms(features(rng, n, shift))))
    stats.record(store.db, rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_half_sd_shift_of_one_feature_trips_its_psi_and_no_shift_does_not(tmp_path: Path, registry: Registry, seed: int) -> None:
    with AlertStore(tmp_path / "calm.db") as store:
        add_window(store, seed, 0.0)
        calm = build_report(store, settings(), since="1d", registry=registry)
    with AlertStore(tmp_path / "moved.db") as store:
        add_window(store, seed, 0.5)
        moved = build_report(store, settings(), since="1d", registry=registry)
    [c], [m] = calm.models, moved.models
    assert set(c.feature_drift) == {"length", "entropy"}
    assert all(d.psi < 0.05 for d in c.feature_drift.values()) and not calm.tripped
    assert (c.feature_drift["length"].n_reference, c.feature_drift["length"].n_current) == (N_REF, 5000)
    assert {(t.name, t.model) for t in moved.tripped} == {("feature_psi:length", "toy@1")}
    assert m.feature_drift["length"].psi > 0.2 > m.feature_drift["entropy"].psi
    assert m.feature_drift["length"].ks > 0.15 and m.feature_drift["length"].js > m.feature_drift["entropy"].js
    assert next(iter(m.feature_drift)) == "length"  # worst first
    assert "reference.json" in m.feature_reference


def test_feature_psi_max_is_the_threshold(tmp_path: Path, registry: Registry) -> None:
    with AlertStore(tmp_path / "moved.db") as store:
        add_window(store, 1, 0.5)
        loose = build_report(store, settings(**{"monitor.feature_psi_max": 5.0}), since="1d", registry=registry)
        few = build_report(store, settings(**{"monitor.min_events": 10_000}), since="1d", registry=registry)
    assert not loose.tripped
    assert not few.models[0].feature_drift and not few.tripped  # 5,000 values < min_events: not judged


def test_feature_drift_is_in_text_json_and_html(tmp_path: Path, registry: Registry) -> None:
    with AlertStore(tmp_path / "moved.db") as store:
        add_window(store, 1, 0.5)
        report = build_report(store, settings(), since="1d", registry=registry)
    text = monitor_render.to_text(report)
    assert "feature length: PSI" in text and "n reference 20,000, n window 5,000" in text
    data = json.loads(json.dumps(report.to_dict()))
    fd = data["models"][0]["feature_drift"]
    assert set(fd) == {"length", "entropy"} and fd["length"]["n_current"] == 5000 and fd["length"]["psi"] > 0.2
    assert "feature_psi:length" in " ".join(data["tripped"])
    html = monitor_render.to_html(report)
    assert "<code>length</code>" in html and "n window" in html


def test_reference_json_round_trip(tmp_path: Path, registry: Registry) -> None:
    rng = np.random.default_rng(0)
    rng.uniform(0, 0.1, N_REF)
    expected = FX.feature_histograms(features(rng, N_REF))
    doc = json.loads((registry.path("toy", 1) / REFERENCE).read_text(encoding="utf-8"))
    assert doc["features"]["grid"] == FX.FEATURE_GRID and set(doc["features"]["quantiles"]) == {"length", "entropy"}
    back = FX.from_json(doc["features"])
    assert set(back) == set(expected) and all(np.array_equal(back[k], expected[k]) for k in expected)
    hists, where = model_feature_reference("toy@1", registry)
    assert np.array_equal(hists["length"], expected["length"]) and "reference.json" in where
    assert FX.from_json({"grid": "other", "features": {}}) == {}


def test_grid_histograms_add_up_and_drop_non_finite() -> None:
    a, b = np.array([0.0, 1.5, -3.0, 1e9, np.nan]), np.array([np.inf, 2.0, 200.0])
    h = FX.feature_histogram(np.concatenate([a, b]))
    assert np.array_equal(FX.feature_histogram(a) + FX.feature_histogram(b), h)
    assert int(h.sum()) == 6 and h[-1] == 1  # 1e9 beyond the grid: the top end bin
    assert FX.feature_histogram([3.0]).argmax() != FX.feature_histogram([3.1]).argmax()  # entropy resolution


@pytest.mark.parametrize("kind", KINDS)
def test_every_detector_hands_out_a_few_cheap_features(kind: str) -> None:
    frames = {"dga": pd.DataFrame({"domain": ["google.com", "xjwqkzpvbt.net", None]}),
              "url": pd.DataFrame({"url": ["http://a.example.com/x", "https://xq7zk.top/login", "not a url"]}),
              "lotl": pd.DataFrame({"process.command_line": ["cmd.exe /c whoami", "powershell -enc SQBFAFgA", None]}),
              "beacon": pd.DataFrame({"score.interval": [0.9, 0.1, np.nan], "score.size": [1.0, 0.2, np.nan],
                                      "score.periodicity": [0.5, 0.0, np.nan], "score.coverage": [0.3, 0.1, np.nan]})}
    events = None if kind == "beacon" else frames[kind]
    feats = FX.monitor_features(detector_class(kind)(), events, frames[kind])  # unfitted: no model needed
    assert 1 <= len(feats) <= FX.MAX_FEATURES
    for values in feats.values():
        assert len(values) == 3 and np.isfinite(values[:2]).all() and np.isnan(values[2])


def test_the_scan_hook_stores_feature_histograms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.scoring.scan import run_scan

    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "reg"))
    names = tmp_path / "domains.txt"
    names.write_text("google.com\nwikipedia.org\nxjwqkzpvbtqqz.net\nqwpoeiruty.biz\n", encoding="utf-8")
    run_scan([names], store=tmp_path / "alerts.db", detectors=["dga"])
    with AlertStore(tmp_path / "alerts.db") as store:
        [row] = stats.load(store.db)
        report = build_report(store, settings(**{"monitor.min_events": 1}), since="1h")
    assert set(row.features) == {"label_length", "label_entropy"}
    lengths = FX.feature_histogram([6, 9, 13, 10])  # google, wikipedia, xjwqkzpvbtqqz, qwpoeiruty
    assert np.array_equal(row.features["label_length"], lengths)
    [m] = report.models
    assert set(m.current_features) == {"label_length", "label_entropy"}


def test_failing_features_are_noted_and_never_fail_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.scoring.scan import run_scan

    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "reg"))
    monkeypatch.setattr(detector_class("dga"), "monitor_features", lambda self, events, scored: 1 / 0)
    names = tmp_path / "domains.txt"
    names.write_text("google.com\nwikipedia.org\n", encoding="utf-8")
    summary = run_scan([names], store=tmp_path / "alerts.db", detectors=["dga"])
    with AlertStore(tmp_path / "alerts.db") as store:
        [row] = stats.load(store.db)
    assert row.scored == 2 and row.features == {}
    assert any("monitoring features of dga failed" in n for n in summary.notes)
