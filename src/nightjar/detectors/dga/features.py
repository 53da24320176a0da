"""Features of the scored label: pure, vectorised functions of arrays (no I/O, no state).

Labels are encoded once into a flat code array (a-z = 1..26, 0-9 = 27..36, '-' = 37, '_' = 38,
0 = separator), and every feature is a numpy expression over it: character statistics, character
n-gram ids (for the linear model and the benign 3-gram model) and a dictionary segmentation done by
dynamic programming over all labels at once. Substrings up to 12 characters are encoded exactly as
base-40 integers, so dictionary look-ups are exact (no hash collisions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_"
BASE = 40  # codes 0..38 plus 39 = label boundary in n-grams
BOUNDARY = 39
MIN_WORD, MAX_WORD = 3, 12
_LUT = np.zeros(256, dtype=np.uint8)
for _i, _ch in enumerate(ALPHABET):
    _LUT[ord(_ch)] = _i + 1
_VOWEL = np.zeros(BASE, dtype=bool)
_VOWEL[[ALPHABET.index(v) + 1 for v in "aeiou"]] = True
_LETTER = np.zeros(BASE, dtype=bool)
_LETTER[1:27] = True
_DIGIT = np.zeros(BASE, dtype=bool)
_DIGIT[27:37] = True
_HEX = np.zeros(BASE, dtype=bool)
_HEX[[ALPHABET.index(h) + 1 for h in "abcdef0123456789"]] = True
_CONSONANT = _LETTER & ~_VOWEL


@dataclass
class Encoded:
    """Labels as one flat code array: label i is codes[starts[i] : starts[i] + lengths[i]]."""

    codes: np.ndarray  # uint8, a 0 after every label, MAX_WORD zeros of padding at the end
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def row(self) -> np.ndarray:
        """The label index of every character position (separators excluded)."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)


def encode(labels: np.ndarray | list[str]) -> Encoded:
    """Encode ASCII labels (characters outside the alphabet become the '_' code)."""
    labels = [s for s in labels]
    joined = ("\0".join(labels) + "\0").encode("ascii", errors="replace")
    raw = np.frombuffer(joined, dtype=np.uint8)
    codes = _LUT[raw]
    codes[(codes == 0) & (raw != 0)] = 38
    lengths = np.fromiter((len(s) for s in labels), dtype=np.int64, count=len(labels))
    starts = np.zeros(len(labels), dtype=np.int64)
    if len(labels) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + 1)
    return Encoded(np.concatenate([codes, np.zeros(MAX_WORD + 4, np.uint8)]), starts, lengths)


def _per_label_sum(enc: Encoded, flags: np.ndarray) -> np.ndarray:
    """Sum of a per-code boolean over each label."""
    csum = np.concatenate([[0], np.cumsum(flags[enc.codes], dtype=np.int64)])
    return csum[enc.starts + enc.lengths] - csum[enc.starts]


def _longest_run(enc: Encoded, flags: np.ndarray) -> np.ndarray:
    """Longest run of consecutive characters with `flags` in each label."""
    f = flags[enc.codes].astype(np.int64)
    idx = np.arange(len(f))
    breaks = np.where(f == 0, idx, -1)
    last_break = np.maximum.accumulate(breaks)
    run = np.where(f == 1, idx - last_break, 0)
    if not len(enc.lengths):
        return np.zeros(0, dtype=np.int64)
    return np.maximum.reduceat(run, enc.starts)  # a label's segment ends with its separator (run 0)


def _positions(enc: Encoded) -> np.ndarray:
    """Flat indices of every character (separators excluded), in label order."""
    total = int(enc.lengths.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(enc.lengths) - enc.lengths, enc.lengths)
    return np.repeat(enc.starts, enc.lengths) + offsets


