"""Reasons in words for a scored process event: evidence first, then the model's top contributions."""

from __future__ import annotations

from typing import Any

import numpy as np

from nightjar.detectors.lotl.attack import CATEGORY_WORDS, ENCODED_TECHNIQUE
from nightjar.detectors.lotl.features import OFFICE

LOW = "no strong indicator"
PHRASES = {
    "carets": "caret obfuscation", "backticks": "backtick obfuscation", "concats": "string concatenation",
    "env_slices": "environment-variable slicing", "mixed_case": "mixed-case obfuscation",
    "b64_blob": "base64 blob in the command line", "hex_blob": "hex blob in the command line",
    "urls": "URL in the command line", "ips": "IP address in the command line", "unc": "UNC path in the command line",
    "exe_in_user_dir": "executable in a user folder", "exe_in_temp": "executable in a temp folder",
    "cmd_user_path": "user-writable path in the command line", "redirect": "output redirection", "pipe": "pipe in the command line",
    "cmd_len": "long command line", "cmd_entropy": "high-entropy command line", "nonalnum_share": "many punctuation characters",
    "upper_share": "unusual capitalisation", "n_args": "many arguments", "quotes": "many quotes", "lolbin": "documented LOLBin",
    "child_shell": "shell process", "parent_missing": "parent not in the log", "integrity": "integrity level",
    "system_user": "account type", "decoded_hits": "suspicious decoded content", "keywords": "blocklist keywords",
}
EVIDENCE_FEATURES = {"encoded", "lolbas_match", "ofn_mismatch", "unusual_path", "parent_office", "gparent_office",
                     "parent_shell", "keywords", "decoded_hits"} | {f"lolbas_{c.lower().replace(' ', '_')}" for c in CATEGORY_WORDS}


def evidence_phrases(name: str, parent: str, gparent: str, exe: str, ev: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(phrases, ATT&CK ids) from what the knowledge matched, strongest first."""
    m = ev["match"]
    out: list[str] = []
    ids: list[str] = []
    if ev["encoded"]:
        hits = ev["decoded_hits"]
        out.append("encoded PowerShell command" + (f" (decodes to {', '.join(hits[:4])})" if hits else ""))
        ids.append(ENCODED_TECHNIQUE)
    for p in m.patterns[:2]:
        out.append(f"{name} used to {CATEGORY_WORDS.get(p.category, p.category.lower())} (LOLBAS {' '.join(p.flags)}; {p.technique})")
    if ev["renamed"]:
        out.append(f"renamed binary: {ev['renamed']} runs as {name}")
        ids.append("T1036.003")
    if m.unusual_path:
        out.append(f"{name} runs from an unusual folder ({exe[: max(len(exe) - len(name), 0)]})")
        ids.append("T1036.005")
    if m.keywords:
        out.append("blocklist keywords: " + ", ".join(m.keywords[:4]))
    if parent in OFFICE:
        out.append(f"Office parent {parent} for {name}")
        ids.append("T1204.002")
    elif gparent in OFFICE:
        out.append(f"Office grandparent {gparent} ({gparent} > {parent or '?'} > {name})")
        ids.append("T1204.002")
    ids += m.techniques
    return out, list(dict.fromkeys(ids))


def phrase(feature: str, name: str, parent: str) -> str:
    """Words for one model feature."""
    if feature.startswith("tok:"):
        tok = feature[4:]
        if tok.startswith("proc="):
            return f"process {tok[5:]}"
        if tok.startswith("parent="):
            return f"parent {tok[7:] or '(none)'}"
        if tok.startswith("gparent="):
            return f"grandparent {tok[8:] or '(none)'}"
        if tok.startswith("pair="):
            return f"{parent or '(no parent)'} starting {name}"
        return f"command-line token '{tok}'"
    if feature == "parent_shell":
        return f"{parent} starting {name}"
    if feature == "lolbin":
        return f"documented LOLBin {name}"
    return PHRASES.get(feature, feature.replace("_", " "))


def model_phrases(contrib: np.ndarray, values: np.ndarray, names: list[str], name: str, parent: str, k: int = 3,
                  eps: np.ndarray | None = None) -> list[str] | None:
    """The `k` features that pushed this score up most (present features only), in words.

    With `eps` (contributions known to within `eps` per feature), None unless the words are certain:
    the features read are, beyond doubt, the largest, in this order and positive, and when the list
    stops at a non-positive value every other feature is beyond doubt not positive.
    """
    top = min(12, len(contrib))
    part = np.argpartition(-contrib, top - 1)[:top] if top else np.zeros(0, dtype=int)
    order = part[np.argsort(-contrib[part])]
    out: list[str] = []
    read = 0
    for j in order:
        if contrib[j] <= 0 or len(out) >= k:
            break
        read += 1
        feat = names[j]
        if feat in EVIDENCE_FEATURES or (feat.startswith("tok:") and values[j] == 0):
            continue
        words = phrase(feat, name, parent)
        if words not in out:
            out.append(words)
    if eps is not None and not _certain(contrib, eps, order[:read], read < top and len(out) < k):
        return None
    return out


def _certain(contrib: np.ndarray, eps: np.ndarray, read: np.ndarray, stopped_at_sign: bool) -> bool:
    """Whether every `contrib` within `eps` ranks `read` first, in this order, all positive (see model_phrases)."""
    low, high = contrib[read] - eps[read], contrib[read] + eps[read]
    if (low <= 0).any() or (low[:-1] <= high[1:]).any():
        return False
    rest = np.ones(len(contrib), dtype=bool)
    rest[read] = False
    rest_high = float((contrib + eps)[rest].max(initial=-np.inf))
    return (not len(read) or low[-1] > rest_high) and (not stopped_at_sign or rest_high <= 0)
