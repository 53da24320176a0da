"""The synthetic random-string positives: seeded, in range, never a benign label."""

from __future__ import annotations

import numpy as np

from nightjar.detectors.dga.synthetic import ALPHABETS, RECIPE, random_labels, synthetic_names


def test_random_labels_are_seeded_and_in_range() -> None:
    a = random_labels("hex", 500, 8, 32, seed=3)
    assert np.array_equal(a, random_labels("hex", 500, 8, 32, seed=3))
    assert not np.array_equal(a, random_labels("hex", 500, 8, 32, seed=4))
    assert all(8 <= len(x) <= 32 and set(x) <= set(ALPHABETS["hex"]) for x in a)


def test_synthetic_names_are_unique_and_skip_taken_labels() -> None:
    labels, families = synthetic_names(set())
    assert len(labels) == len(set(labels)) and len(labels) <= sum(r[1] for r in RECIPE)
    assert set(families) == {f"synthetic_{r[0]}" for r in RECIPE}
    taken = set(labels[:100])
    again, _ = synthetic_names(taken)
    assert not taken & set(again)
