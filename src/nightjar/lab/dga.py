"""Three domain-generation algorithms, written here, in the styles seen in real malware families.

- `hex`: an MD5 of a family seed, the date and a counter, cut to 16-24 hex characters
  (Bamital/Murofet-style), under .info, .org or .biz.
- `cv`: alternating consonants and vowels, 8-13 letters (Pushdo/Necurs-style pronounceable noise),
  under .com, .net, .biz or .ru.
- `words`: two dictionary words glued together (Suppobox/Matsnu-style), under .net or .com: the hard
  case for a character model.

Each day gives a fresh list (the date is part of the seed); the operator registers one name of the
list, and the bot looks the names up in order until one answers.

Example:
    >>> generate("hex", "2026-03-02", 3, seed=7)[:1] == generate("hex", "2026-03-02", 3, seed=7)[:1]
    True
"""

from __future__ import annotations

import hashlib

FAMILIES = ("hex", "cv", "words")
_CONSONANTS = "bcdfghjklmnprstvwxz"
_VOWELS = "aeiou"
WORDS = (
    "answer", "refuse", "fifteen", "market", "yellow", "garden", "strong", "window", "travel", "silver", "country",
    "people", "moment", "figure", "double", "winter", "summer", "forest", "rather", "follow", "season", "bottom",
    "thought", "between", "morning", "public", "little", "bright", "simple", "around", "common", "heavy", "river",
    "number", "office", "letter", "family", "father", "mother", "nature", "ground", "square", "energy", "record",
    "enough", "before", "during", "should", "friend", "animal", "minute", "spring", "behind", "person", "within",
    "agree", "paper", "music", "power", "story", "table", "watch", "world", "train", "plain", "stone", "light",
    "quiet", "bread", "chair", "dream", "early", "eight", "fresh", "glass", "heart", "house", "human", "money",
)
_TLDS = {"hex": (".info", ".org", ".biz"), "cv": (".com", ".net", ".biz", ".ru"), "words": (".net", ".com")}


def _stream(family: str, day: str, seed: int):
    counter = 0
    while True:
        yield hashlib.md5(f"{family}:{seed}:{day}:{counter}".encode()).digest()
        counter += 1


def generate(family: str, day: str, n: int, seed: int = 0) -> list[str]:
    """The first `n` names of `family` for `day` (YYYY-MM-DD) and `seed`."""
    if family not in FAMILIES:
        raise ValueError(f"unknown DGA family {family!r}; known: {', '.join(FAMILIES)}")
    out: list[str] = []
    for digest in _stream(family, day, seed):
        if len(out) == n:
            break
        tld = _TLDS[family][digest[15] % len(_TLDS[family])]
        if family == "hex":
            label = digest.hex()[: 16 + digest[0] % 9]
        elif family == "cv":
            length = 8 + digest[0] % 6
            label = "".join((_CONSONANTS if i % 2 == 0 else _VOWELS)[digest[1 + i % 14] % (19 if i % 2 == 0 else 5)]
                            for i in range(length))
        else:
            label = WORDS[digest[0] % len(WORDS)] + WORDS[digest[1] % len(WORDS)]
        name = label + tld
        if name not in out:
            out.append(name)
    return out
