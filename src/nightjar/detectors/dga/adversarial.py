"""Adversarial variants of DGA names, made here (seeded): what an attacker who knows the model would try.

- `swap_chars`: swap two neighbouring characters of the label (typo-like edits of a DGA name);
- `append_word`: append a dictionary word to the label (`xjwkq` -> `xjwkqshop`), diluting randomness;
- `bigram_dga`: a char-level DGA that samples labels from the benign bigram statistics (a Markov
  chain fitted on benign training labels), so its names are pronounceable by construction.
"""

from __future__ import annotations

import numpy as np

from nightjar.detectors.dga.features import ALPHABET


def swap_chars(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each label with two neighbouring characters swapped (labels shorter than 2 unchanged)."""
    rng = np.random.default_rng(seed)
    out = []
    for lab in labels:
        if len(lab) < 2:
            out.append(lab)
            continue
        i = int(rng.integers(0, len(lab) - 1))
        out.append(lab[:i] + lab[i + 1] + lab[i] + lab[i + 2 :])
    return np.asarray(out, dtype=object)


def append_word(labels: np.ndarray, words: list[str], seed: int = 0) -> np.ndarray:
    """Each label with a random dictionary word (4-8 letters) appended."""
    rng = np.random.default_rng(seed)
    pool = [w for w in words if 4 <= len(w) <= 8 and w.isalpha()]
    picks = rng.integers(0, len(pool), len(labels))
    return np.asarray([f"{lab}{pool[k]}"[:63] for lab, k in zip(labels, picks)], dtype=object)


def bigram_dga(benign_labels: np.ndarray, n: int = 2000, lengths: tuple[int, int] = (8, 16), seed: int = 0) -> np.ndarray:
    """`n` labels sampled from a character bigram chain fitted on benign labels (letters only)."""
    rng = np.random.default_rng(seed)
    letters = ALPHABET[:26]
    index = {ch: i + 1 for i, ch in enumerate(letters)}  # 0 = start
    counts = np.ones((27, 27))
    for lab in benign_labels:
        prev = 0
        for ch in lab:
            cur = index.get(ch)
            if cur is None:
                prev = 0
                continue
            counts[prev, cur] += 1
            prev = cur
    counts[:, 0] = 0
    probs = counts / counts.sum(axis=1, keepdims=True)
    out = []
    for _ in range(n):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        prev, chars = 0, []
        for _ in range(length):
            prev = int(rng.choice(27, p=probs[prev]))
            chars.append(letters[prev - 1])
        out.append("".join(chars))
    return np.asarray(out, dtype=object)
