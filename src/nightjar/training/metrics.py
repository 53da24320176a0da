"""Metrics a detection team can act on: ranking quality, calibration, and recall at a fixed FPR.

Thresholds are chosen on validation data (or given) and then applied unchanged to the test data: a
threshold picked on the test set reports the FPR it was tuned to, not the one an analyst will see.
`evaluate` therefore refuses to run without validation scores or explicit thresholds. An FPR target
is only measurable with at least 1/target negatives on each side (10,000 for 1e-4); the operating
point says so when it is not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from nightjar.errors import ConfigError

ArrayLike = Sequence[Any] | np.ndarray


@dataclass
class OperatingPoint:
    """The test-set outcome of one threshold chosen for `target_fpr` (scores >= threshold alert)."""

    target_fpr: float
    threshold: float
    tpr: float | None
    fpr: float | None
    n_pos: int
    n_neg: int
    measurable: bool
    precision: float | None = None
    n_neg_threshold: int | None = None  # validation negatives the threshold was chosen on
    note: str = ""


@dataclass
class Metrics:
    """Test-set metrics; `operating_points` hold one entry per target FPR, in increasing order."""

    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    n_pos: int
    n_neg: int
    operating_points: list[OperatingPoint]
    group_recall: dict[str, float]
    group_counts: dict[str, int]
    operating_fpr: float = 1e-3
    threshold_source: str = ""
    split: str = ""
    notes: list[str] = field(default_factory=list)

    def operating_point(self, target_fpr: float | None = None) -> OperatingPoint:
        """The operating point for `target_fpr` (default: the operating FPR)."""
        target = self.operating_fpr if target_fpr is None else target_fpr
        for point in self.operating_points:
            if math.isclose(point.target_fpr, target, rel_tol=1e-9):
                return point
        known = ", ".join(f"{p.target_fpr:g}" for p in self.operating_points)
        raise ConfigError(f"no operating point for FPR {target:g}; known: {known}")

    @property
    def threshold(self) -> float:
        """The operating threshold (the one chosen for `operating_fpr`)."""
        return self.operating_point().threshold

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN and infinities become None)."""
        result: dict[str, Any] = json_ready(asdict(self))
        return result


