"""Scored-event statistics in the alert store: one `score_stats` row per scored batch and model.

Monitoring needs more than alerts: how many events each model scored, how many it rejected, how
long it took, and the distribution of *all* its scores (for drift). The scan records, for every
batch a detector scores, the counts, the scoring time and a histogram of the scores on the fixed
grid of `nightjar.ops.drift` (sparse JSON), so windows of any length add up exactly. When the
detector has monitoring features (`Detector.monitor_features`), the row also holds one histogram per
feature on the grid of `nightjar.ops.features` (column `features`).

The table is created by the store's migrations (`nightjar.scoring.store.MIGRATIONS`); `SCORE_STATS_SQL`
is its definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from nightjar.ops import features as FX
from nightjar.ops.drift import GRID_BINS, SCORE_EDGES, score_histogram
from nightjar.ops.tables import SCORE_STATS_SQL  # noqa: F401 (re-exported: the table's definition)

GRID = f"logit{GRID_BINS}"
N_BINS = len(SCORE_EDGES) - 1


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and `Z`, the store's time format (compares as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """The inverse of `iso` (accepts any ISO 8601 with Z or offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class BatchStats:
    """What one model did with one batch."""

    detector: str
    model: str
    source: str | None
    events: int
    scored: int
    rejected: int
    alerts: int
    seconds: float
    counts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(N_BINS, dtype=np.int64))
    scored_at: str = ""
    job_id: int | None = None
    features: dict[str, NDArray[np.int64]] = field(default_factory=dict)  # feature name -> grid histogram


def batch_stats(detector: str, model: str, scored: pd.DataFrame, seconds: float, source: str | None = None,
                rejected_before: int = 0, features: dict[str, Any] | None = None) -> BatchStats:
    """Statistics of one scored frame (`score`, `alert` columns); `rejected_before` adds reader rejects;
    `features` (name -> values per event) are histogrammed on the feature grid."""
    score = pd.to_numeric(scored["score"], errors="coerce") if "score" in scored.columns else pd.Series(dtype=float)
    alerts = int(scored["alert"].fillna(False).astype(bool).sum()) if "alert" in scored.columns else 0
    has = int(score.notna().sum())
    return BatchStats(detector, model, source, len(scored) + rejected_before, has, len(scored) - has + rejected_before,
                      alerts, float(seconds), score_histogram(score.to_numpy(dtype=float, na_value=np.nan)),
                      features=FX.feature_histograms(features or {}))


def record(db: Any, stats: BatchStats | Iterable[BatchStats], job_id: int | None = None) -> int:
    """Insert statistics rows into the store connection `db`; returns how many."""
    rows = []
    for s in [stats] if isinstance(stats, BatchStats) else stats:
        sparse = {str(i): int(c) for i, c in enumerate(s.counts) if c}
        feats = orjson.dumps(FX.to_json(s.features)).decode() if s.features else None
        rows.append((s.job_id if job_id is None else job_id, s.detector, s.model, s.source, s.scored_at or iso(datetime.now(UTC)),
                     s.events, s.scored, s.rejected, s.alerts, s.seconds, orjson.dumps({"grid": GRID, "counts": sparse}).decode(), feats))
    db.executemany("INSERT INTO score_stats (job_id, detector, model, source, scored_at, events, scored, rejected, alerts, "
                   "seconds, histogram, features) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def load(db: Any, since: str | None = None, until: str | None = None, model: str | None = None) -> list[BatchStats]:
    """Rows scored in [since, until) (ISO text), of one model or all, oldest first."""
    where, args = [], []
    for clause, value in (("scored_at >= ?", since), ("scored_at < ?", until), ("model = ?", model)):
        if value is not None:
            where.append(clause)
            args.append(value)
    sql = ("SELECT detector, model, source, events, scored, rejected, alerts, seconds, histogram, scored_at, job_id, features "
           "FROM score_stats" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY scored_at, id")
    out = []
    for det, mod, src, ev, sc, rej, al, sec, hist, at, job, feats in db.execute(sql, args):
        counts = np.zeros(N_BINS, dtype=np.int64)
        data = orjson.loads(hist)
        if data.get("grid") == GRID:
            for i, c in data.get("counts", {}).items():
                counts[int(i)] = int(c)
        out.append(BatchStats(det, mod, src, ev, sc, rej, al, float(sec), counts, at, job,
                              FX.from_json(orjson.loads(feats)) if feats else {}))
    return out


def first_scored(db: Any, model: str) -> str | None:
    """When `model` scored its first batch (ISO), or None."""
    row = db.execute("SELECT MIN(scored_at) FROM score_stats WHERE model = ?", (model,)).fetchone()
    return row[0] if row else None


class ScoreStatsHook:
    """Scan hook: records a `score_stats` row for every batch a model scores (see `run_scan(hooks=...)`).

    Monitoring features come from an unfitted instance of the detector's class: `monitor_features`
    must not need the model. A detector whose features fail is noted once and recorded without them.
    """

    def __init__(self) -> None:
        self.db: Any = None
        self.job_id: int | None = None
        self._detectors: dict[str, Any] = {}
        self.notes: list[str] = []

    def features(self, kind: str, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, Any]:
        """The monitoring features of one batch ({} when the detector has none or they fail)."""
        from nightjar.detectors.base import KINDS, detector_class

        if kind not in self._detectors:
            self._detectors[kind] = detector_class(kind)() if kind in KINDS else None
        det = self._detectors[kind]
        if det is None:
            return {}
        try:
            return FX.monitor_features(det, events, scored)
        except Exception as exc:  # noqa: BLE001 (monitoring must never fail a scan)
            self._detectors[kind] = None
            self.notes.append(f"monitoring features of {kind} failed ({type(exc).__name__}: {exc}); recorded without them")
            return {}

    def start(self, store: Any, job_id: int | None) -> None:
        """Called by the scan once the store is open and the job recorded."""
        self.db, self.job_id = store.db, job_id

    def scored(self, kind: str, model: str, events: pd.DataFrame | None, scored: pd.DataFrame, seconds: float,
               source: str | None) -> None:
        """Record one scored batch (events None: an aggregating detector's rows, e.g. beacon pairs)."""
        feats = self.features(kind, events, scored)
        record(self.db, batch_stats(kind, model, scored, seconds, source or "(all inputs)", features=feats), self.job_id)

    def close(self) -> list[str]:
        """Nothing to flush; notes of failed monitoring features."""
        return self.notes
