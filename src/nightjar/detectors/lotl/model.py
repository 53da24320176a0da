"""The LotL models: a logistic-regression baseline and LightGBM on the same features, saved as plain files.

Design matrix (sparse): the numeric features of features.py (standardised for the linear model), the
parent relations, optionally user/integrity context, then one binary column per vocabulary token.
The vocabulary keeps tokens seen in at least `min_groups` training groups (Atomic tests), so a string
peculiar to one test cannot carry the model. Files: `lotl_model.json` (vocabulary, scaling, linear
weights, settings) and `lotl_lgbm.txt` (LightGBM text).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from nightjar.detectors.lotl.treeshap import PatternShap
from nightjar.detectors.model_files import read_model_files, write_model_files

MODEL_FILE, LGBM_FILE = "lotl_model.json", "lotl_lgbm.txt"


def build_vocab(token_lists: list[list[str]], groups: np.ndarray, min_groups: int, max_size: int) -> list[str]:
    """Tokens present in at least `min_groups` distinct groups, most widespread first, at most `max_size`."""
    seen: dict[str, set] = defaultdict(set)
    for toks, g in zip(token_lists, groups):
        for t in toks:
            seen[t].add(g)
    keep = [(len(gs), t) for t, gs in seen.items() if len(gs) >= min_groups]
    keep.sort(key=lambda x: (-x[0], x[1]))
    return [t for _, t in keep[:max_size]]


def token_matrix(token_lists: list[list[str]], vocab_index: dict[str, int]) -> sp.csr_matrix:
    """Binary rows x vocabulary matrix."""
    indptr, indices = [0], []
    for toks in token_lists:
        cols = sorted({vocab_index[t] for t in toks if t in vocab_index})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
                         shape=(len(token_lists), len(vocab_index)))


@dataclass
class LotlModel:
    """Fitted parts; build with `fit`, read with `load`. `kind` says which model scores: "lgbm" or "lr"."""

    kind: str = "lgbm"
    dense_names: list[str] = field(default_factory=list)
    vocab: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    lr_weights: np.ndarray | None = None
    lr_bias: float = 0.0
    booster: lgb.Booster | None = None
    params: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Dense feature names, then `tok:<token>` per vocabulary entry."""
        return [*self.dense_names, *(f"tok:{t}" for t in self.vocab)]

    def matrix(self, dense: np.ndarray, token_lists: list[list[str]]) -> sp.csr_matrix:
        """The raw (unscaled) design matrix."""
        index = getattr(self, "_index", None)
        if index is None or len(index) != len(self.vocab):
            index = self._index = {t: i for i, t in enumerate(self.vocab)}
        return sp.hstack([sp.csr_matrix(dense), token_matrix(token_lists, index)], format="csr")

    def _scaled(self, x: sp.csr_matrix) -> sp.csr_matrix:
        d = len(self.dense_names)
        dense = (x[:, :d].toarray() - self.mean) / self.scale
        return sp.hstack([sp.csr_matrix(dense), x[:, d:]], format="csr")

    def linear_logit(self, x: sp.csr_matrix) -> np.ndarray:
        """The baseline's logit."""
        return np.asarray(self._scaled(x) @ self.lr_weights).ravel() + self.lr_bias

    def predict(self, x: sp.csr_matrix, kind: str | None = None) -> np.ndarray:
        """Probabilities in 0..1 from the model `kind` (default: self.kind)."""
        if (kind or self.kind) == "lr" or self.booster is None:
            return 1.0 / (1.0 + np.exp(-self.linear_logit(x)))
        return np.asarray(self.booster.predict(x, num_threads=self.params.get("num_threads", 1)))

    def contributions(self, x: sp.csr_matrix) -> np.ndarray:
        """Per-feature contributions (log-odds) of each row, for the reasons."""
        if self.kind == "lr" or self.booster is None:
            return self._scaled(x).multiply(self.lr_weights).toarray()
        parts = []
        for start in range(0, x.shape[0], 1024):  # dense chunks: LightGBM's sparse contribution output is slow
            dense = x[start:start + 1024].toarray()
            parts.append(np.asarray(self.booster.predict(dense, pred_contrib=True, num_threads=self.params.get("num_threads", 1)))[:, :-1])
        return np.vstack(parts) if parts else np.zeros((0, x.shape[1]))

    def approximate_contributions(self, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
        """(`contributions(x)` to within `eps`, `eps` per feature), computed per tree and branch pattern (treeshap.py).

        None for the linear model or a booster treeshap.py does not handle: ask `contributions`.
        """
        if self.kind == "lr" or self.booster is None:
            return None
        if "_pattern_shap" not in self.__dict__:
            self.__dict__["_pattern_shap"] = PatternShap.from_booster(self.booster, x.shape[1])
        shap = self.__dict__["_pattern_shap"]
        if shap is None or shap.n_features != x.shape[1]:
            return None
        return shap.contributions(x), shap.eps

    def branch_keys(self, x: sp.csr_matrix) -> list[bytes]:
        """Per row, a key that is equal for rows with equal contributions (see `contributions`).

        LightGBM's contributions (TreeSHAP) depend on a row only through the branch it takes at each
        split, so the booster's key is, per split feature, how many of its thresholds lie below the
        value (a missing value counts as 0, as LightGBM compares it when a split has no missing-value
        handling). Otherwise (the linear model, other split kinds) the key is the row itself.
        """
        points = self._split_points() if (self.kind != "lr" and self.booster is not None) else None
        if points is None:
            return [x.indices[a:b].tobytes() + x.data[a:b].tobytes() for a, b in zip(x.indptr[:-1], x.indptr[1:])]
        if not points:
            return [b""] * x.shape[0]
        values = np.nan_to_num(x[:, [f for f, _ in points]].toarray(), nan=0.0)
        bins = np.column_stack([np.searchsorted(t, values[:, i], side="left") for i, (_, t) in enumerate(points)])
        return [row.tobytes() for row in bins.astype(np.int32)]

    def _split_points(self) -> list[tuple[int, np.ndarray]] | None:
        """(feature, sorted thresholds) per split feature; None unless every split is a numeric `<=` without missing values.

        Read from the model text (`decision_type` 0 or 2: numeric, missing type None, either default side).
        """
        if "_points" not in self.__dict__:
            points: dict[int, set[float]] = {}
            plain = True
            trees = self.booster.model_to_string().partition("\nend of trees")[0].split("\nTree=")[1:]
            for tree in trees:
                kv = dict(line.split("=", 1) for line in tree.splitlines() if "=" in line)
                if int(kv["num_leaves"]) <= 1:
                    continue
                plain &= not int(kv.get("num_cat", "0")) and all(int(d) in (0, 2) for d in kv["decision_type"].split())
                for f, t in zip(kv["split_feature"].split(), kv["threshold"].split()):
                    points.setdefault(int(f), set()).add(float(t))
            self.__dict__["_points"] = [(f, np.array(sorted(t))) for f, t in sorted(points.items())] if plain else None
        return self.__dict__["_points"]

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, dense: np.ndarray, dense_names: list[str], token_lists: list[list[str]], y: np.ndarray,
            groups: np.ndarray, seed: int = 0) -> LotlModel:
        """Fit the vocabulary, the linear baseline and LightGBM; returns self."""
        y = np.asarray(y, dtype=bool)
        self.__dict__.pop("_points", None)
        self.__dict__.pop("_pattern_shap", None)
        self.dense_names = list(dense_names)
        self.vocab = build_vocab(token_lists, groups, int(self.params.get("min_groups", 3)), int(self.params.get("max_vocab", 3000)))
        x = self.matrix(dense, token_lists)
        self.mean = dense.mean(axis=0)
        self.scale = np.where(dense.std(axis=0) > 0, dense.std(axis=0), 1.0)
        pos = max(y.mean(), 1e-9)
        weight = np.where(y, 0.5 / pos, 0.5 / max(1 - pos, 1e-9))
        if "weights" in self.params:
            weight = weight * np.asarray(self.params.pop("weights"))
        lr = LogisticRegression(C=float(self.params.get("C", 0.3)), max_iter=2000, solver="liblinear")
        lr.fit(self._scaled(x), y, sample_weight=weight)
        self.lr_weights, self.lr_bias = lr.coef_.ravel().astype(np.float64), float(lr.intercept_[0])
        params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": int(self.params.get("num_leaves", 15)),
                  "min_data_in_leaf": int(self.params.get("min_data_in_leaf", 20)), "feature_fraction": 0.7,
                  "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 5.0, "seed": seed, "deterministic": True,
                  "force_row_wise": True, "verbose": -1, "num_threads": self.params.get("num_threads", 1)}
        names = [f"f{i}" for i in range(x.shape[1])]
        ds = lgb.Dataset(x.astype(np.float32), label=y.astype(int), weight=weight, feature_name=names, free_raw_data=True)
        self.booster = lgb.train(params, ds, num_boost_round=int(self.params.get("n_trees", 300)))
        return self

    # --- files ---------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Write `lotl_model.json` and `lotl_lgbm.txt`; returns their paths."""
        doc = {"format": "nightjar-lotl/1", "kind": self.kind, "dense_names": self.dense_names, "vocab": self.vocab,
               "mean": self.mean.tolist(), "scale": self.scale.tolist(), "params": self.params,
               "lr": {"bias": self.lr_bias, "weights": [float(f"{w:.6g}") for w in self.lr_weights]}}
        return write_model_files(directory, doc, MODEL_FILE, self.booster, LGBM_FILE)

    @classmethod
    def load(cls, directory: Path) -> LotlModel:
        """Read the files written by `save`."""
        doc, booster = read_model_files(directory, MODEL_FILE, LGBM_FILE)
        return cls(kind=doc["kind"], dense_names=doc["dense_names"], vocab=doc["vocab"], mean=np.asarray(doc["mean"]),
                   scale=np.asarray(doc["scale"]), lr_weights=np.asarray(doc["lr"]["weights"], dtype=np.float64),
                   lr_bias=float(doc["lr"]["bias"]), booster=booster, params=doc["params"])
