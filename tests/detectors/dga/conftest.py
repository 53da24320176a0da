"""Fixtures: a small detector fitted on synthetic names (fast), and the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.dga import DgaDetector

SHIPPED = Path(__file__).resolve().parents[3] / "src" / "nightjar" / "models" / "dga"
WORDS = ("shop", "news", "best", "cloud", "home", "travel", "music", "game", "photo", "mail", "green", "city", "bank",
         "market", "blue", "star", "food", "tech", "learn", "world", "data", "smart", "life", "sport", "open")


def synthetic(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Benign = one or two common words + TLD; DGA = random letters and digits."""
    rng = np.random.default_rng(seed)
    benign = ["".join(rng.choice(WORDS, rng.integers(1, 3))) + rng.choice([".com", ".net", ".org"]) for _ in range(n)]
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    dga = ["".join(rng.choice(letters, rng.integers(10, 20))) + rng.choice([".com", ".biz", ".ru"]) for _ in range(n)]
    events = pd.DataFrame({"domain": benign + dga})
    return events, np.r_[np.zeros(n, bool), np.ones(n, bool)]


@pytest.fixture(scope="session")
def small_detector() -> DgaDetector:
    events, labels = synthetic()
    return DgaDetector(n_trees=80, buckets=1 << 12, target_fpr=0.01, min_data_in_leaf=20).fit(events, labels)


@pytest.fixture(scope="session")
def shipped() -> DgaDetector:
    return DgaDetector.load(SHIPPED)
