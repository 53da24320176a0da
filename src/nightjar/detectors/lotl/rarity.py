"""Per-host and fleet-wide rarity of parent->child pairs and command-line templates, learnt from the stream.

Like the anomaly jobs that ship beside ProblemChild: counts of what each host runs. An event is rare
for its host when its parent->child pair, or its command-line template (the normalised command line
with numbers, GUIDs, paths under user folders and hex strings replaced), has been seen at most
`max_count` times on that host, and at most on `max_hosts` hosts fleet-wide. Hosts with fewer than
`min_history` events are not judged (everything is new on a new host). State is JSON: `save`/`load`.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.lotl.features import normalise

RARITY_FILE = "lotl_rarity.json"


def template_key(cmd: str) -> int:
    """A 32-bit key of the command-line template."""
    return zlib.crc32(normalise(cmd)[:2048].encode("utf-8", "replace"))


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

    def _keys(self, prep: pd.DataFrame) -> tuple[list[str], list[str], list[int]]:
        hosts = prep["host"].str.lower().tolist()
        pairs = (prep["parent"] + ">" + prep["name"]).tolist()
        codes, uniques = pd.factorize(prep["cmd"])
        keys = np.asarray([template_key(c) for c in uniques], dtype=np.int64)
        return hosts, pairs, keys[codes].tolist() if len(codes) else []

    def observe(self, prep: pd.DataFrame) -> None:
        """Add prepared events (see features.prepare) to the counts."""
        hosts, pairs, temps = self._keys(prep)
        self.host_events.update(hosts)
        self.pairs.update(zip(hosts, pairs))
        self.templates.update(zip(hosts, temps))
        for h, p in zip(hosts, pairs):
            self.pair_hosts.setdefault(p, set()).add(h)

    def rarity(self, prep: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """(rarity in 0..1, words) per event, judged against the counts plus these events (state unchanged)."""
        hosts, pairs, temps = self._keys(prep)
        batch_hosts, batch_pairs, batch_temps = Counter(hosts), Counter(zip(hosts, pairs)), Counter(zip(hosts, temps))
        fleet: dict[str, set] = {}
        for h, p in zip(hosts, pairs):
            fleet.setdefault(p, set()).add(h)
        out = np.zeros(len(hosts))
        words = [""] * len(hosts)
        for i, (h, p, t) in enumerate(zip(hosts, pairs, temps)):
            if self.host_events[h] + batch_hosts[h] < self.min_history:
                continue
            n_hosts = len(self.pair_hosts.get(p, set()) | fleet[p])
            rare_pair = self.pairs[(h, p)] + batch_pairs[(h, p)] <= self.max_count and n_hosts <= self.max_hosts
            rare_temp = self.templates[(h, t)] + batch_temps[(h, t)] <= self.max_count
            out[i] = 0.5 * rare_pair + 0.5 * rare_temp
            parent, child = p.split(">", 1)
            if rare_pair:
                words[i] = f"rare parent {parent or '(none)'} for {child} on this host"
            elif rare_temp:
                words[i] = f"command line new for {child} on this host"
        return out, words

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

    def save(self, path: Path) -> Path:
        """Write the state as JSON to `path` (a file, or a folder to hold `lotl_rarity.json`)."""
        path = Path(path)
        if path.is_dir():
            path = path / RARITY_FILE
        from nightjar.registry.files import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")))
        return path

    @classmethod
    def load(cls, path: Path) -> RarityState:
        """Read a state written by `save`."""
        path = Path(path)
        if path.is_dir():
            path = path / RARITY_FILE
        return cls.from_dict(json.loads(path.read_text()))
