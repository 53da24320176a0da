"""Summarised ROC and precision-recall curves and score histograms, small enough for a report.

A test set of 100k rows gives a ROC curve with up to 100k corners; a model card needs a few hundred
points. ROC curves are sampled on a log-spaced FPR grid (the best TPR reachable at each FPR), PR
curves on an even recall grid (interpolated precision: the best precision at that recall or more).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from nightjar.training.metrics import ArrayLike, check_scores

MIN_FPR = 1e-5


def roc_points(y_true: ArrayLike, scores: ArrayLike, n: int = 200, min_fpr: float = MIN_FPR) -> dict[str, Any] | None:
    """`{"fpr": [...], "tpr": [...]}` on `n` log-spaced FPRs from `min_fpr` to 1; None for one class.

    Each TPR is the highest reachable without exceeding that FPR on these rows. `measurable_from`
    is 1/n_neg: below it, the curve only repeats the TPR at zero false positives.
    """
    y, s = check_scores(y_true, scores)
    if y.all() or not y.any():
        return None
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=True)
    grid = np.logspace(np.log10(min_fpr), 0, n)
    idx = np.searchsorted(fpr, grid, side="right") - 1
    return {
        "fpr": [float(f"{v:.4g}") for v in grid],
        "tpr": [round(float(v), 5) for v in tpr[idx]],
        "measurable_from": 1 / int((~y).sum()),
    }


def pr_points(y_true: ArrayLike, scores: ArrayLike, n: int = 201) -> dict[str, Any] | None:
    """`{"recall": [...], "precision": [...]}` on `n` even recall steps; None for one class."""
    y, s = check_scores(y_true, scores)
    if y.all() or not y.any():
        return None
    precision, recall, _ = precision_recall_curve(y, s)
    order = np.argsort(recall, kind="stable")
    recall, precision = recall[order], precision[order]
    best_from_here = np.maximum.accumulate(precision[::-1])[::-1]
    grid = np.linspace(0, 1, n)
    idx = np.minimum(np.searchsorted(recall, grid, side="left"), len(recall) - 1)
    return {
        "recall": [round(float(v), 5) for v in grid],
        "precision": [round(float(v), 5) for v in best_from_here[idx]],
        "prevalence": float(y.mean()),
    }


def score_histogram(y_true: ArrayLike, scores: ArrayLike, bins: int = 40) -> dict[str, Any]:
    """Counts of benign and malicious scores on shared bins over the scores' range."""
    y, s = check_scores(y_true, scores)
    lo, hi = float(s.min()), float(s.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "edges": [round(float(e), 6) for e in edges],
        "benign": np.histogram(s[~y], edges)[0].tolist(),
        "malicious": np.histogram(s[y], edges)[0].tolist(),
    }

