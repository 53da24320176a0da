"""DgaDetector: the Detector contract around names.py, features.py and model.py."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.model import DgaModel
from nightjar.detectors.dga.names import split_names
from nightjar.detectors.dga.reasons import LOW, explain
from nightjar.errors import ConfigError, SchemaError

INPUT_COLUMNS = ("domain", "dns.question.name")
DETECTOR_FILE = "detector.json"


def input_column(events: pd.DataFrame) -> str:
    """The column holding the names: `domain`, else `dns.question.name`."""
    for name in INPUT_COLUMNS:
        if name in events.columns:
            return name
    raise SchemaError(f"no domain column: expected one of {', '.join(INPUT_COLUMNS)}; found {', '.join(map(str, events.columns))}")


def threshold_at_fpr(benign_scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold whose false-positive rate on `benign_scores` is at most `fpr`."""
    s = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(fpr * len(s)))
    if allowed >= len(s):
        return 0.0
    return float(np.nextafter(s[allowed], np.inf)) if allowed < len(s) else 0.0


class DgaDetector(Detector):
    """Scores domain names by how machine-generated their registered label looks (higher = worse).

    Example:
        >>> det = DgaDetector.load(default_model_dir())  # doctest: +SKIP
        >>> det.score(pd.DataFrame({"domain": ["google.com", "xjwqkzpvbt.net"]}))  # doctest: +SKIP
    """

    kind: ClassVar[str] = "dga"
    model_class: ClassVar[Any] = DgaModel  # files: the model, detector.json (base save/load)
    reads: ClassVar[tuple[str, ...]] = ("domain", "dns")
    summary_views: ClassVar[tuple[str, ...]] = ("hosts",)
    output_columns: ClassVar[tuple[str, ...]] = ("domain",)

    def __init__(self, model_kind: str = "lgbm", n_trees: int = 150, buckets: int = 1 << 16, target_fpr: float = 1e-3,
                 validation_share: float = 0.2, seed: int = 0, num_threads: int = 1, explain_above: float = 0.5,
                 num_leaves: int = 7, min_data_in_leaf: int = 300) -> None:
        self.model_kind = model_kind
        self.n_trees = n_trees
        self.buckets = buckets
        self.target_fpr = target_fpr
        self.validation_share = validation_share
        self.seed = seed
        self.num_threads = num_threads
        self.explain_above = explain_above
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf

    # --- fit -------------------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame, labels: pd.Series | np.ndarray) -> Self:
        """Fit on names with boolean labels; the threshold comes from held-out benign names."""
        if self.model_kind not in ("lgbm", "lr", "blend"):
            raise ConfigError(f"The 'model_kind' parameter of DgaDetector must be 'lgbm', 'lr' or 'blend'. Got {self.model_kind!r}.")
        y_all = np.asarray(labels, dtype=bool)
        split = split_names(events[input_column(events)].astype("string").to_numpy(dtype=object, na_value=None))
        ok = (split.reason == None) & (split.label != "")  # noqa: E711
        lab, y = split.label[ok], y_all[ok]
        val = np.fromiter((zlib.crc32(s.encode()) % 1000 for s in lab), dtype=np.int64, count=len(lab)) < 1000 * self.validation_share
        val &= ~y
        train = ~val
        model = DgaModel(kind=self.model_kind, buckets=self.buckets, params={"n_trees": self.n_trees, "num_threads": self.num_threads,
                                                                              "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf})
        model.fit(lab[train], y[train], lab[train & ~y], seed=self.seed)
        self.model_ = model
        if val.any():
            scores, _ = model.score(F.encode(lab[val]))
            self.threshold_ = threshold_at_fpr(scores, self.target_fpr)
            self.validation_ = {"benign_names": int(val.sum()), "fpr": float((scores >= self.threshold_).mean())}
        else:
            self.threshold_, self.validation_ = 0.5, {"benign_names": 0, "fpr": float("nan")}
        return self

    # --- score -----------------------------------------------------------------------------------
    def score_values(self, values: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(normalised name, score with NaN for rejected, alert, reasons) for raw names `values`."""
        self.check_fitted()
        thr = self.threshold_ if threshold is None else threshold
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
        split = split_names(np.asarray(uniques, dtype=object))
        n = len(uniques)
        score = np.full(n, np.nan)
        reasons = np.where(split.reason == None, LOW, split.reason).astype(object)  # noqa: E711
        ok = np.flatnonzero(split.reason == None)  # noqa: E711
        if len(ok):
            probs = self.model_.predict(F.encode(split.label[ok]))
            score[ok] = np.clip(probs, 0.0, 1.0)
            shown = np.flatnonzero(probs >= min(self.explain_above, thr))
            if len(shown):
                feats = self.model_.features(F.encode(split.label[ok[shown]]))
                for i, j in enumerate(shown):
                    reasons[ok[j]] = explain(i, split.label[ok[j]], float(probs[j]), thr, feats)
            for j in np.flatnonzero(split.infra[ok]):
                reasons[ok[j]] = f"CDN/cloud name under {split.suffix[ok[j]]}: scored on the provider's label; " + reasons[ok[j]]
        note = split.note != None  # noqa: E711
        reasons[note] = [f"{a}; {b}" for a, b in zip(split.note[note], reasons[note])]
        alert = np.nan_to_num(score, nan=-1.0) >= thr
        return split.name[codes], score[codes], alert[codes], reasons[codes]

    def score(self, events: pd.DataFrame) -> pd.DataFrame:
        """`domain` (the input name as given), `score`, `alert`, `reasons`, `domain.normalized`, then the input's
        other columns (a clashing input name is kept as `input.<name>`); rejected names get an empty score."""
        column = input_column(events)
        values = events[column].astype("string").to_numpy(dtype=object, na_value=None)
        names, score, alert, reasons = self.score_values(values)
        head = pd.DataFrame({"domain": pd.Series(values, dtype=object).fillna("").to_numpy(), SCORE: score,
                             ALERT: alert.astype(bool), REASONS: reasons})
        head["domain.normalized"] = np.where(pd.isna(score), None, names)
        rest = events.drop(columns=[c for c in ("domain", SCORE, ALERT, REASONS) if c in events.columns]).reset_index(drop=True)
        rest = rest.rename(columns={c: f"input.{c}" for c in rest.columns if c in head.columns})
        return pd.concat([head, rest], axis=1)

    def summary_view(self, name: str, scored: pd.DataFrame) -> pd.DataFrame:
        """A summary table of scored rows: "hosts" = one row per DNS client (source.ip) with its DGA-like names."""
        if name != "hosts":
            raise ConfigError(f"the dga detector has no {name!r} view; known: hosts")
        from nightjar.detectors.dga.hosts import host_view

        return host_view(scored, self.threshold_)

    def entity_accumulator(self) -> Any:
        """Host-level alerts for a scan: one client resolving many DGA-like names (see hosts.py)."""
        self.check_fitted()
        from nightjar.detectors.dga.hosts import HostAccumulator

        return HostAccumulator(self.threshold_)

    def monitor_features(self, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, np.ndarray]:
        """Registered-label length and character entropy per row (NaN for rejected names), for drift monitoring."""
        frame = scored if events is None else events
        codes, uniques = pd.factorize(frame[input_column(frame)].astype("string").to_numpy(dtype=object, na_value=None),
                                      use_na_sentinel=False)
        split = split_names(np.asarray(uniques, dtype=object))
        length, entropy = np.full(len(uniques), np.nan), np.full(len(uniques), np.nan)
        ok = np.flatnonzero((split.reason == None) & (split.label != ""))  # noqa: E711
        if len(ok):
            stats = F.char_stats(F.encode(split.label[ok]))
            length[ok], entropy[ok] = stats["length"], stats["entropy"]
        return {"label_length": length[codes], "label_entropy": entropy[codes]}

