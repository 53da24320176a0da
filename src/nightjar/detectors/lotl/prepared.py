"""Prepared events kept factorised: `features.prepare`, applied once per distinct value.

Process telemetry repeats itself: a batch of 100k events holds a few thousand distinct names,
command lines and hosts. `encode` applies prepare's rules (names from the executable when missing,
lower case, the grandparent from the parent's own event, neutral parents blanked) to each column's
distinct values and keeps an integer code per event, so distinct rows, keys and rarity counts are
built from integers. Within a column, equal strings have equal codes. `column(key)` gives the
strings, `frame()` the table `prepare` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import numpy as np
import pandas as pd

from nightjar.detectors.lotl.features import COLUMNS, _basename


@dataclass
class Prepared:
    """Per column of `features.prepare`: a code per event and the distinct strings the codes point to."""

    codes: dict[str, np.ndarray]
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.codes.values()))) if self.codes else 0

    def column(self, key: str) -> np.ndarray:
        """The prepared strings of `key`, one per event."""
        return self.values[key][self.codes[key]]

    def frame(self) -> pd.DataFrame:
        """The table `features.prepare` returns for the same events."""
        return pd.DataFrame({key: self.column(key) for key in self.codes})

    @classmethod
    def from_frame(cls, prep: pd.DataFrame) -> Prepared:
        """Factorise a table returned by `features.prepare`."""
        codes, values = {}, {}
        for key in prep.columns:
            codes[key], values[key] = factorise(prep[key].to_numpy(dtype=object))
        return cls(codes, values)


def factorise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an array of strings, in order of first appearance."""
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def recode(codes: np.ndarray, strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes into `strings` (which may repeat) as codes into its distinct strings."""
    inner, uniques = factorise(strings)
    return inner[codes] if len(codes) else codes, uniques


def combine(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code, index of first event) per distinct tuple of the given code columns, in order of first appearance."""
    key = codes[0]
    for more in codes[1:]:
        key, _ = pd.factorize(key * (int(more.max(initial=0)) + 1) + more)
        key = key.astype(np.int64, copy=False)
    out, _ = pd.factorize(key)
    out = out.astype(np.int64, copy=False)
    first = np.full(int(out.max(initial=-1)) + 1, len(out), dtype=np.int64)
    np.minimum.at(first, out, np.arange(len(out)))
    return out, first


def lower(strings: np.ndarray) -> np.ndarray:
    """Lower case exactly as `prepare` does it (pandas' string `.str.lower()`)."""
    return pd.Series(strings, dtype=object).astype("str").str.lower().to_numpy(dtype=object) if len(strings) else strings


def _raw(events: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values of one ECS column as `features._column` reads it ("" for missing and "-")."""
    if column not in events.columns:
        return np.zeros(len(events), dtype=np.int64), np.array([""], dtype=object)
    series = events[column]
    if not isinstance(series.dtype, pd.StringDtype):
        series = series.astype("string")
    codes, uniques = pd.factorize(series)
    strings = np.append(np.asarray(uniques, dtype=object), "")
    placeholders = strings == "-"
    strings[placeholders] = ""
    codes = codes.astype(np.int64, copy=False)
    codes[codes < 0] = len(strings) - 1
    if not placeholders.any() and not (strings[:-1] == "").any():
        return codes, strings  # already distinct: what `recode` would return
    return recode(codes, strings)


def _with_empty(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """`values` with "" among them, and the code of ""."""
    hit = np.flatnonzero(values == "")
    if len(hit):
        return codes, values, int(hit[0])
    return codes, np.append(values, ""), len(values)


RARITY_KEYS = ("name", "cmd", "parent", "host")  # what rarity.py reads
STREAM_KEYS = (*RARITY_KEYS, "id")  # what LotlDetector.observe learns: rarity and ParentMemory


class ParentMemory:
    """The prepared parent name of processes seen in earlier batches (entity id -> name), the latest `limit` ids.

    A child whose parent's own event came in an earlier batch gets its grandparent from here, so a
    stream's grandparents do not depend on where it is cut into batches. `parents` keeps insertion order,
    oldest first (the order `add` evicts in).

    The `--state` file carries the latest `SAVED` (250,000) ids of it (`to_dict`/`from_dict`, the "lineage"
    section of the rarity state file; see `rarity.RarityState.save`), oldest first, so a reload evicts in
    the same order. A stream scored in runs with `--state` gets the same grandparents as in one run when a
    child's parent is among the latest 250,000 process ids before the cut (within one run: the latest
    `limit`, 1M). Parents and children mostly start seconds apart (Office -> shell -> LOLBin chains), and
    persisting all 1M would cost every run ~44 MB of JSON to read and write (~1 s), also for small runs
    once the memory is full. Size: the ids as JSON strings plus an index into a table of distinct
    parent names, ~4.4 MB per 100k ids with Sysmon ProcessGuids (38 characters; +1 byte per id and
    character of longer ids), so ~11 MB at 250,000; writing and reading it take ~0.1 s each.
    """

    SAVED = 250_000
    FORMAT = "nightjar-lotl-lineage/1"

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit = limit
        self.parents: dict[str, str] = {}

    def add(self, prep: Prepared) -> None:
        """Remember the parent of each event of `prep` (which holds "id" and "parent") that has an id."""
        ids, parents = prep.column("id"), prep.column("parent")
        has_id = ids != ""
        self.parents.update(zip(ids[has_id].tolist(), parents[has_id].tolist()))
        for key in list(islice(self.parents, max(0, len(self.parents) - self.limit))):  # the oldest first
            del self.parents[key]

    def to_dict(self, latest: int | None = None) -> dict:
        """JSON-ready: the latest `latest` ids (default `SAVED`), oldest first, each with an index into `names`."""
        keep = min(len(self.parents), self.SAVED if latest is None else latest)
        items = list(islice(self.parents.items(), len(self.parents) - keep, None))
        code_of: dict[str, int] = {}
        codes = [code_of.setdefault(name, len(code_of)) for _, name in items]
        return {"format": self.FORMAT, "names": list(code_of), "ids": [i for i, _ in items], "parents": codes}

    @classmethod
    def from_dict(cls, doc: dict | None, limit: int = 1_000_000) -> ParentMemory:
        """Inverse of `to_dict`; None (a state written before the memory was saved): an empty memory.

        Raises ValueError or TypeError on a malformed section.
        """
        memory = cls(limit)
        if doc is None:
            return memory
        if not isinstance(doc, dict) or doc.get("format") != cls.FORMAT:
            raise ValueError(f"the lineage section is not {cls.FORMAT}")
        names, ids, codes = doc["names"], doc["ids"], doc["parents"]
        if not all(isinstance(x, list) for x in (names, ids, codes)) or len(ids) != len(codes):
            raise ValueError("the lineage section needs lists 'names', 'ids' and 'parents', as many ids as parents")
        if not all(isinstance(n, str) for n in names) or not all(isinstance(i, str) for i in ids):
            raise TypeError("lineage names and ids must be strings")
        if not all(type(c) is int and 0 <= c < len(names) for c in codes):
            raise ValueError("lineage parents must be indices into its names")
        memory.parents = dict(zip(ids[max(0, len(ids) - limit):], [names[c] for c in codes[max(0, len(codes) - limit):]]))
        return memory


def encode(events: pd.DataFrame, neutral_parents: tuple[str, ...] = (), keys: tuple[str, ...] | None = None,
           earlier: ParentMemory | None = None) -> Prepared:
    """`features.prepare(events, neutral_parents)`, factorised (see the module docstring); only `keys` when given.

    The grandparent is the parent of the (last) event in `events` whose id is this event's parent id, else the
    parent `earlier` remembers for that id, else "".
    """
    wanted = [*COLUMNS, "grandparent"] if keys is None else list(keys)
    raw = set(wanted) - {"grandparent"} | {"parent"} | ({"exe"} if "name" in wanted else set()) \
        | ({"parent_exe"} if "parent" in wanted or "parent_exe" in wanted else set()) \
        | ({"id", "parent_id"} if "grandparent" in wanted else set())
    codes, values = {}, {}
    for key, col in COLUMNS.items():
        if key in raw:
            codes[key], values[key] = _raw(events, col)
    for key, path_key in (("name", "exe"), ("parent", "parent_exe")):
        if key in raw and path_key in raw:
            own, path = codes[key], codes[path_key]
            missing = (values[key] == "")[own]
            bases = np.array([_basename(p) for p in values[path_key]], dtype=object)
            joined = np.where(missing, len(values[key]) + path, own)
            codes[key], values[key] = recode(joined, lower(np.concatenate([values[key], bases])))
    parent, parents, empty = _with_empty(codes["parent"], values["parent"])
    if "grandparent" in wanted:  # the parent of the (last) event whose id is this event's parent id
        last = np.full(len(values["id"]), -1, dtype=np.int64)
        np.maximum.at(last, codes["id"], np.arange(len(parent)))
        known = (values["id"] != "") & (last >= 0)
        found = pd.Index(values["id"][known]).get_indexer(values["parent_id"])
        grand_of = np.append(parent[last[known]], empty)[found]  # not found (-1): ""
        if earlier is not None and earlier.parents:
            missing = np.flatnonzero(found < 0)
            names = [earlier.parents.get(pid) for pid in values["parent_id"][missing].tolist()]
            hit = np.array([n is not None for n in names], dtype=bool)
            grand_of[missing[hit]] = len(parents) + np.arange(int(hit.sum()))
            parents = np.concatenate([parents, np.array([n for n in names if n is not None], dtype=object)])
        grand = grand_of[codes["parent_id"]] if len(parent) else parent
    if neutral_parents:
        parents = np.where(np.isin(parents, list(neutral_parents)), "", parents).astype(object)
    codes["parent"], values["parent"] = recode(parent, parents)
    if "grandparent" in wanted:
        codes["grandparent"], values["grandparent"] = recode(grand, parents)
    if "parent_exe" in wanted:
        no_parent = (values["parent"] == "")[codes["parent"]]
        pexe, pexes, empty = _with_empty(codes["parent_exe"], values["parent_exe"])
        codes["parent_exe"], values["parent_exe"] = recode(np.where(no_parent, empty, pexe), pexes)
    return Prepared({k: codes[k] for k in wanted}, {k: values[k] for k in wanted})
