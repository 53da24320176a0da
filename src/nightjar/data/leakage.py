"""Suspected label leakage: columns that alone separate the label, measured on a uniform row sample.

For every column other than the label and the group, a one-feature predictor is scored by ROC-AUC:

* a category (text, boolean, identifiers) predicts the label rate of its value. The rates are learnt
  on the other folds and applied to the held-out fold (out-of-fold target encoding); a value never seen
  in the training folds gets the training prior. So an ID column, whose values are all different, is
  not flagged just for memorising rows: its held-out predictions are constant and its AUC is 0.5.
  With `group`, folds are grouped (GroupKFold), so a column that only identifies the group (a test
  name, a host of one capture) is judged on groups it has not seen.
* a number or a time predicts with its own value; the AUC is direction-free (max(AUC, 1 - AUC)), and a
  missing value ranks below every present one. A time column that separates the label means the
  attacks sit in their own time window: split by time.

AUC >= `LEAK_AUC` flags the column. A column whose values map one-to-one onto the label values (a
renamed copy, "malicious"/"benign" beside 1/0) is flagged as a copy whatever its AUC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

LEAK_AUC = 0.98
NEGATIVE_WORDS = {"0", "false", "no", "benign", "normal", "legit", "legitimate", "clean", "good", "background", "negative"}
FOLDS = 5


@dataclass(frozen=True)
class Leak:
    """One column's single-feature predictive power for the label."""

    column: str
    auc: float | None
    method: str  # "category (out-of-fold)", "value" or "skipped"
    flagged: bool
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def positive_label(values: pd.Series) -> pd.Series | None:
    """The label as booleans (True = malicious), or None when it has fewer than two classes.

    Booleans and numbers: truthy is positive. Text: a value in `NEGATIVE_WORDS` is negative and any
    other value positive; when no value looks negative, the most common value is taken as negative.
    """
    present = values.dropna()
    if present.nunique() < 2:
        return None
    if pd.api.types.is_bool_dtype(present) or pd.api.types.is_numeric_dtype(present):
        y = present.astype(float) != 0
    else:
        text = present.astype(str).str.strip().str.lower()
        negative = set(text.unique()) & NEGATIVE_WORDS or {text.value_counts().index[0]}
        y = ~text.isin(negative)
    return y if y.nunique() == 2 else None


def find_leaks(sample: pd.DataFrame, label: str, group: str | None = None, threshold: float = LEAK_AUC) -> list[Leak]:
    """Score each column of `sample` as a one-feature label predictor; strongest first."""
    if label not in sample.columns:
        return []
    y_all = positive_label(sample[label])
    if y_all is None:
        return []
    frame = sample.loc[y_all.index]
    y = y_all.to_numpy(dtype=bool)
    if min(y.sum(), (~y).sum()) < 2:
        return []  # too few of one class to hold any out
    folds = _folds(frame, y, group)
    leaks = []
    for column in frame.columns:
        if column in (label, group):
            continue
        leaks.append(_score_column(column, frame[column], frame[label], y, folds, threshold))
    return sorted(leaks, key=lambda lk: (not lk.flagged, -(lk.auc or 0.0), lk.column))


def _score_column(name: str, values: pd.Series, label: pd.Series, y: np.ndarray, folds: np.ndarray, threshold: float) -> Leak:
    from sklearn.metrics import roc_auc_score

    present = values.notna()
    if present.sum() == 0 or values.nunique(dropna=False) < 2:
        return Leak(name, None, "skipped", False, "constant")
    if _is_copy(values, label):
        return Leak(name, 1.0, "copy", True, "one-to-one copy of the label")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        x = values.astype("int64" if pd.api.types.is_datetime64_any_dtype(values) else float).to_numpy(dtype=float, na_value=np.nan)
        x = np.where(np.isnan(x), np.nanmin(x) - 1.0, x)
        auc = float(roc_auc_score(y, x))
        auc, method = max(auc, 1.0 - auc), "value"
    else:
        keys = values.astype(str).where(present, "\x00missing").to_numpy()
        auc, method = float(roc_auc_score(y, _out_of_fold_rates(keys, y, folds))), "category (out-of-fold)"
    flagged = auc >= threshold
    return Leak(name, round(auc, 4), method, flagged, "alone separates the label" if flagged else "")


def _is_copy(values: pd.Series, label: pd.Series) -> bool:
    """True when values and label determine each other (nulls count as a value)."""
    pairs = pd.DataFrame({"v": values.astype(str).where(values.notna(), "\x00"), "y": label.astype(str)})
    return bool(pairs.groupby("v")["y"].nunique().max() == 1 and pairs.groupby("y")["v"].nunique().max() == 1)


def _folds(frame: pd.DataFrame, y: np.ndarray, group: str | None) -> np.ndarray:
    """A fold number per row: grouped when `group` is given and has at least two values."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    fold = np.zeros(len(frame), dtype=int)
    if group and group in frame.columns and frame[group].nunique(dropna=False) >= 2:
        groups = frame[group].astype(str).to_numpy()
        splitter: Any = GroupKFold(n_splits=min(FOLDS, len(set(groups))))
        splits = splitter.split(frame, y, groups)
    else:
        n_splits = max(2, min(FOLDS, int(min(y.sum(), (~y).sum()))))
        splits = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0).split(frame, y)
    for i, (_, test) in enumerate(splits):
        fold[test] = i
    return fold


def _out_of_fold_rates(keys: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """The training-fold label rate of each row's value, the training prior for unseen values."""
    scores = np.empty(len(keys), dtype=float)
    for f in np.unique(folds):
        test = folds == f
        train = pd.DataFrame({"k": keys[~test], "y": y[~test]})
        rates = train.groupby("k")["y"].mean()
        prior = float(train["y"].mean()) if len(train) else 0.5
        scores[test] = pd.Series(keys[test]).map(rates).fillna(prior).to_numpy(dtype=float)
    return scores
