"""Leave-technique-out evaluation on Atomic-EVTX, leave-lab-out on OTRF, external tests and the confounder variants.

Split: 5 folds of ATT&CK techniques (`GroupKFold` on `technique`: no technique, and no event of its
test windows, is in both train and test). Inside each training part, 20 % of techniques are held out
as validation; the alert threshold for FPR 1e-3 is chosen on their benign events only, pooled over
folds, then applied to the pooled test scores. Rarity is off here (all Atomic events come from one
host); `report.py` measures it on OTRF.

OTRF: leave-lab-out (`leave_lab_out`), the recipe refitted once per lab without it, nested for the
threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from nightjar.detectors.lotl import benign as B
from nightjar.detectors.lotl import data as D
from nightjar.detectors.lotl import synthetic as S
from nightjar.detectors.lotl.attack import Knowledge
from nightjar.detectors.lotl.detector import LotlDetector
from nightjar.detectors.lotl import training as T
from nightjar.detectors.lotl.training import (
    Recipe,
    admin_train,
    is_validation,
    technique_of,
    training_frame,
    validation_frame,
)
from nightjar.training.metrics import threshold_at_fpr

FOLDS = 5
FPR = 1e-3
KINDS = ("lgbm", "lr")


@dataclass
class CvResult:
    """Out-of-fold scores per model kind with the pooled validation scores they are thresholded on."""

    y: np.ndarray
    test_dir: np.ndarray
    technique: np.ndarray
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    val_y: np.ndarray | None = None
    val_scores: dict[str, np.ndarray] = field(default_factory=dict)
    external: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # name -> kind -> scores (mean over folds)
    folds: np.ndarray | None = None

    def threshold(self, kind: str, fpr: float = FPR) -> float:
        """The threshold for `fpr` on the pooled validation benign events."""
        return threshold_at_fpr(self.val_y, self.val_scores[kind], fpr)

    def summary(self, kind: str, fpr: float = FPR) -> dict[str, Any]:
        """The item-7 figures for one model kind."""
        from sklearn.metrics import average_precision_score, roc_auc_score

        y, s, t = self.y, self.scores[kind], self.threshold(kind, fpr)
        neg = np.sort(s[~y])[::-1]
        oracle = float(neg[int(np.floor(fpr * len(neg)))]) if len(neg) else float("nan")
        tests = pd.DataFrame({"test": self.test_dir[y], "hit": s[y] >= t}).groupby("test")["hit"].any()
        out = {"roc_auc": float(roc_auc_score(y, s)), "pr_auc": float(average_precision_score(y, s)),
               "threshold": t, "tpr": float((s[y] >= t).mean()), "fpr": float((s[~y] >= t).mean()),
               "alerts_per_1000_background": 1000 * float((s[~y] >= t).mean()),
               "tests_alerted": float(tests.mean()), "tests": int(len(tests)),
               "tpr_at_test_fpr_oracle": float((s[y] > oracle).mean()), "n_pos": int(y.sum()), "n_neg": int((~y).sum())}
        for name, ext in self.external.items():
            out[f"{name}_alert_share"] = float((ext[kind] >= t).mean())
        return out


def leave_technique_out(atomic: pd.DataFrame, knowledge: Knowledge, params: dict[str, Any] | None = None,
                        admin: pd.DataFrame | None = None, external: dict[str, pd.DataFrame] | None = None,
                        folds: int = FOLDS, num_threads: int = 2, log=print, synthetic: pd.DataFrame | None = None,
                        recipe: Recipe | None = None, otrf: pd.DataFrame | None = None) -> CvResult:
    """Out-of-fold LR and LightGBM scores (one fit gives both) under leave-technique-out CV.

    `synthetic` attack rows are trained on in a fold unless their technique is held out (test or validation);
    `otrf` rows (the recipe's OTRF captures) are trained on in every fold; `recipe` (default: the shipped
    one) gives the synthetic weight, the admin rows and the validation events. The threshold is set on
    the Atomic validation only: the figures are per Atomic event, their FPR is on Atomic background.
    """
    params, recipe = dict(params or {}), recipe or T.RECIPE
    admin = B.admin_events(admin_train(recipe)) if admin is None else admin
    tech = technique_of(atomic)
    y = atomic["label"].to_numpy(bool)
    res = CvResult(y=y, test_dir=atomic["test_dir"].astype("string").fillna("none").to_numpy(dtype=object), technique=tech,
                   scores={k: np.zeros(len(y)) for k in KINDS}, folds=np.zeros(len(y), dtype=int))
    val_y, val_s = [], {k: [] for k in KINDS}
    ext_s = {n: {k: [] for k in KINDS} for n in (external or {})}
    for k, (train_idx, test_idx) in enumerate(GroupKFold(n_splits=folds).split(atomic, y, groups=tech)):
        part = atomic.iloc[train_idx].reset_index(drop=True)
        val = is_validation(technique_of(part))
        synth = None
        if synthetic is not None:
            synth = S.for_training(synthetic, set(tech[test_idx]))
            synth = synth[~is_validation(technique_of(synth))].reset_index(drop=True)
        events, yy, groups, weights = training_frame(part[~val].reset_index(drop=True), admin, synth, recipe.synthetic_weight, otrf)
        det = LotlDetector(num_threads=num_threads, **params)
        det.fit(events, yy, groups=groups, knowledge=knowledge, weights=weights)
        test = atomic.iloc[test_idx]
        vpart = validation_frame(part[val].reset_index(drop=True), recipe)
        for kind in KINDS:
            res.scores[kind][test_idx] = det.model_scores(test, kind)
            val_s[kind].append(det.model_scores(vpart, kind))
            for name, ev in (external or {}).items():
                ext_s[name][kind].append(det.model_scores(ev, kind))
        val_y.append(vpart["label"].to_numpy(bool))
        res.folds[test_idx] = k
        log(f"  fold {k + 1}/{folds}: {len(train_idx):,} Atomic train ({int(val.sum()):,} validation) + {0 if otrf is None else len(otrf):,} OTRF, {len(test_idx):,} test, "
            f"{len(set(tech[test_idx]))} techniques held out")
    res.val_y = np.concatenate(val_y)
    res.val_scores = {k: np.concatenate(v) for k, v in val_s.items()}
    # external sets: each fold's model judged against its own pooled validation threshold would differ;
    # we keep the mean score over the fold models (one ensemble score per event).
    res.external = {n: {k: np.mean(v[k], axis=0) for k in KINDS} for n, v in ext_s.items()}
    return res


@dataclass
class LabResult:
    """OTRF events scored leave-lab-out: model score, score with rarity, the fold's threshold and lab."""

    score: np.ndarray
    score_rarity: np.ndarray
    threshold: np.ndarray
    lab: np.ndarray

    def alerts(self, rarity: bool = False) -> np.ndarray:
        """Events at or above their fold's threshold."""
        return (self.score_rarity if rarity else self.score) >= self.threshold


