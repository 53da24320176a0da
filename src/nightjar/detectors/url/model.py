"""The URL models: a logistic-regression baseline and LightGBM, saved as plain files (JSON, LightGBM text).

Baseline (`kind="lr"`): logistic regression on hashed character 3-5-grams of `host + path` (no
scheme, no `www.`) plus the hand-made features (log1p, standardised). LightGBM (`kind="lgbm"`): the
hand-made features plus the baseline's out-of-fold logit. Files: `url_model.json` (weights,
scaling, brand list, settings) and `lgbm.txt`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier

from nightjar.detectors.model_files import read_model_files, write_model_files
from nightjar.detectors.url.brands import BrandIndex
from nightjar.detectors.url.features import FEATURES, string_buffers

NGRAMS = (3, 4, 5)
MODEL_FILE, LGBM_FILE = "url_model.json", "lgbm.txt"


def _gram_buckets(texts: pa.Array, buckets: int) -> tuple[int, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(rows, n-grams per row, [(row, bucket) for each n in NGRAMS]) of the hashed byte n-grams of each text.

    `buckets` must be a power of two (the bucket is the top bits of a multiplicative hash).
    """
    n = len(texts)
    offsets, data = string_buffers(pc.fill_null(texts, ""))
    flat = data.astype(np.uint32)
    lengths = np.diff(offsets)
    row_of = np.repeat(np.arange(n, dtype=np.int32), lengths)
    room = np.repeat(offsets[1:].astype(np.int32), lengths) - np.arange(len(flat), dtype=np.int32)  # bytes left in the row
    out = []
    h = flat.copy()
    shift = np.uint32(32 - int(np.log2(buckets)))
    for k in range(2, max(NGRAMS) + 1):  # h[i] becomes the (32-bit FNV-style) hash of the k bytes starting at i
        m = len(flat) - k + 1
        if m <= 0:
            break
        h = (h[:m] * np.uint32(16777619)) ^ flat[k - 1:k - 1 + m]
        if k in NGRAMS:
            ok = room[:m] >= k
            out.append((row_of[:m][ok], ((h[ok] + np.uint32(k)) * np.uint32(0x9E3779B1)) >> shift))
    count = sum(np.maximum(lengths - k + 1, 0) for k in NGRAMS) if n else np.zeros(0, np.int64)
    return n, np.asarray(count), out


def _gram_logit(texts: pa.Array, weights: np.ndarray) -> np.ndarray:
    """Per text: the sum of `weights[bucket]` over its hashed n-grams / sqrt(n-gram count); `_gram_buckets`' buckets.

    Each n-gram size is summed in position order, as `np.bincount` over `_gram_buckets`' (row, bucket)
    pairs does, so the sums are the same floats; n-grams that would cross into the next text get weight
    0.0 instead of being filtered out (adding +0.0 leaves a sum unchanged).
    """
    n = len(texts)
    offsets, data = string_buffers(texts)
    flat = data.astype(np.uint32)
    lengths = np.diff(offsets)
    ends = offsets[1:]
    row_of = np.repeat(np.arange(n, dtype=np.intp), lengths)
    grams = np.zeros(n)
    shift = np.uint32(32 - int(np.log2(len(weights))))
    h = flat.copy()
    for k in range(2, max(NGRAMS) + 1):  # h[i] becomes the (32-bit FNV-style) hash of the k bytes starting at i
        m = len(flat) - k + 1
        if m <= 0:
            break
        h = h[:m]
        h *= np.uint32(16777619)
        h ^= flat[k - 1:k - 1 + m]
        if k in NGRAMS:
            bucket = h + np.uint32(k)
            bucket *= np.uint32(0x9E3779B1)
            bucket >>= shift
            w = weights.take(bucket)
            tail = (ends[:, None] - np.arange(1, k)).ravel()  # the last k-1 positions of each text start no full n-gram
            w[tail[(tail >= np.repeat(ends - lengths, k - 1)) & (tail < m)]] = 0.0
            grams += np.bincount(row_of[:m], weights=w, minlength=n)
    count = sum(np.maximum(lengths - k + 1, 0) for k in NGRAMS) if n else np.zeros(0, np.int64)
    return grams / np.sqrt(np.maximum(count, 1))


