"""Shadow tests: a candidate model scores a deterministic fraction of live events beside production.

`sample_mask(values, fraction)` picks the events whose key (host.name, user.name, an event id, ...)
hashes below `fraction`: blake2b-64 of the key's text, as an unsigned integer, `< fraction * 2**64`.
The same key is always in or always out, so an entity's whole story is shadowed together, on every
machine and every run. Events without the key are not sampled (and counted).

`ShadowRunner` takes each batch after production scored it, scores the sampled rows with the
candidate in a worker thread (off the scan's critical path; a bounded queue gives back-pressure) and
stores one `shadow_pairs` row per event plus one `shadow_batches` row of timings. Its verdicts are
never alerts. `nightjar.ops.shadow_report` turns the pairs into the report and the promotion gate.
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nightjar.errors import InputError, NightjarError
from nightjar.ops.stats import iso
from nightjar.ops.tables import SHADOW_SQL  # noqa: F401 (re-exported: the tables' definition)

TWO64 = 2**64


def check_fraction(fraction: float) -> float:
    """The fraction, when in (0, 1]; InputError (exit 2) otherwise."""
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not 0.0 < float(fraction) <= 1.0:
        raise InputError(f"--fraction must be in (0, 1]. Got {fraction!r}.")
    return float(fraction)


def key_hash(value: object) -> int:
    """blake2b-64 of the value's text, as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(str(value).encode("utf-8"), digest_size=8).digest(), "big")


def sample_mask(values: pd.Series | list[Any], fraction: float) -> np.ndarray:
    """True for the values whose hash is below `fraction * 2**64`; missing values are never sampled."""
    fraction = check_fraction(fraction)
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    present = series.notna().to_numpy() & (series.astype(str) != "").to_numpy()
    if fraction >= 1.0:
        return present
    cut = int(fraction * TWO64)
    hashes = np.fromiter((key_hash(v) < cut if ok else False for v, ok in zip(series, present, strict=True)),
                         dtype=bool, count=len(series))
    return hashes


def parse_candidate(spec: str, registry: Any = None) -> tuple[Any, str, str]:
    """(detector, `name@version`, kind) of `DETECTOR@VERSION`; an unknown model or version is InputError (exit 2)."""
    from nightjar.registry import load_model

    if "@" not in spec:
        raise InputError(f"--shadow needs DETECTOR@VERSION (e.g. dga@2 or dga@candidate). Got {spec!r}.")
    try:
        loaded = load_model(spec, registry)
    except NightjarError as exc:
        raise InputError(f"--shadow {spec}: {exc.message}") from None
    if getattr(loaded.detector, "aggregates", False):
        raise InputError(f"--shadow {spec}: shadow tests of aggregating detectors ({loaded.manifest.kind}) are not supported yet")
    return loaded.detector, loaded.ref, loaded.manifest.kind


@dataclass
class _Work:
    events: pd.DataFrame
    production: pd.DataFrame
    source: str | None
    production_seconds: float
    total: int
    missing_key: int
    production_ref: str
    job_id: int | None


