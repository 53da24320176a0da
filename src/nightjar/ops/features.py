"""Feature drift: histograms of each detector's monitoring features on one fixed grid.

A detector may hand out a few cheap numeric features per event through
`Detector.monitor_features(events, scored) -> {name: array}` (label length and entropy, URL length,
command-line entropy, beacon sub-scores). The scan's score-statistics hook turns them into
histograms per batch; the reference stored with a model holds the same histograms of its benign
validation data; `nightjar.ops.monitor` compares the two with `drift.compare_histograms` (PSI and JS
on the reference's quantile bins, KS at the grid edges).

The grid is fixed and generic, so batches of any window add up exactly and no reference is needed at
scan time: `FEATURE_BINS` bins equally spaced over [-12, 12] on the symmetric log scale
t = sign(x) * log1p(|x|) (|x| up to ~160,000), plus an end bin on each side. A bin is 0.01 wide in
t: 0.01 near 0, ~0.04 at x = 3 (an entropy), ~1 at x = 100 (a length). Histograms are stored sparse.

Example:
    >>> h = feature_histograms({"length": np.array([10.0, 12.0, np.nan])})
    >>> int(h["length"].sum()), decode_sparse(encode_sparse(h["length"])).tolist() == h["length"].tolist()
    (2, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nightjar.ops.drift import DriftResult, compare_histograms

FEATURE_BINS, FEATURE_SPAN = 2400, 12.0
FEATURE_GRID = f"symlog{FEATURE_BINS}"
#: inner edges on the symlog scale; bin 0 is below the first, bin FEATURE_BINS + 1 above the last
FEATURE_EDGES: NDArray[np.float64] = np.linspace(-FEATURE_SPAN, FEATURE_SPAN, FEATURE_BINS + 1)
N_FEATURE_BINS = FEATURE_BINS + 2
MAX_FEATURES = 4


def symlog(values: ArrayLike) -> NDArray[np.float64]:
    """sign(x) * log1p(|x|): the scale of the feature grid."""
    x = np.asarray(values, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def feature_histogram(values: ArrayLike) -> NDArray[np.int64]:
    """Counts of `values` (any reals; NaN and inf dropped) on the feature grid."""
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    index = np.searchsorted(FEATURE_EDGES, symlog(x), side="right")
    return np.bincount(index, minlength=N_FEATURE_BINS).astype(np.int64)


def feature_histograms(features: Mapping[str, ArrayLike]) -> dict[str, NDArray[np.int64]]:
    """One grid histogram per feature."""
    return {str(name): feature_histogram(values) for name, values in features.items()}


def encode_sparse(counts: ArrayLike) -> dict[str, int]:
    """{bin index: count} of the non-empty bins (JSON-ready)."""
    return {str(i): int(c) for i, c in enumerate(np.asarray(counts)) if c}


def decode_sparse(sparse: Mapping[str, Any], n_bins: int = N_FEATURE_BINS) -> NDArray[np.int64]:
    """The inverse of `encode_sparse` (bins outside the grid are ignored)."""
    counts = np.zeros(n_bins, dtype=np.int64)
    for i, c in sparse.items():
        if 0 <= int(i) < n_bins:
            counts[int(i)] = int(c)
    return counts


def to_json(hists: Mapping[str, ArrayLike]) -> dict[str, Any]:
    """Per-feature histograms as stored (store column `score_stats.features`, reference.json `features`)."""
    return {"grid": FEATURE_GRID, "features": {name: encode_sparse(c) for name, c in hists.items()}}


def from_json(data: Any) -> dict[str, NDArray[np.int64]]:
    """Per-feature histograms from `to_json` output; {} for None, another grid or malformed data."""
    if not isinstance(data, dict) or data.get("grid") != FEATURE_GRID or not isinstance(data.get("features"), dict):
        return {}
    return {str(name): decode_sparse(sparse) for name, sparse in data["features"].items() if isinstance(sparse, dict)}


def add(total: dict[str, NDArray[np.int64]], hists: Mapping[str, NDArray[np.int64]]) -> dict[str, NDArray[np.int64]]:
    """Add `hists` into `total` feature by feature (in place); returns `total`."""
    for name, counts in hists.items():
        total[name] = total[name] + counts if name in total else np.asarray(counts, dtype=np.int64).copy()
    return total


def reference_features(features: Mapping[str, ArrayLike]) -> dict[str, Any]:
    """The `features` entry of a reference.json: grid histograms plus a few quantiles per feature."""
    out = to_json(feature_histograms(features))
    quantiles = {}
    for name, values in features.items():
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        quantiles[str(name)] = {str(q): float(np.quantile(x, q)) for q in (0.01, 0.5, 0.99)} if len(x) else {}
    out["quantiles"] = quantiles
    return out


def compare_features(reference: Mapping[str, NDArray[np.int64]], current: Mapping[str, NDArray[np.int64]],
                     min_events: int = 1) -> dict[str, DriftResult]:
    """Drift of every feature present on both sides with at least `min_events` current values, worst PSI first."""
    out = {}
    for name in sorted(set(reference) & set(current)):
        ref, cur = reference[name], current[name]
        if ref.sum() > 0 and cur.sum() >= max(1, min_events):
            out[name] = compare_histograms(ref, cur)
    return dict(sorted(out.items(), key=lambda kv: -kv[1].psi))


def monitor_features(detector: Any, events: Any, scored: Any) -> dict[str, NDArray[np.float64]]:
    """The detector's monitoring features (at most MAX_FEATURES, as float arrays); {} when it has none."""
    method = getattr(detector, "monitor_features", None)
    found = method(events, scored) if method is not None else {}
    return {str(k): np.asarray(v, dtype=float) for k, v in list((found or {}).items())[:MAX_FEATURES]}
