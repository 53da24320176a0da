"""Drift of a score (or feature) distribution against a reference: PSI, KS and Jensen-Shannon distance.

Pure functions, on raw samples or on histograms. Scores live in 0..1 and pile up near 0 and 1, so
histograms use one fixed grid, `SCORE_EDGES`: 200 bins equally spaced in logit(score) over
[-12, 12] plus the two end bins. Histograms on one grid add up across runs, which is what the alert
store keeps per scan (see `nightjar.ops.monitor`).

- PSI = sum (a - e) * ln(a / e) over the reference's quantile bins (deciles by default, merged where
  the reference has ties), with additive smoothing (`smoothing` pseudo-counts per bin) so an empty
  bin does not give infinity.
- KS = the largest gap between the two cumulative distributions (exact on samples; on histograms,
  read at the grid edges: a lower bound of the exact value, within one grid bin).
- JS = Jensen-Shannon distance, base 2 (0 = same, 1 = disjoint), on the same quantile bins as PSI.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref, same, shifted = rng.normal(size=5000), rng.normal(size=5000), rng.normal(0.5, 1, size=5000)
    >>> compare_samples(ref, same).psi < 0.1 < 0.2 < compare_samples(ref, shifted).psi
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

GRID_BINS, GRID_LOGIT = 200, 12.0
SMOOTHING = 0.5
DECILES = 10


def _grid() -> NDArray[np.float64]:
    inner = 1.0 / (1.0 + np.exp(-np.linspace(-GRID_LOGIT, GRID_LOGIT, GRID_BINS + 1)))
    return np.concatenate([[0.0], inner, [1.0]])


#: the fixed score grid: GRID_BINS + 2 bins covering 0..1 (the end bins catch near-0 and near-1 scores)
SCORE_EDGES: NDArray[np.float64] = _grid()


@dataclass(frozen=True)
class DriftResult:
    """PSI, KS and JS distance with the sample sizes and the number of bins they were read on."""

    psi: float
    ks: float
    js: float
    n_reference: int
    n_current: int
    bins: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def score_histogram(scores: ArrayLike) -> NDArray[np.int64]:
    """Counts of `scores` on `SCORE_EDGES` (NaN dropped, values clipped to 0..1)."""
    values = np.asarray(scores, dtype=float)
    values = np.clip(values[np.isfinite(values)], 0.0, 1.0)
    index = np.clip(np.searchsorted(SCORE_EDGES, values, side="right") - 1, 0, len(SCORE_EDGES) - 2)
    return np.bincount(index, minlength=len(SCORE_EDGES) - 1).astype(np.int64)


def quantile_groups(reference_counts: ArrayLike, bins: int = DECILES) -> NDArray[np.int64]:
    """For each fine bin, the index of the reference-quantile bin it falls in (ties merge bins).

    A fine bin goes to group floor(bins * cumulative share before it), so each group holds about
    1/bins of the reference; a single fine bin holding more than that forms one group on its own.
    """
    counts = np.asarray(reference_counts, dtype=float)
    total = counts.sum()
    if total <= 0:
        return np.zeros(len(counts), dtype=np.int64)
    before = (np.cumsum(counts) - counts) / total
    raw = np.minimum(np.floor(before * bins + 1e-9), bins - 1).astype(np.int64)
    return np.unique(raw, return_inverse=True)[1].astype(np.int64)


def _smoothed(counts: NDArray[np.float64], smoothing: float) -> NDArray[np.float64]:
    return (counts + smoothing) / (counts.sum() + smoothing * len(counts))


def psi(expected_counts: ArrayLike, actual_counts: ArrayLike, smoothing: float = SMOOTHING) -> float:
    """Population stability index of two count vectors on the same bins, with additive smoothing."""
    e = _smoothed(np.asarray(expected_counts, dtype=float), smoothing)
    a = _smoothed(np.asarray(actual_counts, dtype=float), smoothing)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(p_counts: ArrayLike, q_counts: ArrayLike) -> float:
    """Jensen-Shannon distance (base 2, in 0..1) of two count vectors on the same bins."""
    p, q = np.asarray(p_counts, dtype=float), np.asarray(q_counts, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(x: NDArray[np.float64]) -> float:
        keep = x > 0
        return float(np.sum(x[keep] * np.log2(x[keep] / m[keep])))

    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))


def ks_statistic(reference: ArrayLike, current: ArrayLike) -> float:
    """The two-sample Kolmogorov-Smirnov statistic of raw samples (NaN dropped)."""
    a, b = (np.sort(np.asarray(x, dtype=float)) for x in (reference, current))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return 0.0
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_from_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """KS statistic read at the bin edges of two histograms on the same bins."""
    r, c = np.asarray(reference_counts, dtype=float), np.asarray(current_counts, dtype=float)
    if r.sum() <= 0 or c.sum() <= 0:
        return 0.0
    return float(np.max(np.abs(np.cumsum(r) / r.sum() - np.cumsum(c) / c.sum())))


def compare_histograms(reference_counts: ArrayLike, current_counts: ArrayLike, bins: int = DECILES,
                       smoothing: float = SMOOTHING) -> DriftResult:
    """PSI and JS on the reference's quantile bins, KS on the fine bins; both histograms on one grid."""
    ref, cur = np.asarray(reference_counts, dtype=float), np.asarray(current_counts, dtype=float)
    if ref.shape != cur.shape:
        raise ValueError(f"histograms must share bins: {ref.shape} vs {cur.shape}")
    groups = quantile_groups(ref, bins)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    ref_g = np.bincount(groups, weights=ref, minlength=n_groups)
    cur_g = np.bincount(groups, weights=cur, minlength=n_groups)
    return DriftResult(psi=psi(ref_g, cur_g, smoothing), ks=ks_from_counts(ref, cur), js=js_distance(ref_g, cur_g),
                       n_reference=int(ref.sum()), n_current=int(cur.sum()), bins=n_groups)