def leave_lab_out(atomic: pd.DataFrame, otrf: pd.DataFrame, knowledge: Knowledge, recipe: Recipe | None = None,
                  num_threads: int = 2, log=print, synthetic: pd.DataFrame | None = None, **params: Any) -> LabResult:
    """Score every OTRF lab with the recipe fitted without it, thresholded as the shipped model is.

    Split: `data.otrf_lab` (host DNS domain, else the capture year): no host, dataset or lab is in both
    train and test. Each fold trains on the Atomic training techniques, the admin rows and the other labs'
    OTRF events; its threshold is set (`training.fit_calibrated`) on the Atomic validation benign events plus the
    other labs' background scored out of lab by inner fits that leave each of them out in turn (nested:
    the held-out lab never touches the threshold). Rarity is judged per lab, on the lab's own events.
    """
    recipe = recipe or T.RECIPE
    labs = D.otrf_lab(otrf)
    res = LabResult(np.full(len(otrf), np.nan), np.full(len(otrf), np.nan), np.full(len(otrf), np.nan), labs)
    for lab in sorted(set(labs)):
        held = labs == lab
        det = T.fit_calibrated(atomic, otrf[~held].reset_index(drop=True), knowledge, recipe, synthetic, num_threads, **params)
        test = otrf[held]
        res.score[held] = det.model_scores(test)
        res.score_rarity[held] = det.score(test, rarity=True)["score"].to_numpy(float)
        res.threshold[held] = det.threshold_
        log(f"  lab {lab}: {int(held.sum()):,} events, threshold {det.threshold_:.4f} on {det.validation_['benign_events']:,} benign")
    return res


def per_technique(res: CvResult, kind: str = "lgbm") -> list[dict[str, Any]]:
    """Recall at the operating threshold per held-out technique (attack events only)."""
    t = res.threshold(kind)
    y, s = res.y, res.scores[kind]
    df = pd.DataFrame({"technique": res.technique[y], "hit": s[y] >= t, "test": res.test_dir[y]})
    rows = []
    for tech, g in df.groupby("technique"):
        rows.append({"technique": tech, "events": len(g), "recall": round(float(g["hit"].mean()), 3),
                     "tests": int(g["test"].nunique()), "tests_alerted": int(g.groupby("test")["hit"].any().sum())})
    return sorted(rows, key=lambda r: (r["recall"], -r["events"]))
