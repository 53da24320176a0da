"""Model cards: self-contained HTML with plots, JSON with the agreed keys, small files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from nightjar.errors import ConfigError
from nightjar.training.card import DataSource, ModelCard, ModelResult
from nightjar.training.curves import pr_points, roc_points
from nightjar.training.metrics import evaluate

FAMILIES = [f"family{i}" for i in range(8)]


def _rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.random(n) < 0.3
    return y, np.where(y, rng.choice(FAMILIES, n), "benign")


def _model(rng, name, strength, y, groups, y_val, **kwargs) -> ModelResult:
    def scores(labels):
        return 1 / (1 + np.exp(-rng.normal(-2 + strength * labels, 1.2)))
    s, s_val = scores(y), scores(y_val)
    metrics = evaluate(y, s, validation=(y_val, s_val), groups=groups, split="grouped by family")
    return ModelResult(name, f"{name} on character n-grams", metrics, y, s, groups, **kwargs)


def _card(n_test: int = 4000, **kwargs) -> ModelCard:
    rng = np.random.default_rng(7)
    y, groups = _rows(rng, n_test)
    y_val, _ = _rows(rng, 3000)
    models = [_model(rng, "baseline", 2.5, y, groups, y_val, baseline=True),
              _model(rng, "chosen gbm", 4.5, y, groups, y_val, chosen=True, params={"num_leaves": 31})]
    sources = [DataSource("Tranco top 1M", "CC BY 4.0", 1_000_000, "train", "https://tranco-list.eu/"),
               DataSource("DGArchive sample", "research use only", 50_000, "test", "data/dga.csv", "8 families")]
    return ModelCard("DGA detector", "dga", "grouped by family: 6 train groups / 2 test groups, seed 0",
                     sources, models, 1e-3, notes=["synthetic scores for the test"],
                     extra_tables={"leave one family out": [{"family": "family0", "recall": 0.5, "rows": 100}]},
                     **kwargs)


def test_html_is_self_contained_and_has_the_sections(tmp_path):
    path = _card().write_html(tmp_path / "card.html")
    html = path.read_text(encoding="utf-8")
    assert html.count("<svg") >= 5  # ROC, PR, two histograms, group recall
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"<script|<link|@import|url\(", html, re.I)
    assert "https://tranco-list.eu/" in html  # the source URL as plain text is fine
    for text in ("grouped by family: 6 train groups", "CC BY 4.0", "research use only", "ROC (log FPR)",
                 "Precision-recall", "operating point", "chosen", "baseline", "Recall per group",
                 "leave one family out", "synthetic scores for the test", "realised FPR (test)", "not measurable"):
        assert text in html, text


def test_json_has_the_keys_and_no_raw_scores(tmp_path):
    card = _card()
    data = json.loads(card.write_json(tmp_path / "card.json").read_text())
    assert {"title", "detector", "split", "sources", "models", "operating_fpr", "chosen", "baseline",
            "notes", "extra_tables"} <= set(data)
    assert data["chosen"] == "chosen gbm" and data["baseline"] == "baseline"
    model = data["models"][1]
    assert {"name", "description", "chosen", "params", "metrics", "curves"} <= set(model)
    assert {"roc", "pr", "score_histogram"} == set(model["curves"])
    assert len(model["curves"]["roc"]["fpr"]) <= 500 and "scores" not in model
    point = next(p for p in model["metrics"]["operating_points"] if p["target_fpr"] == 1e-3)
    assert {"threshold", "tpr", "fpr", "n_neg", "measurable"} <= set(point)


def test_big_test_set_stays_under_a_megabyte(tmp_path):
    card = _card(n_test=100_000)
    assert card.write_html(tmp_path / "big.html").stat().st_size < 1_000_000
    assert card.write_json(tmp_path / "big.json").stat().st_size < 1_000_000


def test_one_chosen_model_at_most():
    card = _card()
    card.models[0].chosen = True
    with pytest.raises(ConfigError, match="only one model"):
        card.as_dict()
    card.models[0].chosen = False
    card.operating_fpr = 1e-2
    with pytest.raises(ConfigError, match="operating_fpr"):
        card.as_dict()
    card.models = []
    with pytest.raises(ConfigError, match="at least one model"):
        card.as_dict()


def test_single_class_model_renders_without_curves(tmp_path):
    y = np.array([True] * 20)
    s = np.linspace(0.1, 0.9, 20)
    result = ModelResult("only positives", "", evaluate(y, s, thresholds={1e-3: 0.5}), y, s, chosen=True)
    card = ModelCard("tiny", "dga", "a hand-made split", [], [result], 1e-3)
    html = card.write_html(tmp_path / "tiny.html").read_text()
    assert "ROC-AUC and PR-AUC undefined" in html and card.as_dict()["models"][0]["curves"]["roc"] is None


def test_curves_are_monotone_summaries():
    rng = np.random.default_rng(0)
    y = rng.random(20_000) < 0.1
    s = rng.random(20_000) + y * 0.5
    roc = roc_points(y, s)
    assert roc is not None and np.all(np.diff(roc["tpr"]) >= 0) and roc["tpr"][-1] == 1.0
    pr = pr_points(y, s)
    assert pr is not None and np.all(np.diff(pr["precision"]) <= 1e-12)
