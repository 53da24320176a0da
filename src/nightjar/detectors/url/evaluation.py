"""The URL evaluation (issue item 4): out-of-time, held-out benign with real paths, older positives, shortcuts.

`evaluate_all(data, out)` fits the LR baseline (and, unless given, the LightGBM model) on the train
role, fixes each model's thresholds on the validation role, then scores the test roles once and writes
`url_evaluation.json` (every figure) and `url_model_card.html` (both models side by side). Nothing on a
test role influences a threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from nightjar.detectors.url.detector import UrlDetector, threshold_at_fpr
from nightjar.detectors.url.training import SEED, corpus, train_detector

FPRS = (1e-2, 1e-3)
SPLIT = ("registered-domain hash split for every benign and non-OpenPhish source (buckets 0-5 train, 6-7 validation, 8-9 test); "
         "OpenPhish by time: first seen until 2025-06-30 train (its buckets 6-7 validation), 2025-07-01..2025-12-31 test; "
         "ISCX-2016 phishing + malware test only; thresholds from the validation role only")
REAL_BENIGN = ("esdaung_legit", "hannousse_legit")


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def figures(y: np.ndarray, s: np.ndarray, thresholds: dict[float, float], shipped: float) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, TPR (and FPR) at the validation thresholds and at the shipped threshold."""
    y = np.asarray(y, dtype=bool)
    out: dict[str, Any] = {"positives": int(y.sum()), "negatives": int((~y).sum()), "roc_auc": _auc(y, s),
                           "pr_auc": float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else None}
    for f, t in thresholds.items():
        out[f"tpr@{f:g}"] = float((s[y] >= t).mean()) if y.any() else None
        out[f"fpr@{f:g}"] = float((s[~y] >= t).mean()) if (~y).any() else None
    out["tpr@shipped"] = float((s[y] >= shipped).mean()) if y.any() else None
    out["fpr@shipped"] = float((s[~y] >= shipped).mean()) if (~y).any() else None
    return out