def char_stats(enc: Encoded) -> dict[str, np.ndarray]:
    """Length, shares, longest runs, entropy, distinct characters, hex-likeness, digit/letter switches."""
    n = enc.lengths.astype(np.float64)
    safe = np.maximum(n, 1)
    digits = _per_label_sum(enc, _DIGIT)
    vowels = _per_label_sum(enc, _VOWEL)
    cons = _per_label_sum(enc, _CONSONANT)
    hexes = _per_label_sum(enc, _HEX)
    pos = _positions(enc)
    row = enc.row
    counts = np.bincount(row * BASE + enc.codes[pos], minlength=len(n) * BASE).reshape(len(n), BASE).astype(np.float64)
    p = counts / safe[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    distinct = (counts > 0).sum(axis=1)
    c = enc.codes
    is_digit = _DIGIT[c]
    switch = np.zeros(len(c), dtype=bool)
    switch[1:] = (is_digit[1:] != is_digit[:-1]) & (c[1:] != 0) & (c[:-1] != 0)
    switches = np.concatenate([[0], np.cumsum(switch)])
    sw = switches[enc.starts + enc.lengths] - switches[np.minimum(enc.starts + 1, len(c))]
    return {
        "length": n,
        "digit_share": digits / safe,
        "vowel_share": vowels / safe,
        "consonant_share": cons / safe,
        "hyphens": _per_label_sum(enc, np.eye(BASE, dtype=bool)[37]).astype(np.float64),
        "max_consonant_run": _longest_run(enc, _CONSONANT).astype(np.float64),
        "max_vowel_run": _longest_run(enc, _VOWEL).astype(np.float64),
        "max_digit_run": _longest_run(enc, _DIGIT).astype(np.float64),
        "entropy": entropy,
        "distinct_share": distinct / safe,
        "hex_share": hexes / safe,
        "all_hex": ((hexes == n) & (n >= 8) & (digits > 0)).astype(np.float64),
        "digit_letter_switches": np.maximum(sw, 0).astype(np.float64),
        "first_is_digit": _DIGIT[c[enc.starts]].astype(np.float64),
    }


def bounded(enc: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """('^label$' codes with a 0 after each label, the label index of every position); cached on `enc`."""
    cached = getattr(enc, "_bounded", None)
    if cached is not None:
        return cached
    m = len(enc.lengths)
    bstart = enc.starts + 2 * np.arange(m)
    b = np.zeros(int(enc.lengths.sum()) + 3 * m + MAX_WORD, dtype=np.int64)
    b[bstart] = BOUNDARY
    b[bstart + enc.lengths + 1] = BOUNDARY
    pos = _positions(enc)
    b[pos + 1 + 2 * enc.row] = enc.codes[pos]
    rows = np.repeat(np.arange(m), enc.lengths + 3)
    enc._bounded = (b, rows)  # type: ignore[attr-defined]
    return b, rows


def ngram_ids(enc: Encoded, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, id) of every character n-gram of '^label$' (the boundary counts as a character), label by label."""
    b, rows = bounded(enc)
    total = len(rows)
    ids = np.zeros(total, dtype=np.int64)
    ok = np.ones(total, dtype=bool)
    for j in range(n):
        ch = b[j : j + total]
        ok &= ch != 0
        ids = ids * BASE + ch
    keep = np.flatnonzero(ok)
    return rows[keep], ids[keep]


def trigram_stats(enc: Encoded, logp: np.ndarray, seen: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and min log-probability of the label's 3-grams under a benign model, and unseen share."""
    row, ids = ngram_ids(enc, 3)
    lp = logp[ids]
    m = len(enc.lengths)
    count = np.maximum(np.bincount(row, minlength=m), 1)
    mean = np.bincount(row, weights=lp, minlength=m) / count
    low = np.zeros(m)
    per = np.bincount(row, minlength=m)
    nz = per > 0
    if nz.any():
        low[nz] = np.minimum.reduceat(lp, (np.cumsum(per) - per)[nz])
    unseen = np.bincount(row, weights=(~seen[ids]).astype(np.float64), minlength=m) / count
    return {"trigram_mean_logp": mean, "trigram_min_logp": low, "trigram_unseen_share": unseen}


def word_keys(words: list[str]) -> np.ndarray:
    """Sorted exact base-40 keys of dictionary words (lengths MIN_WORD..MAX_WORD, alphabet only)."""
    keep = [w for w in words if MIN_WORD <= len(w) <= MAX_WORD and all(ch in ALPHABET for ch in w)]
    keys = np.zeros(len(keep), dtype=np.uint64)
    for j in range(MAX_WORD):
        ch = np.array([_LUT[ord(w[j])] if j < len(w) else 0 for w in keep], dtype=np.uint64)
        keys = np.where(np.array([j < len(w) for w in keep]), keys * np.uint64(BASE) + ch, keys)
    return np.unique(keys)


_BLOOM_BITS = 1 << 24


def word_filter(keys: np.ndarray) -> np.ndarray:
    """A bitmap over mixed key bits: a cheap first test before the exact sorted look-up."""
    bitmap = np.zeros(_BLOOM_BITS, dtype=bool)
    bitmap[_bloom_slot(keys)] = True
    return bitmap


def _bloom_slot(h: np.ndarray) -> np.ndarray:
    return ((h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)).astype(np.int64)


def word_stats(enc: Encoded, keys: np.ndarray, bitmap: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Dictionary segmentation: covered share, number of words, longest word, words per character.

    Segmentation maximises the characters covered by words of MIN_WORD..MAX_WORD letters, then
    prefers fewer words; it runs as one dynamic programme over all labels, longest labels first so
    that the labels still running at step j are a prefix of the batch.
    """
    if bitmap is None:
        bitmap = word_filter(keys)
    c = enc.codes.astype(np.uint64)
    total = len(c) - MAX_WORD - 4
    h = np.zeros(total, dtype=np.uint64)
    alive = np.ones(total, dtype=bool)
    match: dict[int, np.ndarray] = {}
    for k in range(1, MAX_WORD + 1):
        nxt = c[k - 1 : k - 1 + total]
        alive &= nxt != 0
        h = h * np.uint64(BASE) + nxt
        if k >= MIN_WORD:
            cand = np.flatnonzero(alive)
            cand = cand[bitmap[_bloom_slot(h[cand])]]
            hit = np.zeros(total + 1, dtype=bool)
            if len(cand) and len(keys):
                pos = np.minimum(np.searchsorted(keys, h[cand]), len(keys) - 1)
                hit[cand[keys[pos] == h[cand]]] = True
            match[k] = hit
    m = len(enc.lengths)
    longest = np.zeros(m)
    pos_all, row = _positions(enc), enc.row
    for k, hit in match.items():
        has = np.zeros(m, dtype=bool)
        has[row[hit[pos_all]]] = True
        longest = np.where(has, k, longest)
    order = np.argsort(-enc.lengths, kind="stable")
    lens, starts = enc.lengths[order], enc.starts[order]
    width = int(lens[0]) if m else 0
    running = np.searchsorted(-lens, -np.arange(width + 1), side="right")  # rows with length >= j
    val = np.zeros((m, width + 1), dtype=np.int64)  # 32 * covered - words, maximised
    for j in range(1, width + 1):
        r = running[j]
        best = val[:r, j - 1].copy()
        for k in range(MIN_WORD, min(MAX_WORD, j) + 1):
            ok = match[k][starts[:r] + j - k]
            if ok.any():
                best = np.where(ok, np.maximum(best, val[:r, j - k] + 32 * k - 1), best)
        val[:r, j] = best
    final = np.empty(m, dtype=np.int64)
    final[order] = val[np.arange(m), lens]
    covered = -((-final) // 32)
    words = covered * 32 - final
    n = np.maximum(enc.lengths, 1).astype(np.float64)
    return {
        "word_cover": covered / n,
        "words": words.astype(np.float64),
        "longest_word": longest,
        "words_per_char": words / n,
        "uncovered_chars": (enc.lengths - covered).astype(np.float64),
    }
