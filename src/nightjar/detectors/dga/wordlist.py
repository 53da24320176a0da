"""A compact word list learned from benign domain names only (no external dictionary).

Three honest sources, all from the benign training labels: (1) tokens between hyphens and digits
(`best-buy-shop` gives best, buy, shop) seen at least twice; (2) short whole labels (3-8 letters) seen
at least twice across lists and TLDs; (3) two rounds of peeling: when a label starts or ends with a
known word of 4+ letters, the alphabetic remainder (3-10 letters) becomes a candidate, kept when at
least three different labels produce it. The result holds common English words and brand names; it is
saved with the model as `words.txt`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_SPLIT = re.compile(r"[^a-z]+")
_ALPHA = re.compile(r"^[a-z]+$")


def build_words(labels: Iterable[str], min_token: int = 2, min_peel: int = 3, rounds: int = 2) -> list[str]:
    """The sorted word list learned from benign `labels`."""
    labels = [lab for lab in labels if lab]
    tokens: Counter[str] = Counter()
    whole: Counter[str] = Counter()
    for lab in labels:
        parts = [p for p in _SPLIT.split(lab) if p]
        if len(parts) > 1:
            tokens.update(p for p in parts if 3 <= len(p) <= 12)
        elif parts and parts[0] == lab and 3 <= len(lab) <= 8:
            whole[lab] += 1
    words = {w for w, c in tokens.items() if c >= min_token} | {w for w, c in whole.items() if c >= min_token}
    alpha = sorted({lab for lab in labels if _ALPHA.match(lab) and 7 <= len(lab) <= 24})
    for _ in range(rounds):
        found: Counter[str] = Counter()
        for lab in alpha:
            for k in range(4, min(13, len(lab) - 2)):
                head, tail = lab[:k], lab[k:]
                if head in words and 3 <= len(tail) <= 10:
                    found[tail] += 1
                tail2, head2 = lab[-k:], lab[:-k]
                if tail2 in words and 3 <= len(head2) <= 10:
                    found[head2] += 1
        new = {w for w, c in found.items() if c >= min_peel and len(w) <= 12}
        if new <= words:
            break
        words |= new
    return sorted(words)
