"""Features of Windows process-creation events: pure functions, no I/O.

`prepare` turns ECS columns into lower-case strings (names from the executable when missing, the
grandparent from the parent's own event when it is in the table). `command_features` computes the
numeric features of one command line (length, entropy, obfuscation markers, encoded PowerShell and
its decoded text, URLs, IPs, UNC paths, blocklist keywords, LOLBAS matches, path and original-name
mismatches); `tokens` gives the normalised tokens (user profiles, temp folders, GUIDs, hex strings,
numbers and IPs replaced) the linear model and the token features of the booster use.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from nightjar.detectors.lotl.attack import CATEGORIES, Knowledge

COLUMNS = {"name": "process.name", "exe": "process.executable", "cmd": "process.command_line",
           "parent": "process.parent.name", "parent_exe": "process.parent.executable",
           "parent_cmd": "process.parent.command_line", "ofn": "process.pe.original_file_name",
           "integrity": "winlog.event_data.IntegrityLevel", "user": "user.name", "host": "host.name",
           "id": "process.entity_id", "parent_id": "process.parent.entity_id"}
SHELLS = {"cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe", "mshta.exe", "bash.exe", "powershell_ise.exe"}
OFFICE = {"winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe", "mspub.exe", "onenote.exe", "visio.exe"}
INTEGRITY = {"low": 1, "appcontainer": 1, "untrusted": 0, "medium": 2, "mediumplus": 2, "high": 3, "system": 4}
SYSTEM_USERS = ("nt authority\\system", "nt authority\\local service", "nt authority\\network service")
DECODED_WORDS = ("iex", "invoke-expression", "downloadstring", "downloadfile", "net.webclient", "frombase64string",
                 "start-process", "hidden", "bypass", "-nop", "invoke-", "reflection", "virtualalloc", "http")

_ENC = re.compile(r"(?:^|\s)[-/]e(?:c|n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedcommand)?\s+['\"]?([a-z0-9+/=]{16,})", re.I)
_B64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]{32,}")
_URL = re.compile(r"\b(?:https?|ftp)://", re.I)
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_UNC = re.compile(r"\\\\[a-z0-9_.$-]+\\", re.I)
_DROP_ALNUM = str.maketrans("", "", "abcdefghijklmnopqrstuvwxyz0123456789")
_DROP_UPPER = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CASE = re.compile(r"[a-z][A-Z][a-z]")
_CONCAT = re.compile(r"['\"]\s*\+\s*['\"]")
_ENVSLICE = re.compile(r"%[a-z_]+:~", re.I)


def _byte_classes(**classes: str) -> bytes:
    """A `bytes.translate` table: each ASCII character of `classes[name]` becomes `name`, every other byte a space."""
    table = bytearray(b" " * 256)
    for name, chars in classes.items():
        for char in chars:
            table[ord(char)] = ord(name)
    return bytes(table)


_DIGITS, _LOWER, _UPPER = "0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX_CLASS = _byte_classes(x=_DIGITS + "abcdefABCDEF")  # _HEX's characters
_LOWER_HEX_CLASS = _byte_classes(x=_DIGITS + "abcdef")
_B64_CLASS = _byte_classes(x=_DIGITS + _LOWER + _UPPER + "+/")  # _B64's characters
_CASE_CLASS = _byte_classes(l=_LOWER, U=_UPPER)  # _CASE: a lower, an upper, a lower


def _classes(text: str, table: bytes) -> bytes:
    """`text` in UTF-8 through `table`: runs of ASCII classes read as in `text` (other characters' bytes are spaces)."""
    return text.encode("utf-8", "surrogatepass").translate(table)


def _has_run(text: str, table: bytes, n: int) -> bool:
    """Whether `text` holds `n` characters in a row of `table`'s class "x" (as a regex `[...]{n}` finds)."""
    return b"x" * n in _classes(text, table)


_NORMALISE = [  # (pattern, replacement, a test every text holding a match passes: the pattern is skipped otherwise)
    (re.compile(r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?"), " <guid> ", lambda t: t.count("-") >= 4),
    (re.compile(r"c:\\users\\[^\\\s\"']+\\appdata\\local\\temp\\"), r"<temp>\\", lambda t: "c:\\users\\" in t),
    (re.compile(r"c:\\windows\\temp\\"), r"<temp>\\", lambda t: "c:\\windows\\temp\\" in t),
    (re.compile(r"c:\\users\\[^\\\s\"']+\\"), r"<userprofile>\\", lambda t: "c:\\users\\" in t),
    (_IP, " <ip> ", lambda t: t.count(".") >= 3),
    (re.compile(r"\b[0-9a-f]{16,}\b"), " <hex> ", lambda t: _has_run(t, _LOWER_HEX_CLASS, 16)),
    (re.compile(r"\b\d+\b"), "<num>", lambda t: True),
]

_TOKEN = re.compile(r"[a-z0-9_<>$.\-]+")


def _basename(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1].lower()


def _column(events: pd.DataFrame, name: str) -> np.ndarray:
    if name not in events.columns:
        return np.full(len(events), "", dtype=object)
    values = events[name].astype("string").fillna("").to_numpy(dtype=object)
    return np.where(values == "-", "", values)


def prepare(events: pd.DataFrame, neutral_parents: tuple[str, ...] = ()) -> pd.DataFrame:
    """Lower-case strings per event: name, exe, cmd, parent, parent_exe, grandparent, ofn, integrity, user, host.

    Parents named in `neutral_parents` (a test harness) are blanked, as if the parent had exited.
    """
    out = pd.DataFrame({key: _column(events, col) for key, col in COLUMNS.items()})
    for key, path_key in (("name", "exe"), ("parent", "parent_exe")):
        missing = out[key] == ""
        out.loc[missing, key] = [_basename(p) for p in out.loc[missing, path_key]]
        out[key] = out[key].str.lower()
    parent_of = dict(zip(out["id"], out["parent"]))
    parent_of.pop("", None)
    out["grandparent"] = [parent_of.get(p, "") for p in out["parent_id"]]
    for key in ("parent", "grandparent"):
        out.loc[out[key].isin(neutral_parents), key] = ""
    out.loc[out["parent"] == "", "parent_exe"] = ""
    return out


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def decode_powershell(blob: str) -> str:
    """The text of a base64 `-EncodedCommand` argument (UTF-16LE, else UTF-8), or "" if it is not base64."""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
    except (binascii.Error, ValueError):
        return ""
    text = raw.decode("utf-16-le", errors="ignore") if len(raw) > 1 and raw[1:2] == b"\0" else raw.decode("utf-8", errors="ignore")
    return text.lower()


@lru_cache(maxsize=1 << 13)  # shared by tokens() and rarity's template_key() within a batch
def normalise(cmd: str) -> str:
    """Lower-cased command line with user folders, temp folders, GUIDs, IPs, hex strings and numbers as tokens."""
    text = cmd.lower()
    for pattern, repl, possible in _NORMALISE:
        if possible(text):
            text = pattern.sub(repl, text)
    return text


def tokens(cmd: str) -> list[str]:
    """Distinct tokens of a normalised command line; path parts split at backslashes."""
    return list(dict.fromkeys(_TOKEN.findall(normalise(cmd)[:4096])))


NUMERIC = ["cmd_len", "cmd_entropy", "nonalnum_share", "upper_share", "n_args", "carets", "backticks", "concats",
           "env_slices", "quotes", "mixed_case", "encoded", "decoded_hits", "b64_blob", "hex_blob", "urls", "ips",
           "unc", "keywords", "lolbin", "lolbas_match", *[f"lolbas_{c.lower().replace(' ', '_')}" for c in CATEGORIES],
           "unusual_path", "ofn_mismatch", "exe_in_user_dir", "exe_in_temp", "cmd_user_path", "redirect", "pipe"]


def command_features(name: str, cmd: str, exe: str, ofn: str, know: Knowledge) -> tuple[list[float], dict[str, Any]]:
    """The NUMERIC features of one (name, command line, executable, original file name) and the evidence behind them."""
    low = cmd.lower()
    head = low[:8192]
    enc = _ENC.search(cmd[:8192]) if name in ("powershell.exe", "pwsh.exe") or "powershell" in head else None
    decoded = decode_powershell(enc.group(1)) if enc else ""
    hits = tuple(w for w in DECODED_WORDS if w in decoded)
    m = know.match(name, cmd, exe)
    matched = {p.category for p in m.patterns}
    exe_low = exe.lower()
    ofn_low = ofn.lower().removesuffix(".mui")
    renamed = bool(ofn_low) and ofn_low != name and (ofn_low in know.patterns or ofn_low in know.locations)
    n = len(cmd)
    top = cmd[:8192]
    alnum = len(head) - len(head.translate(_DROP_ALNUM))  # [a-z0-9] characters, counted without a list of matches
    upper = len(top) - len(top.translate(_DROP_UPPER))  # [A-Z] characters
    values = [
        math.log1p(n), entropy(head), 1 - alnum / max(len(head), 1), upper / max(len(head), 1), float(len(head.split())),
        float(head.count("^")), float(head.count("`")), float(len(_CONCAT.findall(head))), float(len(_ENVSLICE.findall(head))),
        float(head.count('"') + head.count("'")), float(_classes(top, _CASE_CLASS).count(b"lUl")), float(enc is not None),
        float(len(hits)), float(_has_run(top, _B64_CLASS, 40)), float(_has_run(head, _HEX_CLASS, 32)),
        float(len(_URL.findall(head)) if "://" in head else 0), float(len(_IP.findall(head)) if head.count(".") >= 3 else 0),
        float(bool(_UNC.search(head))), float(len(m.keywords)), float(m.lolbin),
        float(bool(m.patterns)), *[float(c in matched) for c in CATEGORIES], float(m.unusual_path), float(renamed),
        float("\\users\\" in exe_low and "\\appdata\\local\\microsoft\\" not in exe_low), float("\\temp\\" in exe_low),
        float("\\users\\public" in head or "\\appdata\\" in head or "\\temp\\" in head), float(">" in head), float("|" in head),
    ]
    evidence = {"match": m, "decoded_hits": hits, "renamed": ofn if renamed else "", "encoded": enc is not None}
    return values, evidence


def context_features(prep: pd.DataFrame) -> dict[str, np.ndarray]:
    """User and integrity features (confounded in the training data; used only when asked for)."""
    integ = np.array([INTEGRITY.get(v.lower(), 2) for v in prep["integrity"]], dtype=np.float64)
    system = np.array([u.lower().startswith(SYSTEM_USERS) for u in prep["user"]], dtype=np.float64)
    return {"integrity": integ, "system_user": system}


def relation_features(prep: pd.DataFrame) -> dict[str, np.ndarray]:
    """Parent and grandparent relations: shell or Office parents, shell children, missing parent."""
    parent, gparent, name = prep["parent"], prep["grandparent"], prep["name"]
    return {
        "parent_shell": parent.isin(SHELLS).to_numpy(np.float64),
        "parent_office": parent.isin(OFFICE).to_numpy(np.float64),
        "gparent_office": gparent.isin(OFFICE).to_numpy(np.float64),
        "child_shell": name.isin(SHELLS).to_numpy(np.float64),
        "parent_missing": (parent == "").to_numpy(np.float64),
    }


def event_tokens(prep: pd.DataFrame, cmd_tokens: list[list[str]], parents: bool = True) -> list[list[str]]:
    """Command-line tokens plus `proc=` and (with `parents`) `parent=`, `gparent=`, `pair=` tokens per event."""
    if not parents:
        return [[*t, f"proc={n}"] for t, n in zip(cmd_tokens, prep["name"])]
    return [[*t, f"proc={n}", f"parent={p}", f"gparent={g}", f"pair={p}>{n}"]
            for t, n, p, g in zip(cmd_tokens, prep["name"], prep["parent"], prep["grandparent"])]