@dataclass
class ShadowRunner:
    """Scores sampled events with the candidate and stores the pairs (see the module docstring)."""

    candidate: Any
    candidate_ref: str
    kind: str
    fraction: float
    key: str
    store_path: str | Path | None = None
    threaded: bool = True
    queue_size: int = 4
    job_id: int | None = None
    sampled: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_fraction(self.fraction)
        self._queue: queue.Queue[_Work | None] = queue.Queue(maxsize=self.queue_size)
        self._thread: threading.Thread | None = None
        self._db: sqlite3.Connection | None = None
        self._shared = False

    def submit(self, events: pd.DataFrame, production: pd.DataFrame, production_ref: str, source: str | None = None,
               production_seconds: float = 0.0, job_id: int | None = None) -> int:
        """Hand over one production-scored batch; returns how many of its events are shadowed.

        Production's verdicts are taken as they are; a candidate of the same model version is refused.
        """
        if production_ref == self.candidate_ref:
            if not any("production model itself" in e for e in self.errors):
                self.errors.append(f"the candidate {self.candidate_ref} is the production model itself: nothing shadowed")
            return 0
        from nightjar.scoring.ecs import ENTITY_COLUMNS

        column = self.key if self.key in events.columns else next((c for c in ENTITY_COLUMNS.get(self.kind, ()) if c in events.columns), None)
        keys = events[column] if column else pd.Series([None] * len(events), dtype=object)
        mask = sample_mask(keys.reset_index(drop=True), self.fraction)
        missing = int((~(keys.notna().to_numpy())).sum()) if column else len(events)
        chosen = np.flatnonzero(mask)
        work = _Work(events.iloc[chosen].reset_index(drop=True), production.iloc[chosen].reset_index(drop=True), source,
                     production_seconds, len(events), missing, production_ref, job_id)
        work.events["__sample_key"] = keys.reset_index(drop=True).iloc[chosen].astype(str).to_numpy() if column else None
        self.sampled += len(chosen)
        if not self.threaded:
            try:
                self._process(work)
            except Exception as exc:  # noqa: BLE001 (the candidate never breaks the production scan)
                self.errors.append(f"{type(exc).__name__}: {exc}")
        else:
            if self._thread is None:
                self._thread = threading.Thread(target=self._worker, name="nightjar-shadow", daemon=True)
                self._thread.start()
            self._queue.put(work)
        return len(chosen)

    def start(self, store: Any, job_id: int | None) -> None:
        """Scan hook: called once the store is open; the worker opens its own connection to the same file."""
        self.job_id = job_id
        self.store_path = store.path
        if str(store.path) == ":memory:":
            self.threaded, self._db, self._shared = False, store.db, True

    def scored(self, kind: str, model: str, events: pd.DataFrame | None, scored: pd.DataFrame, seconds: float,
               source: str | None, job_id: int | None = None) -> None:
        """Scan hook: shadow the production-scored batch when it is of the candidate's kind."""
        if kind == self.kind and events is not None:
            self.submit(events, scored, model, source, seconds, job_id if job_id is not None else self.job_id)

    def close(self) -> list[str]:
        """Wait for the worker to drain the queue; returns notes for the scan summary (and errors met)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._db is not None and not self._shared:
            self._db.close()
        self._db = None
        notes = [f"shadow {self.candidate_ref}: {self.sampled:,} events shadowed (fraction {self.fraction:g} by {self.key})"]
        return notes + [f"shadow {self.candidate_ref} failed on a batch: {e}" for e in self.errors[:5]]

    def _worker(self) -> None:
        while (work := self._queue.get()) is not None:
            try:
                self._process(work)
            except Exception as exc:  # noqa: BLE001 (the candidate never breaks the production scan)
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if self.store_path is None:
                raise NightjarError("ShadowRunner has no store: pass store_path or run it as a scan hook")
            self._db = sqlite3.connect(str(self.store_path), timeout=30, isolation_level=None, check_same_thread=False)
        return self._db

    def _process(self, work: _Work) -> None:
        from nightjar.scoring.ecs import entity_of, event_id
        from nightjar.scoring.run import score_frame

        events = work.events.drop(columns=["__sample_key"])
        started = time.perf_counter()
        scored = score_frame(self.candidate, events) if len(events) else None
        seconds = time.perf_counter() - started
        db, now = self._connect(), iso(datetime.now(UTC))
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute("INSERT INTO shadow_batches (job_id, detector, production, candidate, source, events, sampled, "
                             "missing_key, production_seconds, candidate_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (work.job_id, self.kind, work.production_ref, self.candidate_ref, work.source, work.total, len(events),
                              work.missing_key, work.production_seconds, seconds, now))
            batch_id = cur.lastrowid
            rows = []
            if scored is not None:
                name = work.production_ref.split("@", 1)[0]
                records = events.to_dict(orient="records")
                for i, record in enumerate(records):
                    ps, cs = work.production["score"].iloc[i], scored["score"].iloc[i]
                    rows.append((batch_id, self.kind, work.production_ref, self.candidate_ref, event_id(self.kind, name, record),
                                 work.events["__sample_key"].iloc[i], entity_of(self.kind, record), _text(record.get("host.name") or record.get("source.ip")),
                                 _text(record.get("@timestamp")), None if pd.isna(ps) else float(ps),
                                 int(bool(work.production["alert"].iloc[i])), None if pd.isna(cs) else float(cs),
                                 int(bool(scored["alert"].iloc[i])), now))
            db.executemany("INSERT OR IGNORE INTO shadow_pairs (batch_id, detector, production, candidate, alert_id, sample_key, "
                           "entity, host_name, timestamp, production_score, production_alert, candidate_score, candidate_alert, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    return str(value)


def shadow_runner(spec: str, fraction: float, key: str = "host.name", registry: Any = None, threaded: bool = True) -> ShadowRunner:
    """A runner for `run_scan(..., hooks=[runner])`: checks the fraction first, then loads the candidate.

    Example:
        >>> run_scan(["logs/"], hooks=[shadow_runner("dga@2", 0.1, key="host.name")])  # doctest: +SKIP
    """
    check_fraction(fraction)
    detector, ref, kind = parse_candidate(spec, registry)
    return ShadowRunner(detector, ref, kind, fraction, key, threaded=threaded)
