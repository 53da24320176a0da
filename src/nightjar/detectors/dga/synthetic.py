"""Synthetic random-string DGA names, added to training as extra positive "families" (seeded).

Most DGAs draw their labels from a uniform random source: random letters (conficker, virut, tinba,
cryptolocker, necurs, qakbot, ...), random letters and digits (ud7, the Zeus family) or hex digits
(monerominer, many hash-based DGAs). The labelled families cover only some lengths and alphabets, so
a family never seen (a length or alphabet no training family uses) falls between them. Three generic
generators fill the gaps; none of them copies a family's pattern:

- `letters`: uniform a-z, length uniform in 4..24;
- `alnum`: uniform a-z0-9, length uniform in 6..28;
- `hex`: uniform 0-9a-f, length uniform in 8..32.

Generated names that are benign training labels are dropped (short random strings can be real names).
"""

from __future__ import annotations

import zlib

import numpy as np

ALPHABETS = {"letters": "abcdefghijklmnopqrstuvwxyz", "alnum": "abcdefghijklmnopqrstuvwxyz0123456789", "hex": "0123456789abcdef"}
# (generator, names, shortest, longest): the recipe's mix (docs/dga.md, "Synthetic random-string positives")
RECIPE: tuple[tuple[str, int, int, int], ...] = (("letters", 12_000, 4, 24), ("alnum", 4_000, 6, 28), ("hex", 3_000, 8, 32))


def random_labels(kind: str, n: int, shortest: int, longest: int, seed: int = 0) -> np.ndarray:
    """`n` labels of uniform random characters from alphabet `kind`, lengths uniform in shortest..longest."""
    rng = np.random.default_rng(seed + zlib.crc32(kind.encode()))
    alphabet = np.frombuffer(ALPHABETS[kind].encode(), dtype=np.uint8)
    lengths = rng.integers(shortest, longest + 1, n)
    chars = alphabet[rng.integers(0, len(alphabet), int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths)
    return np.asarray([chars[e - k : e] for e, k in zip(ends, lengths)], dtype=object)


def synthetic_names(benign: set[str], recipe: tuple[tuple[str, int, int, int], ...] = RECIPE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels, family) of the recipe's generators, unique, minus labels in `benign`; family = `synthetic_<kind>`."""
    labels, families, seen = [], [], set(benign)
    for kind, n, shortest, longest in recipe:
        for lab in random_labels(kind, n, shortest, longest, seed):
            if lab not in seen:
                seen.add(lab)
                labels.append(lab)
                families.append(f"synthetic_{kind}")
    return np.asarray(labels, dtype=object), np.asarray(families, dtype=object)
