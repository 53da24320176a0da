"""The lab's ground truth: every planted attack, the detector that should find it, and where it shows.

`truth.json` (written beside the telemetry, never inside it, so that a scan of the telemetry does not
read it):

    {"version": 1, "config": {"hosts": 20, "days": 2, "seed": 0, ...},
     "attacks": [{"id": "dga-1", "detector": "dga", "technique": "T1568.002", "name": "...",
                  "time": "2026-03-02T00:00:00.000Z", "end": "...",
                  "entity": {"host.name": "...", "source.ip": "...", "domains": [...]}}, ...],
     "dirty": [{"path": "dirty/...", "what": "..."}]}

Entities by detector:
- `dga`: the infected host (`host.name`, `source.ip`) and every name its DGA looked up (`domains`).
- `url`: one phishing URL (`url`), the mailbox it went to (`recipient`) and, for a click, the client
  that fetched it (`source.ip`, `where: "http"`).
- `lotl`: one process of an attack chain (`host.name`, `process.entity_id`, `process.command_line`), `chain`.
- `beacon`: one pair (`source.ip`, `destination.ip`, `destination.port`, `destination.domain`), its
  interval and jitter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from nightjar.lab.world import iso


@dataclass
class Attack:
    """One planted attack, as one detector should see it."""

    id: str
    detector: str
    technique: str
    name: str
    time: str
    entity: dict[str, Any]
    end: str | None = None
    chain: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Truth:
    """Every attack of one lab, and the files made dirty on purpose."""

    config: dict[str, Any]
    attacks: list[Attack] = field(default_factory=list)
    dirty: list[dict[str, str]] = field(default_factory=list)

    def add(self, detector: str, technique: str, name: str, ts: float, entity: dict[str, Any],
            end: float | None = None, chain: str | None = None) -> Attack:
        """Record an attack; ids are `<detector>-<n>` in the order attacks are added."""
        n = sum(1 for a in self.attacks if a.detector == detector) + 1
        attack = Attack(f"{detector}-{n}", detector, technique, name, iso(ts), entity, iso(end) if end else None, chain)
        self.attacks.append(attack)
        return attack

    def by_detector(self) -> dict[str, list[Attack]]:
        out: dict[str, list[Attack]] = {}
        for a in self.attacks:
            out.setdefault(a.detector, []).append(a)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "config": self.config, "attacks": [a.as_dict() for a in self.attacks], "dirty": self.dirty}

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        return path


def read_truth(path: str | Path) -> Truth:
    """Read a `truth.json` written by `Truth.write`."""
    data = orjson.loads(Path(path).read_bytes())
    attacks = [Attack(**a) for a in data.get("attacks", [])]
    return Truth(data.get("config", {}), attacks, data.get("dirty", []))
