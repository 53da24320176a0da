"""Per-host and fleet-wide rarity of parent->child pairs and command-line templates, learnt from the stream.

Like the anomaly jobs that ship beside ProblemChild: counts of what each host runs. An event is rare
for its host when its parent->child pair, or its command-line template (the normalised command line
with numbers, GUIDs, paths under user folders and hex strings replaced), has been seen at most
`max_count` times on that host, and at most on `max_hosts` hosts fleet-wide. Hosts with fewer than
`min_history` events are not judged (everything is new on a new host). Each event is judged against what
came before it and itself, never against later events, so a stream is judged the same however it is cut
into batches. State is JSON: `save`/`load` (`format` "nightjar-lotl-rarity/1"); the `--state` file adds the
parent memory as an optional "lineage" section (`save(path, lineage)`, `load_with_lineage`).
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.lotl.features import normalise
from nightjar.detectors.lotl.prepared import ParentMemory, Prepared, combine, lower, recode

RARITY_FILE = "lotl_rarity.json"


@lru_cache(maxsize=1 << 15)
def template_key(cmd: str) -> int:
    """A 32-bit key of the command-line template."""
    return zlib.crc32(normalise(cmd)[:2048].encode("utf-8", "replace"))


def running(codes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per event, how many events of its group (same code) there are up to and including it (or the sum of
    their `weights`), in event order."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    step = np.ones(len(codes), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)[order]
    total = np.cumsum(step)
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = total - (total - step)[starts][np.cumsum(starts) - 1]  # minus the total before the group began
    return out


def _rare_pair_words(pair: str) -> str:
    parent, child = pair.split(">", 1)
    return f"rare parent {parent or '(none)'} for {child} on this host"


@dataclass
class _Keys:
    """Per event: codes of the host (lower case), the "parent>child" pair and the template; their distinct values."""

    host: np.ndarray
    pair: np.ndarray
    temp: np.ndarray
    hosts: np.ndarray
    pairs: np.ndarray
    temps: np.ndarray


@dataclass
class RarityState:
    """Counts per host and fleet-wide; `observe` adds events, `rarity` judges them."""

    max_count: int = 1
    max_hosts: int = 1
    min_history: int = 100
    host_events: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)  # (host, "parent>child") -> count
    templates: Counter = field(default_factory=Counter)  # (host, template key) -> count
    pair_hosts: dict[str, set] = field(default_factory=dict)  # "parent>child" -> hosts

    def _keys(self, prep: Prepared | pd.DataFrame) -> _Keys:
        if isinstance(prep, pd.DataFrame):
            prep = Prepared.from_frame(prep)
        c, v = prep.codes, prep.values
        host, hosts = recode(c["host"], lower(v["host"]))
        both, first = combine(c["parent"], c["name"])
        pair, pairs = recode(both, v["parent"][c["parent"][first]] + ">" + v["name"][c["name"][first]])
        temp, temps = recode(c["cmd"], np.array([template_key(cmd) for cmd in v["cmd"]], dtype=np.int64))
        return _Keys(host, pair, temp, hosts, pairs, temps)

    def observe(self, prep: Prepared | pd.DataFrame) -> None:
        """Add prepared events (see prepared.encode or features.prepare) to the counts.

        Keys are added in the order the events first show them, as counting event by event would.
        """
        k = self._keys(prep)
        for counts, columns in ((self.host_events, ((k.host, k.hosts),)), (self.pairs, ((k.host, k.hosts), (k.pair, k.pairs))),
                                (self.templates, ((k.host, k.hosts), (k.temp, k.temps)))):
            codes, first = combine(*(code for code, _ in columns))
            seen = np.bincount(codes, minlength=len(first)).tolist()
            names = [values[code[first]] for code, values in columns]
            counts.update(dict(zip(names[0] if len(names) == 1 else zip(*names), seen)))
        _, first = combine(k.host, k.pair)
        for h, p in zip(k.hosts[k.host[first]], k.pairs[k.pair[first]]):
            self.pair_hosts.setdefault(p, set()).add(h)

    def rarity(self, prep: Prepared | pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """(rarity in 0..1, words) per event, each judged against the counts plus the events up to and including it.

        That is what judging one event at a time and observing it would give, so a stream's judgement
        does not depend on how it is cut into batches (the state itself only changes through `observe`).
        Lookups go once per distinct host, (host, pair) and (host, template); counts within the batch
        are running counts in event order.
        """
        k = self._keys(prep)
        hosts, pairs, temps = k.hosts.tolist(), k.pairs.tolist(), k.temps.tolist()
        host_pair, hp_first = combine(k.host, k.pair)
        host_temp, ht_first = combine(k.host, k.temp)
        hp_host, hp_pair = k.host[hp_first].tolist(), k.pair[hp_first].tolist()
        ht_host, ht_temp = k.host[ht_first].tolist(), k.temp[ht_first].tolist()
        history = np.array([self.host_events[h] for h in hosts], dtype=np.int64)[k.host] + running(k.host)
        seen_pair = np.array([self.pairs[(hosts[h], pairs[p])] for h, p in zip(hp_host, hp_pair)], dtype=np.int64)
        seen_temp = np.array([self.templates[(hosts[h], temps[t])] for h, t in zip(ht_host, ht_temp)], dtype=np.int64)
        known = [self.pair_hosts.get(p, set()) for p in pairs]
        new_host = np.zeros(len(k.host), dtype=np.int64)  # 1 where a host runs a pair for the first time fleet-wide
        new_host[hp_first] = [hosts[h] not in known[p] for h, p in zip(hp_host, hp_pair)]
        n_hosts = np.array([len(s) for s in known], dtype=np.int64)[k.pair] + running(k.pair, new_host)
        rare_pair = (seen_pair[host_pair] + running(host_pair) <= self.max_count) & (n_hosts <= self.max_hosts)
        rare_temp = seen_temp[host_temp] + running(host_temp) <= self.max_count
        judged = history >= self.min_history  # hosts with less history are not judged
        by_pair, by_temp = rare_pair & judged, rare_temp & judged
        words = np.full(len(judged), "", dtype=object)
        words[by_temp] = np.array([f"command line new for {p.split('>', 1)[1]} on this host" for p in pairs], dtype=object)[k.pair[by_temp]]
        words[by_pair] = np.array([_rare_pair_words(p) for p in pairs], dtype=object)[k.pair[by_pair]]
        return 0.5 * by_pair + 0.5 * by_temp, words.tolist()

    # --- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready state."""
        return {"format": "nightjar-lotl-rarity/1", "max_count": self.max_count, "max_hosts": self.max_hosts,
                "min_history": self.min_history, "host_events": dict(self.host_events),
                "pairs": [[h, p, c] for (h, p), c in self.pairs.items()],
                "templates": [[h, t, c] for (h, t), c in self.templates.items()],
                "pair_hosts": {p: sorted(hs) for p, hs in self.pair_hosts.items()}}

    @classmethod
    def from_dict(cls, doc: dict) -> RarityState:
        """Inverse of `to_dict`."""
        return cls(max_count=doc["max_count"], max_hosts=doc["max_hosts"], min_history=doc["min_history"],
                   host_events=Counter(doc["host_events"]), pairs=Counter({(h, p): c for h, p, c in doc["pairs"]}),
                   templates=Counter({(h, t): c for h, t, c in doc["templates"]}),
                   pair_hosts={p: set(hs) for p, hs in doc["pair_hosts"].items()})

    def save(self, path: Path, lineage: ParentMemory | None = None) -> Path:
        """Write the state as JSON to `path` (a file, or a folder to hold `lotl_rarity.json`), atomically.

        With `lineage` (the `--state` file: `LotlDetector.save_state`), the document also holds a "lineage"
        section, `lineage.to_dict()` (its latest ids, see `ParentMemory`); the model folder's file has none.
        """
        path = _file(path)
        from nightjar.registry.files import atomic_write_text

        doc = self.to_dict()
        if lineage is not None:
            doc["lineage"] = lineage.to_dict()
        atomic_write_text(path, json.dumps(doc, separators=(",", ":")))
        return path

    @classmethod
    def load(cls, path: Path) -> RarityState:
        """Read a state written by `save` (its rarity counts; see `load_with_lineage`)."""
        return cls.from_dict(json.loads(_file(path).read_text()))

    @classmethod
    def load_with_lineage(cls, path: Path) -> tuple[RarityState, ParentMemory]:
        """Read a state written by `save`: the counts and the parent memory (empty when the file has no
        "lineage" section, as files written before it was saved, and the model folder's)."""
        doc = json.loads(_file(path).read_text())
        if not isinstance(doc, dict):
            raise TypeError(f"a JSON object expected, not {type(doc).__name__}")
        return cls.from_dict(doc), ParentMemory.from_dict(doc.get("lineage"))


def _file(path: Path) -> Path:
    """`path`, or `lotl_rarity.json` in it when it is a folder."""
    path = Path(path)
    return path / RARITY_FILE if path.is_dir() else path