def shortcut_aucs(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Single-feature AUCs (phishing vs benign) of the scheme, URL length and source-list quirks, per role."""
    url = df["url"].astype(str)
    cols = {
        "scheme is http (vs https or none)": url.str.match(r"(?i)^http://").astype(float),
        "scheme is missing": (~url.str.contains("://", regex=False)).astype(float),
        "URL length": url.str.len().astype(float),
        "host starts with www.": url.str.match(r"(?i)^([a-z]+://)?www\.").astype(float),
        "has a query string": url.str.contains("?", regex=False).astype(float),
        "ends with '/'": url.str.endswith("/").astype(float),
        "home page (no path)": url.str.match(r"^([a-z]+://)?[^/]+/?$").astype(float),
    }
    rows = []
    for role in ("train", "test"):
        m = (df["role"] == role) | ((role == "test") & df["role"].isin(["test_oot"]))
        y = df.loc[m, "label"].to_numpy()
        for name, v in cols.items():
            auc = _auc(y, v[m].to_numpy())
            rows.append({"role": role, "feature": name, "auc": None if auc is None else round(auc, 4),
                         "as_shortcut": None if auc is None else round(max(auc, 1 - auc), 4)})
    return rows


def evaluate_model(det: UrlDetector, df: pd.DataFrame, log: Any = print) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every test figure of one fitted detector (thresholds from the validation role)."""
    score = det.score_values(df["url"].to_numpy(dtype=object), explain_rows=False)[0]
    s = np.nan_to_num(score, nan=0.0)
    role, src, y = df["role"].to_numpy(), df["source"].to_numpy(), df["label"].to_numpy()
    val = role == "validation"
    thresholds = {f: threshold_at_fpr(s[val & ~y], f) for f in FPRS}
    shipped = det.threshold_
    test_benign = (role == "test") & ~y
    oot = role == "test_oot"
    train_regs = set(df.loc[role == "train", "regdom"])
    unseen = oot & ~df["regdom"].isin(train_regs).to_numpy()
    has_path = ~df["url"].str.match(r"^([a-z]+://)?[^/]+/?$").to_numpy()
    real = test_benign & np.isin(src, REAL_BENIGN) & has_path
    sets = {
        "validation (all sources; for model selection)": val,
        "oot_openphish_vs_all_heldout_benign": oot | test_benign,
        "oot_openphish_unseen_regdom_vs_all_heldout_benign": unseen | test_benign,
        "oot_openphish_vs_heldout_legit_with_paths": oot | real,
        "esdaung_phish_vs_esdaung_legit (test buckets)": (role == "test") & np.isin(src, ["esdaung_phish", "esdaung_legit"]),
        "hannousse_phish_vs_hannousse_legit (test buckets)": (role == "test") & np.isin(src, ["hannousse_phish", "hannousse_legit"]),
        "iscx2016_phishing+malware_vs_all_heldout_benign": (role == "test_older") | test_benign,
        "iscx2016_phishing_vs_all_heldout_benign": (src == "iscx_phishing") | test_benign,
        "iscx2016_malware_vs_all_heldout_benign": (src == "iscx_malware") | test_benign,
    }
    out: dict[str, Any] = {"threshold": shipped, "validation_thresholds": {f"{k:g}": v for k, v in thresholds.items()}, "sets": {}}
    for name, m in sets.items():
        out["sets"][name] = figures(y[m], s[m], thresholds, shipped)
        log(f"  {name}: AUC {out['sets'][name]['roc_auc']:.4f}, TPR@shipped {out['sets'][name]['tpr@shipped']:.3f}")
    https = df["url"].str.match(r"(?i)^https://").to_numpy()
    http = df["url"].str.match(r"(?i)^http://").to_numpy()
    base = oot | test_benign
    out["by_scheme"] = {"https only": figures(y[base & https], s[base & https], thresholds, shipped),
                        "http only": figures(y[base & http], s[base & http], thresholds, shipped)}
    out["benign_fpr"] = []
    for r in ("validation", "test"):
        for name in sorted(set(src[~y])):
            m = (role == r) & (src == name)
            if not m.any():
                continue
            hit = s[m] >= shipped
            per_domain = pd.Series(hit).groupby(df["regdom"].to_numpy()[m]).mean()
            out["benign_fpr"].append({"source": name, "role": r, "rows": int(m.sum()), "fpr@shipped": float(hit.mean()),
                                      "domains": int(len(per_domain)), "domain_weighted_fpr@shipped": float(per_domain.mean())})
    return out, {"scores": s, "oot_y": y[sets["oot_openphish_vs_all_heldout_benign"]],
                 "oot_s": s[sets["oot_openphish_vs_all_heldout_benign"]], "val_y": y[val], "val_s": s[val],
                 "oot_groups": src[sets["oot_openphish_vs_all_heldout_benign"]]}


def evaluate_all(data: Path, out: Path, det: UrlDetector | None = None, num_threads: int = 2, log: Any = print,
                 df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Fit the baseline (and LightGBM unless `det` is given), evaluate both, write the JSON report and the model card."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = corpus(data, SEED) if df is None else df
    log("fitting the LR baseline")
    lr, _ = train_detector(data, model_kind="lr", num_threads=num_threads, df=df)
    if det is None:
        log("fitting LightGBM")
        det, _ = train_detector(data, model_kind="lgbm", num_threads=num_threads, df=df)
    summary: dict[str, Any] = {"split": SPLIT, "counts": df.groupby(["source", "role"]).size().unstack(fill_value=0).to_dict(),
                               "shortcut_aucs": shortcut_aucs(df), "models": {}}
    raws = {}
    for name, model in (("lgbm", det), ("lr", lr)):
        log(f"evaluating {name}")
        summary["models"][name], raws[name] = evaluate_model(model, df, log)
    summary["brands"] = len(det.model_.brands.brands)
    (out / "url_evaluation.json").write_text(json.dumps(summary, indent=1, default=str))
    from nightjar.detectors.url.report import write_card

    write_card(summary, raws, df, out / "url_model_card.html")
    return summary


def manifest_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures a manifest keeps: the chosen model's test sets and benign FPRs, the baseline's AUCs."""
    m, b = summary["models"]["lgbm"], summary["models"]["lr"]
    keep = ("roc_auc", "pr_auc", "tpr@0.01", "tpr@0.001", "tpr@shipped", "fpr@shipped", "positives", "negatives")
    return {"split": summary["split"],
            "test": {k: {a: v[a] for a in keep if a in v} for k, v in m["sets"].items()},
            "benign_fpr_at_threshold": {f"{r['role']}/{r['source']}": round(r["fpr@shipped"], 5) for r in m["benign_fpr"]},
            "baseline_lr_roc_auc": {k: v["roc_auc"] for k, v in b["sets"].items()}}
