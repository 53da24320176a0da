"""The URL model card: LightGBM and the LR baseline side by side on the out-of-time split, with the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nightjar.detectors.url import data as D
from nightjar.training.card import DataSource, ModelCard, ModelResult
from nightjar.training.metrics import evaluate

DESCRIPTIONS = {"lgbm": "LightGBM on 40 host/URL/brand features + the baseline's out-of-fold logit",
                "lr": "logistic regression on hashed 3-5-grams of host + path and the same features (baseline)"}


def _round(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def write_card(summary: dict[str, Any], raws: dict[str, dict[str, np.ndarray]], df: pd.DataFrame, path: Path) -> Path:
    """Write the self-contained HTML card for the figures of `evaluation.evaluate_all`."""
    from nightjar.detectors.url.evaluation import SPLIT

    models = []
    for name in ("lgbm", "lr"):
        raw = raws[name]
        metrics = evaluate(raw["oot_y"], raw["oot_s"], validation=(raw["val_y"], raw["val_s"]), fprs=(1e-2, 1e-3),
                           operating_fpr=1e-2, groups=raw["oot_groups"], split="OpenPhish 2025-07..12 vs held-out benign")
        models.append(ModelResult(name, DESCRIPTIONS[name], metrics, raw["oot_y"], raw["oot_s"], groups=raw["oot_groups"],
                                  chosen=name == "lgbm", baseline=name == "lr"))
    counts = df.groupby("source").size()
    sources = [DataSource(s.name, s.licence, int(counts.get(s.name, 0)), "train", s.path) for s in D.SOURCES]
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in ("lgbm", "lr"):
        tables[f"{name}: test sets"] = [{"set": k, **{a: _round(b) for a, b in v.items()}} for k, v in summary["models"][name]["sets"].items()]
        tables[f"{name}: realised FPR of its shipped-rule threshold per benign set"] = [
            {k: _round(v) for k, v in r.items()} for r in summary["models"][name]["benign_fpr"]]
        tables[f"{name}: by scheme (OOT vs held-out benign)"] = [
            {"subset": k, **{a: _round(b) for a, b in v.items()}} for k, v in summary["models"][name]["by_scheme"].items()]
    tables["single-feature AUCs (shortcuts the model must not rely on)"] = summary["shortcut_aucs"]
    notes = [
        "Operating threshold of the shipped model: the highest of the per-source thresholds at FPR 1e-2 on the validation "
        f"role's benign URLs (every benign source, synthetic included): {summary['models']['lgbm']['threshold']:.4f}. "
        "The card's own operating points use the pooled validation benign URLs.",
        "The scheme and a leading 'www.' are not model inputs; the n-grams read host + path only.",
        "Synthetic benign URLs: top-list domains with real benign paths transplanted from the same split side (see docs/url.md).",
    ]
    card = ModelCard("Nightjar phishing URL detector", "url", SPLIT, sources, models, 1e-2, notes, tables)
    return card.write_html(path) if hasattr(card, "write_html") else Path(path)


def train_and_report(data: Path, out: Path, num_threads: int = 2, log: Any = print) -> tuple[Path, list[str]]:
    """`nightjar train url`: the shipped recipe, both evaluations, the model folder `out/model`; returns (manifest, summary lines)."""
    from nightjar.detectors.url.evaluation import evaluate_all, manifest_metrics
    from nightjar.detectors.url.training import (
        SEED,
        corpus,
        train_detector,
        write_model,
    )

    df = corpus(data, SEED)
    log("fitting LightGBM")
    det, _ = train_detector(data, model_kind="lgbm", num_threads=num_threads, df=df)
    summary = evaluate_all(data, out, det=det, num_threads=num_threads, log=log, df=df)
    manifest = write_model(det, Path(out) / "model", metrics=manifest_metrics(summary))
    return manifest, summary_lines(summary)


def evaluate_report(det: Any, data: Path, out: Path, num_threads: int = 2, log: Any = print) -> list[str]:
    """`nightjar evaluate url`: the evaluation of a fitted detector (the baseline is refitted); returns summary lines."""
    from nightjar.detectors.url.evaluation import evaluate_all

    return summary_lines(evaluate_all(data, out, det=det, num_threads=num_threads, log=log))


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The headline figures in words."""
    m, b = summary["models"]["lgbm"], summary["models"]["lr"]
    oot, real = "oot_openphish_vs_all_heldout_benign", "oot_openphish_vs_heldout_legit_with_paths"
    worst = max(m["benign_fpr"], key=lambda r: r["fpr@shipped"] if r["role"] == "test" else -1)
    return [
        f"out-of-time OpenPhish vs held-out benign: ROC-AUC LightGBM {m['sets'][oot]['roc_auc']:.4f}, LR {b['sets'][oot]['roc_auc']:.4f}; "
        f"TPR at the shipped threshold {m['sets'][oot]['tpr@shipped']:.3f}",
        f"vs held-out legitimate URLs with paths: ROC-AUC {m['sets'][real]['roc_auc']:.4f}",
        f"worst realised FPR of the shipped threshold on a held-out benign set: {worst['fpr@shipped']:.4f} ({worst['source']})",
    ]


def train_command(data: Path, out: Path, threads: int, log: Any) -> Path:
    """The `nightjar train url` hook: train, evaluate and write `out/model`; returns that folder."""
    log(f"training url on {data}")
    manifest, lines = train_and_report(Path(data), Path(out), num_threads=threads, log=log)
    for line in lines:
        log(line)
    log(f"model: {manifest.parent}; report: {Path(out) / 'url_evaluation.json'}, card: {Path(out) / 'url_model_card.html'}")
    return Path(manifest.parent)


def evaluate_command(model: str | None, data: Path, out: Path, threads: int, log: Any) -> list[str]:
    """The `nightjar evaluate url` hook: evaluate a registered or exported model (the LR baseline is refitted beside it)."""
    from nightjar.scoring import load_scoring_detector

    det, ref = load_scoring_detector("url", model)
    log(f"evaluating {ref} on {data}")
    lines = evaluate_report(det, Path(data), Path(out), num_threads=threads, log=log)
    for line in lines:
        log(line)
    log(f"report: {Path(out) / 'url_evaluation.json'}, card: {Path(out) / 'url_model_card.html'}")
    return lines
