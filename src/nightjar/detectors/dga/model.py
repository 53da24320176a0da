"""The DGA models on scored labels: fit, score, save and load as plain files (JSON, text).

Three parts, all fitted here: a benign character 3-gram model and a word list (both from benign
labels only), a logistic regression on hashed character 1-4-grams (the baseline), and LightGBM on the
hand-made features plus the baseline's out-of-fold logit. `DgaModel.kind` says which one scores.
Files: `dga_model.json` (linear weights, 3-gram counts, settings), `words.txt`, `lgbm.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier

from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.wordlist import build_words
from nightjar.detectors.model_files import read_model_files, write_model_files

NGRAMS = (1, 2, 3, 4)
MODEL_FILE, WORDS_FILE, LGBM_FILE = "dga_model.json", "words.txt", "lgbm.txt"
# +1: more of it can only raise the score; -1: only lower it (helps unseen families extrapolate)
MONOTONE = {"entropy": 1, "trigram_mean_logp": -1, "trigram_min_logp": -1, "trigram_unseen_share": 1, "lr_logit": 1,
            "max_consonant_run": 1, "uncovered_chars": 1}
_MIX = np.uint64(0x9E3779B97F4A7C15)


def hashed_ngrams(enc: F.Encoded, buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, bucket, value) of hashed 1-4-grams; values are 1/sqrt(number of n-grams in the label)."""
    rows, cols = [], []
    for n in NGRAMS:
        row, ids = F.ngram_ids(enc, n)
        mixed = (ids.astype(np.uint64) * np.uint64(2 * n + 1) + np.uint64(n)) * _MIX
        rows.append(row)
        cols.append((mixed >> np.uint64(40)).astype(np.int64) % buckets)
    row, col = np.concatenate(rows), np.concatenate(cols)
    per = np.bincount(row, minlength=len(enc.lengths)).astype(np.float64)
    return row, col, 1.0 / np.sqrt(np.maximum(per[row], 1))


def lr_matrix(enc: F.Encoded, buckets: int) -> sp.csr_matrix:
    """The sparse design matrix of the linear model."""
    row, col, val = hashed_ngrams(enc, buckets)
    return sp.csr_matrix((val, (row, col)), shape=(len(enc.lengths), buckets))