def compare_samples(reference: ArrayLike, current: ArrayLike, bins: int = DECILES, smoothing: float = SMOOTHING) -> DriftResult:
    """PSI and JS on the reference's quantile bins (from the sample), exact KS; any real-valued data."""
    a, b = (np.asarray(x, dtype=float) for x in (reference, current))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1])) if len(a) else np.array([])
    ref_c = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1)
    cur_c = np.bincount(np.searchsorted(edges, b, side="right"), minlength=len(edges) + 1)
    return DriftResult(psi=psi(ref_c, cur_c, smoothing), ks=ks_statistic(a, b), js=js_distance(ref_c, cur_c),
                       n_reference=len(a), n_current=len(b), bins=len(edges) + 1)


def reference_from_scores(scores: ArrayLike, source: str = "") -> dict[str, Any]:
    """A score reference to store with a model: the grid histogram, quantiles and the sample size.

    Put it in the manifest's `metrics["score_reference"]` or in `reference.json` in the model folder.
    """
    values = np.asarray(scores, dtype=float)
    values = values[np.isfinite(values)]
    qs = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    quantiles = {str(q): float(np.quantile(values, q)) for q in qs} if len(values) else {}
    return {"grid": f"logit{GRID_BINS}", "counts": score_histogram(values).tolist(), "n": int(len(values)),
            "quantiles": quantiles, "source": source}


def reference_counts(reference: dict[str, Any]) -> NDArray[np.int64] | None:
    """The grid histogram of a stored reference, or None when it is on another grid or malformed."""
    counts = reference.get("counts") if isinstance(reference, dict) else None
    if reference.get("grid") != f"logit{GRID_BINS}" or not isinstance(counts, list) or len(counts) != len(SCORE_EDGES) - 1:
        return None
    return np.asarray(counts, dtype=np.int64)