def threshold_at_fpr(y_true: ArrayLike, scores: ArrayLike, fpr: float) -> float:
    """The lowest threshold whose false-positive rate on these negatives is at most `fpr`.

    Scores at or above the threshold alert. With `k = floor(fpr * n_neg)` false positives allowed,
    the threshold sits just above the (k+1)-th highest negative score (the next float up, in the
    scores' own precision), so negatives tied with it never alert. When every negative may alert
    (`fpr` = 1) it is the lowest score.

    Examples:
        >>> y = [False, False, False, False, True, True]
        >>> s = [0.1, 0.2, 0.4, 0.4, 0.3, 0.9]
        >>> t = threshold_at_fpr(y, s, 0.25)  # 1 false positive allowed, but 0.4 is tied twice
        >>> t > 0.4, round(t, 9)
        (True, 0.4)
        >>> t = threshold_at_fpr(y, s, 0.5)  # 2 allowed: both 0.4 negatives and the 0.3 positive alert
        >>> 0.2 < t <= 0.3
        True
    """
    y, s = check_scores(y_true, scores)
    if not (isinstance(fpr, (int, float)) and 0 <= fpr <= 1):
        raise ConfigError(f"The 'fpr' parameter must be a float in [0, 1]. Got {fpr!r}.")
    negatives = np.sort(s[~y])[::-1]
    if len(negatives) == 0:
        raise ConfigError("threshold_at_fpr needs at least one negative (benign) row to measure an FPR")
    allowed = int(math.floor(fpr * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return float(s.min())
    kind = s.dtype.type if np.issubdtype(s.dtype, np.floating) else np.float64
    return float(np.nextafter(kind(negatives[allowed]), kind(np.inf)))


def evaluate(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    thresholds: Mapping[float, float] | None = None,
    validation: tuple[ArrayLike, ArrayLike] | None = None,
    fprs: Iterable[float] = (1e-2, 1e-3, 1e-4),
    groups: ArrayLike | None = None,
    operating_fpr: float = 1e-3,
    split: str = "",
) -> Metrics:
    """Test-set metrics with thresholds from `validation` (y, scores) or from `thresholds` {fpr: t}.

    `groups` (one label per row, e.g. the DGA family) gives the recall of each group's positives at
    the operating threshold, the one for `operating_fpr`. `split` names the split in the report.
    """
    y, s = check_scores(y_true, scores)
    notes: list[str] = []
    if (thresholds is None) == (validation is None):
        raise ConfigError("evaluate needs exactly one of validation=(y_val, scores_val) or thresholds={fpr: t}; "
                          "thresholds are never chosen on the test data")
    n_val_neg: int | None = None
    if validation is not None:
        y_val, s_val = check_scores(*validation)
        targets = sorted({float(f) for f in fprs} | {float(operating_fpr)})
        chosen = {f: threshold_at_fpr(y_val, s_val, f) for f in targets}
        n_val_neg, source = int((~y_val).sum()), f"validation ({len(y_val)} rows, {int((~y_val).sum())} negatives)"
    else:
        assert thresholds is not None
        chosen = {float(f): float(t) for f, t in sorted(thresholds.items())}
        source = "given"
        if not any(math.isclose(f, operating_fpr, rel_tol=1e-9) for f in chosen):
            raise ConfigError(f"thresholds has no entry for operating_fpr {operating_fpr:g}; keys: {sorted(chosen)}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    points = [_operating_point(y, s, f, t, n_val_neg) for f, t in chosen.items()]
    roc_auc = pr_auc = None
    if n_pos and n_neg:
        roc_auc = float(roc_auc_score(y, s))
        pr_auc = float(average_precision_score(y, s))
    else:
        notes.append(f"ROC-AUC and PR-AUC undefined: the test data has {n_pos} positives and {n_neg} negatives")
    brier = float(np.mean((s - y) ** 2)) if s.min() >= 0 and s.max() <= 1 else None
    if brier is None:
        notes.append("Brier score undefined: scores are not probabilities in [0, 1]")
    operating = next(p for p in points if math.isclose(p.target_fpr, operating_fpr, rel_tol=1e-9))
    recall, counts = group_recall(y, s, groups, operating.threshold) if groups is not None else ({}, {})
    notes += [f"FPR {p.target_fpr:g}: {p.note}" for p in points if p.note]
    return Metrics(roc_auc, pr_auc, brier, n_pos, n_neg, points, recall, counts,
                   float(operating_fpr), source, split, notes)


def group_recall(y_true: ArrayLike, scores: ArrayLike, groups: ArrayLike,
                 threshold: float) -> tuple[dict[str, float], dict[str, int]]:
    """Recall and positive count per group at `threshold`, over the positive rows only."""
    y, s = check_scores(y_true, scores)
    labels = np.asarray(groups, dtype=object)
    if labels.shape != y.shape:
        raise ConfigError(f"groups has {labels.shape[0]} rows but y_true has {len(y)}")
    labels = np.array(["<missing>" if _missing(g) else str(g) for g in labels[y]], dtype=object)
    hits = s[y] >= threshold
    recall, counts = {}, {}
    for name in sorted(set(labels.tolist())):
        mask = labels == name
        counts[name] = int(mask.sum())
        recall[name] = float(hits[mask].mean())
    return recall, counts


def check_scores(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Boolean labels and finite float scores of equal length, or a ConfigError saying what is wrong."""
    y_raw, s = np.asarray(y_true), np.asarray(scores)
    if y_raw.ndim != 1 or s.ndim != 1 or len(y_raw) != len(s):
        raise ConfigError(f"y_true and scores must be 1-D and of equal length; got {y_raw.shape} and {s.shape}")
    if len(s) == 0:
        raise ConfigError("y_true and scores are empty")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise ConfigError(f"scores must be numbers; got dtype {s.dtype}")
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    bad = ~np.isfinite(s)
    if bad.any():
        raise ConfigError(f"scores has {int(bad.sum())} missing or infinite values (first at row {int(np.argmax(bad))})")
    values = set(np.unique(y_raw).tolist())
    if not values <= {0, 1}:  # True == 1 and False == 0 in a set
        raise ConfigError(f"y_true must be booleans (True = malicious) or 0/1; got values {sorted(map(str, values))[:5]}")
    return y_raw.astype(bool), s


def json_ready(value: Any) -> Any:
    """Nested dicts/lists with numpy scalars as Python ones and NaN/inf as None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _operating_point(y: np.ndarray, s: np.ndarray, target: float, threshold: float,
                     n_val_neg: int | None) -> OperatingPoint:
    """Apply `threshold` to the test rows and say whether `target` can be measured there."""
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    alert = s >= threshold
    tp, fp = int((alert & y).sum()), int((alert & ~y).sum())
    needed = math.ceil(1 / target - 1e-9) if target > 0 else math.inf
    short = [f"{n:,} {where} negatives" for n, where in ((n_neg, "test"), (n_val_neg, "validation"))
             if n is not None and n < needed]
    note = f"not measurable: needs >= {needed:,} negatives, has " + " and ".join(short) if short else ""
    return OperatingPoint(
        target_fpr=target, threshold=threshold,
        tpr=tp / n_pos if n_pos else None, fpr=fp / n_neg if n_neg else None,
        n_pos=n_pos, n_neg=n_neg, measurable=not short,
        precision=tp / (tp + fp) if tp + fp else None, n_neg_threshold=n_val_neg, note=note,
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