def fit_linear(x: sp.csr_matrix, y: np.ndarray, seed: int, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Logistic regression by SGD (log loss, L2), balanced classes; returns (weights, bias)."""
    clf = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=6, tol=None, class_weight="balanced", random_state=seed)
    if sample_weight is not None:
        sample_weight = np.where(y, sample_weight / sample_weight[y].mean(), sample_weight / sample_weight[~y].mean())
    clf.fit(x, y, sample_weight=sample_weight)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])


@dataclass
class DgaModel:
    """Fitted parts; build with `fit`, read with `load`."""

    kind: str = "lgbm"  # which model scores: "lgbm", "lr" or "blend" (mean of both logits)
    buckets: int = 1 << 16
    alpha: float = 0.5
    params: dict = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    trigram_counts: np.ndarray | None = None
    lr_weights: np.ndarray | None = None
    lr_bias: float = 0.0
    booster: lgb.Booster | None = None
    feature_names: list[str] = field(default_factory=list)

    # --- derived tables -----------------------------------------------------------------------
    def _tables(self) -> None:
        counts = self.trigram_counts
        context = np.bincount(np.arange(len(counts)) // F.BASE, weights=counts, minlength=F.BASE**2)
        ctx = np.repeat(context, F.BASE)
        self._logp = np.log((counts + self.alpha) / (ctx + self.alpha * (F.BASE - 1)))
        self._seen = counts > 0
        self._keys = F.word_keys(self.words)
        self._bitmap = F.word_filter(self._keys)

    def features(self, enc: F.Encoded) -> dict[str, np.ndarray]:
        """Every feature of the LightGBM model, by name."""
        if not hasattr(self, "_logp"):
            self._tables()
        feats = F.char_stats(enc)
        feats.update(F.trigram_stats(enc, self._logp, self._seen))
        feats.update(F.word_stats(enc, self._keys, self._bitmap))
        feats["lr_logit"] = self.linear_logit(enc)
        return feats

    def linear_logit(self, enc: F.Encoded) -> np.ndarray:
        """The baseline's logit without a sparse matrix: n-gram ids built incrementally, masked, summed.

        Same value as `lr_matrix(enc) @ weights + bias` (up to float summation order).
        """
        b, rows = F.bounded(enc)
        total = len(rows)
        ids = np.zeros(total, dtype=np.uint64)
        ok = np.ones(total, dtype=bool)
        acc = np.zeros(total)
        mask = np.uint64(self.buckets - 1) if self.buckets & (self.buckets - 1) == 0 else None
        for n in NGRAMS:
            ch = b[n - 1 : n - 1 + total]
            ok &= ch != 0
            ids = ids * np.uint64(F.BASE) + ch.astype(np.uint64)
            mixed = ((ids * np.uint64(2 * n + 1) + np.uint64(n)) * _MIX) >> np.uint64(40)
            col = (mixed & mask if mask is not None else mixed % np.uint64(self.buckets)).astype(np.int64)
            acc += np.where(ok, self.lr_weights[col], 0.0)
        lens = enc.lengths
        per = sum(np.maximum(lens + 3 - n, 0) for n in NGRAMS)
        sums = np.bincount(rows, weights=acc, minlength=len(lens))
        return self.lr_bias + sums / np.sqrt(np.maximum(per, 1))

    def predict(self, enc: F.Encoded) -> np.ndarray:
        """Probabilities (0..1) only: the linear model needs no hand-made features (the fast path)."""
        if self.kind == "lr" or self.booster is None:
            return 1.0 / (1.0 + np.exp(-self.linear_logit(enc)))
        return self.score(enc)[0]

    def score(self, enc: F.Encoded) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Probabilities (0..1) and the features behind them."""
        feats = self.features(enc)
        if self.kind == "lr" or self.booster is None:
            return 1.0 / (1.0 + np.exp(-feats["lr_logit"])), feats
        x = np.column_stack([feats[n] for n in self.feature_names])
        raw = self.booster.predict(x, raw_score=True, num_threads=self.params.get("num_threads", 1))
        if self.kind == "blend":  # the mean of the two models' logits
            raw = (raw + feats["lr_logit"]) / 2.0
        return 1.0 / (1.0 + np.exp(-raw)), feats

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, labels: np.ndarray, y: np.ndarray, benign_labels: np.ndarray, seed: int = 0,
            sample_weight: np.ndarray | None = None) -> DgaModel:
        """Fit every part on scored labels `labels` with boolean `y`; the benign parts on `benign_labels`.

        `sample_weight` (e.g. equal total weight per DGA family) is rescaled so both classes weigh the same.
        """
        self.words, self.trigram_counts = benign_parts(benign_labels)
        self._tables()
        enc = F.encode(labels)
        x = lr_matrix(enc, self.buckets)
        y = np.asarray(y, dtype=bool)
        lr_weight = sample_weight if self.params.get("lr_family_balanced") and sample_weight is not None else None
        self.lr_weights, self.lr_bias = fit_linear(x, y, seed, lr_weight)
        folds = _fold_of(labels, 3)
        oof = np.zeros(len(labels))
        for k in range(3):
            w, b = fit_linear(x[folds != k], y[folds != k], seed + k + 1, None if lr_weight is None else lr_weight[folds != k])
            oof[folds == k] = x[folds == k] @ w + b
        feats = self.features(enc)
        feats["lr_logit"] = oof
        self.feature_names = list(feats)
        data = np.column_stack([feats[n] for n in self.feature_names])
        base = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        weight = np.where(y, 0.5 * base / base[y].sum(), 0.5 * base / base[~y].sum()) * len(y)
        if not self.params.get("lr_feature", True):
            self.feature_names.remove("lr_logit")
            data = np.column_stack([feats[n] for n in self.feature_names])
        params = {"objective": "binary", "learning_rate": 0.08, "num_leaves": int(self.params.get("num_leaves", 7)),
                  "min_data_in_leaf": int(self.params.get("min_data_in_leaf", 300)),
                  "feature_fraction": float(self.params.get("feature_fraction", 0.6)), "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
                  "seed": seed, "deterministic": True, "force_row_wise": True, "verbose": -1,
                  "num_threads": self.params.get("num_threads", 1)}
        if self.params.get("monotone", False):
            params["monotone_constraints"] = [MONOTONE.get(n, 0) for n in self.feature_names]
            params["monotone_constraints_method"] = "advanced"
        rounds = int(self.params.get("n_trees", 150))
        ds = lgb.Dataset(data, label=y.astype(int), weight=weight, feature_name=self.feature_names, free_raw_data=True)
        self.booster = lgb.train(params, ds, num_boost_round=rounds)
        return self

    # --- files ---------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Write the three plain files; returns their paths."""
        nz = np.flatnonzero(self.trigram_counts)
        doc = {
            "format": "nightjar-dga/1", "kind": self.kind, "buckets": self.buckets, "alpha": self.alpha,
            "ngrams": list(NGRAMS), "params": self.params, "feature_names": self.feature_names,
            "lr": {"bias": self.lr_bias, "weights": [float(f"{w:.5g}") for w in self.lr_weights]},
            "trigram_counts": {"ids": nz.tolist(), "counts": self.trigram_counts[nz].astype(int).tolist()},
        }
        paths = write_model_files(directory, doc, MODEL_FILE, self.booster, LGBM_FILE)
        words = Path(directory) / WORDS_FILE
        words.write_text("\n".join(self.words) + "\n")
        return [paths[0], words, *paths[1:]]

    @classmethod
    def load(cls, directory: Path) -> DgaModel:
        """Read the files written by `save`."""
        directory = Path(directory)
        doc, booster = read_model_files(directory, MODEL_FILE, LGBM_FILE)
        counts = np.zeros(F.BASE**3)
        counts[np.asarray(doc["trigram_counts"]["ids"], dtype=np.int64)] = doc["trigram_counts"]["counts"]
        model = cls(kind=doc["kind"], buckets=doc["buckets"], alpha=doc["alpha"], params=doc["params"],
                    words=(directory / WORDS_FILE).read_text().split(), trigram_counts=counts,
                    lr_weights=np.asarray(doc["lr"]["weights"], dtype=np.float64), lr_bias=doc["lr"]["bias"],
                    booster=booster, feature_names=doc["feature_names"])
        model._tables()
        return model


def benign_parts(benign_labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The word list and the 3-gram counts, both from benign labels only (cached: folds share them)."""
    labels = np.asarray(benign_labels, dtype=object)
    cached = _BENIGN_CACHE.get("labels")
    if cached is None or len(cached) != len(labels) or not np.array_equal(cached, labels):
        _, ids = F.ngram_ids(F.encode(labels), 3)
        _BENIGN_CACHE.update(labels=labels.copy(), words=build_words(labels),
                             counts=np.bincount(ids, minlength=F.BASE**3).astype(np.float64))
    return list(_BENIGN_CACHE["words"]), _BENIGN_CACHE["counts"].copy()


_BENIGN_CACHE: dict[str, Any] = {}


def _fold_of(labels: np.ndarray, k: int) -> np.ndarray:
    """A stable fold per label (same label, same fold), from a hash of its text."""
    import zlib

    return np.fromiter((zlib.crc32(s.encode()) % k for s in labels), dtype=np.int64, count=len(labels))
