"""What a scan did: counts in total, per detector and per input, skipped and incomplete files.

`ScanSummary.as_dict()` is the `--json SUMMARY` document: `read`, `scored`, `rejected` (read = scored
+ rejected), `alerts` (found by this scan), `new_alerts` (not in the store before), `detectors`,
`inputs`, `skipped`, `incomplete`, `rejected_reasons`, `notes`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DetectorCounts:
    """One detector's share of a scan. `records` = events given to it; `scored`/`rejected` are rows
    it scored or could not score (for an aggregating detector: entities such as pairs)."""

    model: str
    threshold: float | None = None
    records: int = 0
    scored: int = 0
    rejected: int = 0
    entities: int | None = None
    entity_alerts: int = 0  # alerts about an entity across records (dga: hosts), included in `alerts`
    alerts: int = 0
    new_alerts: int = 0


@dataclass
class InputCounts:
    """One input file: formats and event kinds found, records read/scored/rejected, alerts."""

    formats: dict[str, None] = field(default_factory=dict)  # ordered set
    kinds: dict[str, int] = field(default_factory=dict)
    read: int = 0
    scored: int = 0
    rejected: int = 0
    alerts: int = 0


@dataclass
class ScanSummary:
    """Totals (read = scored + rejected), per-detector and per-input counts, and what was skipped."""

    store: str
    alerts_file: str | None = None
    read: int = 0
    scored: int = 0
    rejected: int = 0
    alerts: int = 0
    new_alerts: int = 0
    detectors: dict[str, DetectorCounts] = field(default_factory=dict)
    inputs: dict[str, InputCounts] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    incomplete: list[dict[str, str]] = field(default_factory=list)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    job_id: int | None = None
    seconds: float | None = None

    def detector(self, kind: str, model: str) -> DetectorCounts:
        """The counts of detector `kind` (created on first use)."""
        return self.detectors.setdefault(kind, DetectorCounts(model))

    def input(self, path: str) -> InputCounts:
        """The counts of input `path` (created on first use)."""
        return self.inputs.setdefault(path, InputCounts())

    def skip(self, path: str, reason: str) -> None:
        """A file that was not read at all."""
        self.skipped.append({"path": path, "reason": reason})

    def mark_incomplete(self, path: str, reason: str) -> None:
        """A file read only up to a break (records before it were scanned)."""
        if not any(i["path"] == path for i in self.incomplete):
            self.incomplete.append({"path": path, "reason": reason})

    def reject(self, reason: str, n: int) -> None:
        """Count `n` records rejected for `reason`."""
        if n:
            self.rejected += n
            self.rejected_reasons[reason] = self.rejected_reasons.get(reason, 0) + n

    def rejected_by_readers(self, n: int) -> None:
        """Records a reader could not parse."""
        self.reject("malformed record (the reader could not parse it)", n)

    @property
    def balanced(self) -> bool:
        """True when read = scored + rejected."""
        return self.read == self.scored + self.rejected

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the `--json SUMMARY` document)."""
        data = asdict(self)
        for counts in data["inputs"].values():
            counts["formats"] = list(counts["formats"])
        data["balanced"] = self.balanced
        return data
