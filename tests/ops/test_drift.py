"""Drift statistics on seeded streams with known shifts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nightjar.ops import drift
from nightjar.ops.settings import BY_NAME

PSI_MAX = BY_NAME["monitor.psi_max"].default
KS_MAX = BY_NAME["monitor.ks_max"].default


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("seed", range(5))
def test_half_sd_mean_shift_trips_psi_no_shift_does_not(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, same, shifted = rng.normal(size=5000), rng.normal(size=5000), rng.normal(0.5, 1.0, size=5000)
    assert drift.compare_samples(ref, shifted).psi > PSI_MAX
    assert drift.compare_samples(ref, same).psi < PSI_MAX / 2


@pytest.mark.parametrize("seed", range(5))
def test_shift_on_the_score_grid_trips_psi_and_ks(seed: int) -> None:
    """Model scores: logits N(-3, 1) in the reference; the current window is shifted by 0.5 sd or not."""
    rng = np.random.default_rng(100 + seed)
    ref = drift.score_histogram(sigmoid(rng.normal(-3, 1, 5000)))
    same = drift.score_histogram(sigmoid(rng.normal(-3, 1, 5000)))
    shifted = drift.score_histogram(sigmoid(rng.normal(-2.5, 1, 5000)))
    moved, calm = drift.compare_histograms(ref, shifted), drift.compare_histograms(ref, same)
    assert moved.psi > PSI_MAX and moved.ks > KS_MAX
    assert calm.psi < PSI_MAX / 2 and calm.ks < KS_MAX / 2
    assert (moved.n_reference, moved.n_current, moved.bins) == (5000, 5000, 10)


def test_histogram_and_sample_statistics_agree() -> None:
    rng = np.random.default_rng(7)
    a, b = sigmoid(rng.normal(-2, 1.5, 4000)), sigmoid(rng.normal(-1.6, 1.5, 3000))
    on_grid = drift.compare_histograms(drift.score_histogram(a), drift.score_histogram(b))
    exact = drift.compare_samples(a, b)
    assert on_grid.ks <= exact.ks + 1e-12 and exact.ks - on_grid.ks < 0.02  # a lower bound, within one grid bin
    assert abs(on_grid.psi - exact.psi) < 0.03 and abs(on_grid.js - exact.js) < 0.03


@pytest.mark.parametrize(("name", "p", "q", "psi", "js", "ks"), [
    ("identical", [10, 20, 30], [10, 20, 30], 0.0, 0.0, 0.0),
    ("scaled copy", [1, 2, 3], [100, 200, 300], 0.0, 0.0, 0.0),
    ("disjoint", [10, 0], [0, 10], None, 1.0, 1.0),
    ("half moved", [10, 10], [0, 20], None, None, 0.5),
])
def test_known_values(name: str, p: list[int], q: list[int], psi: float | None, js: float | None, ks: float) -> None:
    if psi is not None:
        assert drift.psi(p, q, smoothing=0.0) == pytest.approx(psi, abs=1e-12)
    if js is not None:
        assert drift.js_distance(p, q) == pytest.approx(js, abs=1e-12)
    assert drift.ks_from_counts(p, q) == pytest.approx(ks)


def test_smoothing_keeps_psi_finite_on_empty_bins() -> None:
    value = drift.psi([100, 0, 0], [0, 0, 100])
    assert math.isfinite(value) and value > 5
    assert drift.psi([100, 0], [0, 100], smoothing=0.5) > drift.psi([100, 0], [0, 100], smoothing=5)


def test_ks_on_samples_matches_scipy() -> None:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=700), rng.normal(0.2, 1.1, size=900)
    assert drift.ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)


def test_a_spike_in_the_reference_forms_one_quantile_bin() -> None:
    counts = np.zeros(len(drift.SCORE_EDGES) - 1, dtype=int)
    counts[0], counts[100:110] = 9000, 100
    groups = drift.quantile_groups(counts)
    assert len(set(groups[:1])) == 1 and groups[0] != groups[105]
    assert groups.max() + 1 <= 10


def test_score_histogram_covers_zero_one_and_drops_nan() -> None:
    h = drift.score_histogram([0.0, 1.0, 0.5, float("nan"), 1e-9, 1 - 1e-9])
    assert h.sum() == 5 and h[0] == 2 and h[-1] == 2 and len(h) == drift.GRID_BINS + 2


def test_reference_round_trip() -> None:
    scores = sigmoid(np.random.default_rng(1).normal(-3, 1, 1000))
    ref = drift.reference_from_scores(scores, source="validation split")
    assert ref["n"] == 1000 and ref["quantiles"]["0.5"] == pytest.approx(np.median(scores))
    counts = drift.reference_counts(ref)
    assert counts is not None and counts.sum() == 1000
    assert drift.reference_counts({**ref, "grid": "linear10"}) is None
