"""Reasons in words for DGA scores, built from the features (only for rows worth explaining)."""

from __future__ import annotations

import numpy as np

LOW = "normal-looking name"


def explain(i: int, label: str, score: float, threshold: float, feats: dict[str, np.ndarray]) -> str:
    """A short explanation of row `i`'s score (the strongest signs first, at most four)."""
    f = {name: float(v[i]) for name, v in feats.items()}
    n = int(f["length"])
    shown = label if len(label) <= 24 else label[:21] + "..."
    out: list[str] = []
    if f["words"] >= 2 and f["word_cover"] >= 0.85:
        out.append(f"{int(f['words'])} concatenated dictionary words in '{shown}' (matsnu/suppobox-like)")
    if f["entropy"] >= 3.0 and n >= 8:
        out.append(f"high character entropy {f['entropy']:.1f} in '{shown}'")
    if f["trigram_mean_logp"] <= -6.0 or f["trigram_unseen_share"] >= 0.2:
        out.append("rare character sequences for benign names")
    if f["word_cover"] < 0.4 and n >= 6:
        out.append("no dictionary words" if f["words"] == 0 else f"few dictionary words ({f['word_cover']:.0%} of characters)")
    if f["digit_share"] >= 0.25:
        out.append(f"{f['digit_share']:.0%} digits")
    if f["all_hex"]:
        out.append("hexadecimal-looking label")
    if f["max_consonant_run"] >= 5:
        out.append(f"{int(f['max_consonant_run'])} consonants in a row")
    if n >= 20 and not out:
        out.append(f"long label ({n} characters)")
    head = f"DGA-like name (score {score:.2f} >= threshold {threshold:.2f})" if score >= threshold else f"somewhat DGA-like (score {score:.2f})"
    return "; ".join([head, *out[:4]])