def hashed_ngrams(texts: pa.Array, buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, bucket, norm) of hashed byte n-grams of each text; `norm[row]` = 1/sqrt(n-grams in the row) is each entry's value.

    `buckets` must be a power of two (the bucket is the top bits of a multiplicative hash).
    """
    n, count, parts = _gram_buckets(texts, buckets)
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.ones(n)
    row = np.concatenate([r for r, _ in parts])
    col = np.concatenate([c for _, c in parts]).astype(np.int32)
    return row, col, 1.0 / np.sqrt(np.maximum(count, 1))


@dataclass
class UrlModel:
    """Fitted parts; build with `fit`, read with `load`."""

    kind: str = "lgbm"
    buckets: int = 1 << 16
    params: dict = field(default_factory=dict)
    brands: BrandIndex = field(default_factory=lambda: BrandIndex([]))
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    lr_weights: np.ndarray | None = None
    lr_bias: float = 0.0
    booster: lgb.Booster | None = None
    feature_names: list[str] = field(default_factory=list)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        return (np.log1p(np.maximum(x, 0)) - self.mean) / self.std

    def _design(self, x: np.ndarray, texts: pa.Array) -> sp.csr_matrix:
        row, col, norm = hashed_ngrams(texts, self.buckets)
        grams = sp.csr_matrix((norm[row], (row, col)), shape=(len(x), self.buckets))
        return sp.hstack([grams, sp.csr_matrix(self._scaled(x))], format="csr")

    def linear_logit(self, x: np.ndarray, texts: pa.Array) -> np.ndarray:
        """The baseline's logit, without building a sparse matrix; n-grams hashed once per distinct text."""
        enc = pc.dictionary_encode(pc.fill_null(texts, ""))
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        grams = _gram_logit(enc.dictionary, self.lr_weights[: self.buckets])
        return self.lr_bias + grams[enc.indices.to_numpy()] + self._scaled(x) @ self.lr_weights[self.buckets:]

    def score(self, x: np.ndarray, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities 0..1, baseline logit) for hand features `x` and n-gram texts."""
        logit = self.linear_logit(x, texts)
        if self.kind == "lr" or self.booster is None:
            return 1.0 / (1.0 + np.exp(-logit)), logit
        data = np.column_stack([x, logit])
        return self.booster.predict(data, num_threads=self.params.get("num_threads", 1)), logit

    def fit(self, x: np.ndarray, texts: pa.Array, y: np.ndarray, groups: np.ndarray, weight: np.ndarray | None = None,
            seed: int = 0) -> UrlModel:
        """Fit the baseline, then (kind lgbm) LightGBM on features + out-of-fold baseline logit (folds by `groups`)."""
        y = np.asarray(y, dtype=bool)
        weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        logx = np.log1p(np.maximum(x, 0))
        self.mean, self.std = logx.mean(axis=0), logx.std(axis=0) + 1e-6
        design = self._design(x, texts)
        self.lr_weights, self.lr_bias = _fit_linear(design, y, weight, seed)
        self.feature_names = [*FEATURES, "lr_logit"]
        if self.kind == "lr":
            return self
        folds = np.fromiter((zlib.crc32(str(g).encode()) % 3 for g in groups), dtype=np.int64, count=len(groups))
        oof = np.zeros(len(y))
        for k in range(3):
            w, b = _fit_linear(design[folds != k], y[folds != k], weight[folds != k], seed + k + 1)
            oof[folds == k] = design[folds == k] @ w + b
        params = {"objective": "binary", "learning_rate": float(self.params.get("learning_rate", 0.06)), "num_leaves": int(self.params.get("num_leaves", 31)),
                  "min_data_in_leaf": 50, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                  "lambda_l2": 1.0, "seed": seed, "deterministic": True, "force_row_wise": True, "verbose": -1,
                  "num_threads": self.params.get("num_threads", 1)}
        ds = lgb.Dataset(np.column_stack([x, oof]), label=y.astype(int), weight=weight, feature_name=self.feature_names)
        self.booster = lgb.train(params, ds, num_boost_round=int(self.params.get("n_trees", 200)))
        return self

    def save(self, directory: Path) -> list[Path]:
        """Write `url_model.json` (and `lgbm.txt`); returns the paths."""
        doc = {"format": "nightjar-url/1", "kind": self.kind, "buckets": self.buckets, "ngrams": list(NGRAMS),
               "params": self.params, "feature_names": self.feature_names, "brands": self.brands.to_dict(),
               "scaling": {"mean": self.mean.tolist(), "std": self.std.tolist()},
               "lr": {"bias": self.lr_bias, "weights": [float(f"{w:.4g}") for w in self.lr_weights]}}
        return write_model_files(directory, doc, MODEL_FILE, self.booster, LGBM_FILE)

    @classmethod
    def load(cls, directory: Path) -> UrlModel:
        """Read the files written by `save`."""
        doc, booster = read_model_files(directory, MODEL_FILE, LGBM_FILE)
        return cls(kind=doc["kind"], buckets=doc["buckets"], params=doc["params"], brands=BrandIndex.from_dict(doc["brands"]),
                   mean=np.asarray(doc["scaling"]["mean"]), std=np.asarray(doc["scaling"]["std"]),
                   lr_weights=np.asarray(doc["lr"]["weights"], dtype=np.float64), lr_bias=float(doc["lr"]["bias"]),
                   booster=booster if doc["kind"] == "lgbm" else None, feature_names=doc["feature_names"])


def _fit_linear(x: sp.csr_matrix, y: np.ndarray, weight: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Logistic regression by SGD (log loss, L2); returns (weights, bias)."""
    clf = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=8, tol=None, random_state=seed)
    clf.fit(x, y, sample_weight=weight)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])
