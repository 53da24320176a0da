"""UrlDetector: the Detector contract around parse.py, features.py, model.py and reasons.py."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.detectors.url import features as F
from nightjar.detectors.url.brands import BrandIndex
from nightjar.detectors.url.model import UrlModel
from nightjar.detectors.url.parse import Parsed, parse
from nightjar.detectors.url.reasons import LOW, explain, traits
from nightjar.errors import ConfigError, SchemaError

INPUT_COLUMNS = ("url", "url.full", "url.original")
# features that are 0 when `BrandIndex.host_matches` finds nothing (brand features are 0 for IP hosts)
_HOST_BRAND_FLAGS = ("is_ip", "brand_in_sub", "brand_in_label", "brand_near", "suffix_swap")
DETECTOR_FILE = "detector.json"


def url_values(events: pd.DataFrame) -> np.ndarray:
    """The raw URLs of `events`: `url`, `url.full`, else Zeek http `url.domain` + `url.original`."""
    for name in ("url", "url.full"):
        if name in events.columns:
            return events[name].astype("string").to_numpy(dtype=object, na_value=None)
    if "url.original" in events.columns:
        uri = events["url.original"].astype("string").fillna("")
        if "url.domain" in events.columns:
            host = events["url.domain"].astype("string").fillna("")
            absolute = uri.str.contains("://", regex=False)
            joined = ("http://" + host + uri).where(~absolute & (host != ""), uri)
            return joined.to_numpy(dtype=object, na_value=None)
        return uri.to_numpy(dtype=object, na_value=None)
    raise SchemaError(f"no URL column: expected one of {', '.join(INPUT_COLUMNS)}; found {', '.join(map(str, events.columns))}")


def threshold_at_fpr(benign_scores: np.ndarray, fpr: float, weights: np.ndarray | None = None) -> float:
    """The lowest threshold whose (weighted) false-positive rate on `benign_scores` is at most `fpr`."""
    s = np.asarray(benign_scores, dtype=np.float64)
    if not len(s):
        return 0.5
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, share = s[order], np.cumsum(w[order]) / w.sum()
    # scores tied with a higher one alert together: only cut between distinct values
    last_of_value = np.r_[s[1:] != s[:-1], True]
    ok = np.flatnonzero(last_of_value & (share <= fpr + 1e-12))
    if not len(ok):
        return float(np.nextafter(s[0], np.inf))
    k = ok[-1]
    return float(s[k]) if k + 1 == len(s) else float(np.nextafter(s[k + 1], np.inf))


class UrlDetector(Detector):
    """Scores URLs by how much they look like phishing links (higher = worse).

    Example:
        >>> det = UrlDetector.load(model_dir)  # doctest: +SKIP
        >>> det.score(pd.DataFrame({"url": ["https://example.com/", "http://paypal.com.verify-me.top/login"]}))  # doctest: +SKIP
    """

    kind: ClassVar[str] = "url"
    model_class: ClassVar[Any] = UrlModel  # files: the model, detector.json (base save/load)
    reads: ClassVar[tuple[str, ...]] = ("url", "http", "proxy")
    output_columns: ClassVar[tuple[str, ...]] = ("url",)
    #: summary tables `nightjar score url ... --campaigns OUT` can write (see `summary_view`)
    summary_views: ClassVar[tuple[str, ...]] = ("campaigns",)

    def __init__(self, model_kind: str = "lgbm", n_trees: int = 200, buckets: int = 1 << 16, target_fpr: float = 1e-2,
                 seed: int = 0, num_threads: int = 1, explain_above: float = 0.3, learning_rate: float = 0.06) -> None:
        self.model_kind = model_kind
        self.n_trees = n_trees
        self.learning_rate = learning_rate
        self.buckets = buckets
        self.target_fpr = target_fpr
        self.seed = seed
        self.num_threads = num_threads
        self.explain_above = explain_above

    # --- features --------------------------------------------------------------------------------
    def features(self, parsed: Parsed, brands: BrandIndex) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(feature matrix, per-row host parts: registered, sub, label) of a parsed batch."""
        hosts = pc.dictionary_encode(parsed.host)  # distinct hosts in order of first appearance
        codes = hosts.indices.to_numpy()
        htab, parts = F.host_table(hosts.dictionary.to_pylist(), brands)
        x = np.column_stack([htab[codes], F.url_table(parsed, brands)]) if len(codes) else np.zeros((0, len(F.FEATURES)))
        return x, {k: v[codes] for k, v in parts.items()}

    # --- fit -------------------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame, labels: pd.Series | np.ndarray, brands: BrandIndex | None = None,
            groups: np.ndarray | None = None, weight: np.ndarray | None = None) -> Self:
        """Fit on URLs with boolean labels (rows that do not parse are dropped). Threshold: see `set_threshold`."""
        if self.model_kind not in ("lgbm", "lr"):
            raise ConfigError(f"The 'model_kind' parameter of UrlDetector must be 'lgbm' or 'lr'. Got {self.model_kind!r}.")
        if self.buckets < 2 or self.buckets & (self.buckets - 1):
            raise ConfigError(f"The 'buckets' parameter of UrlDetector must be a power of two. Got {self.buckets!r}.")
        y = np.asarray(labels, dtype=bool)
        parsed = parse(pa.array(url_values(events), pa.string()))
        ok = parsed.ok
        brands = brands or BrandIndex([])
        x, parts = self.features(parsed, brands)
        groups = parts["registered"] if groups is None else np.asarray(groups, dtype=object)
        weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        texts = F.gram_text(parsed).filter(pa.array(ok))
        model = UrlModel(kind=self.model_kind, buckets=self.buckets, brands=brands,
                         params={"n_trees": self.n_trees, "learning_rate": self.learning_rate, "num_threads": self.num_threads})
        model.fit(x[ok], texts, y[ok], groups[ok], weight[ok], seed=self.seed)
        self.model_ = model
        self.threshold_ = 0.5
        self.validation_: dict[str, Any] = {}
        return self

    def set_threshold(self, benign_by_source: dict[str, np.ndarray], groups_by_source: dict[str, np.ndarray] | None = None) -> float:
        """Threshold = the highest of the per-source thresholds at `target_fpr` on validation benign scores.

        With `groups_by_source` (registered domain per URL) each domain weighs the same within its source, so a
        crawled site with thousands of look-alike URLs counts as one site, not as thousands of false positives.
        """
        per = {}
        for name, s in benign_by_source.items():
            if not len(s):
                continue
            w = None
            if groups_by_source is not None:
                codes, _ = pd.factorize(pd.Series(groups_by_source[name], dtype=object))
                w = 1.0 / np.bincount(codes)[codes]
            per[name] = threshold_at_fpr(s, self.target_fpr, w)
        self.threshold_ = max(per.values()) if per else 0.5
        self.validation_ = {name: {"rows": int(len(s)), "fpr": float((np.asarray(s) >= self.threshold_).mean())}
                            for name, s in benign_by_source.items() if len(s)}
        return self.threshold_

    # --- score -----------------------------------------------------------------------------------
    def score_values(self, values: np.ndarray | list, threshold: float | None = None,
                     explain_rows: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(score with NaN for rejected, alert, reasons, registered domain) for raw URLs `values`."""
        self.check_fitted()
        thr = self.threshold_ if threshold is None else threshold
        distinct = pc.dictionary_encode(pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True), null_encoding="encode")
        codes = distinct.indices.to_numpy()  # distinct values in order of first appearance, missing ones as one null
        parsed = parse(distinct.dictionary)
        n = len(distinct.dictionary)
        score = np.full(n, np.nan)
        reasons = np.where(parsed.ok, LOW, parsed.reason).astype(object)
        ok = np.flatnonzero(parsed.ok)
        regs = np.full(n, "", dtype=object)
        if len(ok):
            sub = _take(parsed, ok)
            x, parts = self.features(sub, self.model_.brands)
            regs[ok] = regs_ok = parts["registered"]
            probs, _ = self.model_.score(x, F.gram_text(sub))
            score[ok] = np.clip(probs, 0.0, 1.0)
            if explain_rows:
                rows = np.flatnonzero(probs >= min(self.explain_above, thr))
                reasons[ok[rows]] = self._explain(sub, x, parts, probs, rows, thr)
        notes = parsed.note != None  # noqa: E711
        reasons[notes] = [f"{b}; {a}" if r else f"{b} ({a})" for a, b, r in zip(parsed.note[notes], reasons[notes], parsed.ok[notes])]
        alert = np.nan_to_num(score, nan=-1.0) >= thr
        return score[codes], alert[codes], reasons[codes], regs[codes]

    def _explain(self, parsed: Parsed, x: np.ndarray, parts: dict[str, np.ndarray], probs: np.ndarray, rows: np.ndarray,
                 thr: float) -> list[str]:
        """Reasons for the `rows` of a scored batch.

        Brands are looked up once per distinct host, and only where a feature flags one (an IP address has
        its brand features zeroed, so it is always looked up); the path's brand likewise.
        """
        brands = self.model_.brands
        regs = parts["registered"][rows].tolist()
        flags = x[np.ix_(rows, [F.FEATURES.index(c) for c in _HOST_BRAND_FLAGS])].any(axis=1)
        per_host: dict[tuple[str, str, str], tuple[str | None, ...]] = {}
        matches = []
        for key, flagged in zip(zip(parts["sub"][rows].tolist(), parts["label"][rows].tolist(), regs), flags.tolist()):
            if not flagged:
                matches.append((None, None, None, None))
                continue
            if key not in per_host:
                per_host[key] = brands.host_matches(*key)
            matches.append(per_host[key])
        path_brand: list[str | None] = [None] * len(rows)
        flagged = np.flatnonzero(x[rows, F.FEATURES.index("brand_in_path")])
        if len(flagged):
            at = pa.array(rows[flagged])
            rest = pc.utf8_lower(pc.binary_join_element_wise(parsed.path.take(at), parsed.query.take(at), parsed.fragment.take(at), "?"))
            for i, text in zip(flagged.tolist(), rest.to_pylist()):
                path_brand[i] = brands.find(text)
        found = traits(x[rows], regs, matches, path_brand)
        return [explain(p, thr, t) for p, t in zip(probs[rows].tolist(), found)]

    def score(self, events: pd.DataFrame) -> pd.DataFrame:
        """A copy of `events` with `score`, `alert` and `reasons`; rows that are not URLs get an empty score."""
        score, alert, reasons, _ = self.score_values(url_values(events))
        out = events.copy()
        if "url" not in out.columns:
            out.insert(0, "url", url_values(events))
        out[SCORE] = score
        out[ALERT] = alert
        out[REASONS] = reasons
        return out

    def monitor_features(self, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, np.ndarray]:
        """URL length and host entropy per row (NaN for rows that are not URLs), for drift monitoring."""
        codes, uniques = pd.factorize(pd.Series(url_values(scored if events is None else events), dtype=object), use_na_sentinel=False)
        parsed = parse(list(uniques))
        ok = parsed.reason == None  # noqa: E711
        length = np.where(ok, parsed.length.astype(float), np.nan)
        entropy = np.where(ok, F._entropy_rows(parsed.host), np.nan)
        return {"url_length": length[codes], "host_entropy": entropy[codes]}

    def summary_view(self, name: str, scored: pd.DataFrame) -> pd.DataFrame:
        """A summary table of scored rows: "campaigns" = alerted URLs grouped by kit template (see campaigns.py)."""
        if name != "campaigns":
            raise ConfigError(f"the url detector has no {name!r} view; known: campaigns")
        from nightjar.detectors.url.campaigns import campaigns

        return campaigns(scored)



def _take(p: Parsed, idx: np.ndarray) -> Parsed:
    """The rows `idx` of a parsed batch."""
    ix = pa.array(idx)
    return Parsed(*(getattr(p, name).take(ix) for name in ("scheme", "userinfo", "host", "port", "path", "query", "fragment")),
                  p.length[idx], p.reason[idx], p.note[idx])
