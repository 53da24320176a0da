"""The alert store: alerts, analyst feedback and job runs in SQLite (WAL mode).

- `alerts`: one row per alert, keyed by the stable `event.id` (see nightjar.scoring.ecs); inserts are
  `INSERT OR IGNORE`, so re-scanning an input never duplicates an alert (the first sighting is kept).
  The columns hold what analysts filter on; `document` holds the full ECS document as JSON.
- `feedback`: analyst labels (`tp`, `fp`, `benign`) with a note, who and when; append-only, the
  latest label of an alert wins. It feeds monitoring and retraining.
- `job_runs`: every scan (inputs, counts as JSON, started/finished).
- `schema_migrations`: the applied schema versions. A later feature (shadow pairs, monitoring) adds
  a migration to `MIGRATIONS`; opening a store applies the ones it lacks, in order, in a transaction.

Default location: $NIGHTJAR_STORE, else $NIGHTJAR_HOME/alerts.db, else
$XDG_DATA_HOME (~/.local/share)/nightjar/alerts.db.

Example:
    >>> with AlertStore(":memory:") as store:  # doctest: +SKIP
    ...     store.add_alerts([doc]); store.label(doc["event"]["id"], "fp", note="test host")
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import orjson

from nightjar.errors import InputError, Location
from nightjar.ops.tables import FEATURE_STATS_SQL, SCORE_STATS_SQL, SHADOW_SQL
from nightjar.scoring.ecs import flat_get

LABELS = ("tp", "fp", "benign")

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "alerts, feedback and job runs", """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,              -- event.id: stable, see nightjar.scoring.ecs
            detector TEXT NOT NULL,
            model TEXT NOT NULL,              -- name@version that raised it first
            timestamp TEXT,                   -- @timestamp of the event (ISO 8601 UTC), when known
            host_name TEXT,
            user_name TEXT,
            entity TEXT,                      -- domain, URL, command line, or src -> dst:port
            score REAL NOT NULL,
            reasons TEXT,
            technique_id TEXT,
            rule_name TEXT,
            source_file TEXT,
            job_id INTEGER REFERENCES job_runs(id),
            created_at TEXT NOT NULL,
            document TEXT NOT NULL            -- the full ECS document, JSON
        );
        CREATE INDEX alerts_detector_time ON alerts(detector, timestamp);
        CREATE INDEX alerts_host ON alerts(host_name);
        CREATE INDEX alerts_score ON alerts(score);
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            label TEXT NOT NULL CHECK (label IN ('tp', 'fp', 'benign')),
            note TEXT,
            analyst TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX feedback_alert ON feedback(alert_id);
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,               -- 'scan'
            inputs TEXT NOT NULL,             -- JSON list of paths
            detectors TEXT,                   -- JSON {kind: model ref}
            counts TEXT,                      -- JSON summary, when finished
            status TEXT NOT NULL,             -- running | finished | failed
            started_at TEXT NOT NULL,
            finished_at TEXT
        );
    """),
    (2, "score statistics per batch and model (monitoring; nightjar.ops.tables)", SCORE_STATS_SQL),
    (3, "shadow batches and pairs (shadow tests; nightjar.ops.tables)", SHADOW_SQL),
    (4, "monitoring-feature histograms per batch (feature drift; nightjar.ops.tables)", FEATURE_STATS_SQL),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def default_store_path() -> Path:
    """$NIGHTJAR_STORE, else $NIGHTJAR_HOME/alerts.db, else $XDG_DATA_HOME (~/.local/share)/nightjar/alerts.db."""
    if explicit := os.environ.get("NIGHTJAR_STORE"):
        return Path(explicit).expanduser()
    if home := os.environ.get("NIGHTJAR_HOME"):
        return Path(home).expanduser() / "alerts.db"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "nightjar" / "alerts.db"


def fixed_time(value: str | None) -> str | None:
    """An ISO 8601 time as fixed-width UTC with microseconds (`2024-04-19T10:00:00.000000Z`), so
    times compare correctly as strings; naive times are UTC; None for missing or unparsable."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The current time, ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AlertRow:
    """One alert as listed: the filterable columns, the latest label, and the document when asked."""

    id: str
    detector: str
    model: str
    timestamp: str | None
    host_name: str | None
    user_name: str | None
    entity: str | None
    score: float
    reasons: str | None
    technique_id: str | None
    rule_name: str | None
    source_file: str | None
    created_at: str
    label: str | None = None
    document: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (`document` only when loaded)."""
        data = {k: v for k, v in self.__dict__.items() if k != "document"}
        if self.document is not None:
            data["document"] = self.document
        return data


class AlertStore:
    """A SQLite alert store (see the module docstring); a context manager that closes on exit."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        if isinstance(self.path, Path):
            if not self.path.exists() and not create:
                raise InputError("no alert store here (run `nightjar scan` first or pass --store)", Location(str(self.path)))
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a usable alert store: {exc}", Location(str(path))) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # --- schema ----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                        "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {v for (v,) in self.db.execute("SELECT version FROM schema_migrations")}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if not self.db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    for statement in sql.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                    self.db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, description, now()))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The highest applied migration."""
        return int(self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0)

    @property
    def journal_mode(self) -> str:
        """`wal` for a file store."""
        return str(self.db.execute("PRAGMA journal_mode").fetchone()[0])

    # --- alerts ----------------------------------------------------------------------------------
    def add_alerts(self, docs: Iterable[dict[str, Any]], job_id: int | None = None) -> int:
        """Insert ECS alert documents (INSERT OR IGNORE on event.id); returns how many were new."""
        rows = [_row(doc, job_id) for doc in docs]
        if not rows:
            return 0
        before = self.db.total_changes
        self.db.execute("BEGIN")
        try:
            self.db.executemany("INSERT OR IGNORE INTO alerts (id, detector, model, timestamp, host_name, user_name, entity, "
                                "score, reasons, technique_id, rule_name, source_file, job_id, created_at, document) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.db.total_changes - before

    def count(self, detector: str | None = None) -> int:
        """The number of alerts (of one detector)."""
        if detector is None:
            return int(self.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM alerts WHERE detector = ?", (detector,)).fetchone()[0])

    def list_alerts(self, detector: str | None = None, host: str | None = None, since: str | None = None,
             until: str | None = None, min_score: float | None = None, label: str | None = None,
             limit: int | None = 100) -> list[AlertRow]:
        """Alerts, highest score first, filtered; `since`/`until` are ISO 8601 times on @timestamp (UTC when naive)."""
        where, args = [], []
        for clause, value in (("a.detector = ?", detector), ("a.host_name = ?", host), ("a.timestamp >= ?", _bound(since)),
                              ("a.timestamp < ?", _bound(until)), ("a.score >= ?", min_score)):
            if value is not None:
                where.append(clause)
                args.append(value)
        if label is not None:
            where.append("(" + _LATEST + ") = ?")
            args.append(label)
        sql = f"SELECT {_COLUMNS}, ({_LATEST}) FROM alerts a"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.score DESC, a.timestamp, a.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [AlertRow(*r) for r in self.db.execute(sql, args)]

    def get(self, alert_id: str) -> AlertRow:
        """One alert with its document; an unambiguous id prefix is enough. InputError when unknown."""
        rows = self.db.execute(f"SELECT {_COLUMNS}, ({_LATEST}), a.document FROM alerts a WHERE a.id LIKE ? LIMIT 2",
                               (alert_id.replace("%", "").replace("_", "") + "%",)).fetchall()
        if not rows or not alert_id:
            raise InputError(f"no alert with id {alert_id!r} in {self.path}")
        if len(rows) > 1:
            raise InputError(f"alert id {alert_id!r} is ambiguous in {self.path}: give more digits")
        *cols, document = rows[0]
        return AlertRow(*cols, document=orjson.loads(document))

    # --- feedback --------------------------------------------------------------------------------
    def label(self, alert_id: str, label: str, note: str | None = None, analyst: str | None = None) -> dict[str, Any]:
        """Record an analyst's label (`tp`, `fp` or `benign`) for an alert; returns the feedback row."""
        if label not in LABELS:
            raise InputError(f"label must be one of {', '.join(LABELS)}. Got {label!r}.")
        full_id = self.get(alert_id).id
        row = {"alert_id": full_id, "label": label, "note": note, "analyst": analyst, "created_at": now()}
        self.db.execute("INSERT INTO feedback (alert_id, label, note, analyst, created_at) VALUES (?, ?, ?, ?, ?)",
                        tuple(row.values()))
        return row

    def feedback(self, alert_id: str | None = None) -> list[dict[str, Any]]:
        """Feedback rows, oldest first (of one alert, or all)."""
        sql = "SELECT alert_id, label, note, analyst, created_at FROM feedback"
        rows = self.db.execute(sql + (" WHERE alert_id = ?" if alert_id else "") + " ORDER BY id", (alert_id,) if alert_id else ())
        return [dict(zip(("alert_id", "label", "note", "analyst", "created_at"), r)) for r in rows]

    # --- job runs --------------------------------------------------------------------------------
    def start_job(self, kind: str, inputs: list[str], detectors: dict[str, str]) -> int:
        """Record a job as running; returns its id."""
        cur = self.db.execute("INSERT INTO job_runs (kind, inputs, detectors, status, started_at) VALUES (?, ?, ?, 'running', ?)",
                              (kind, orjson.dumps(inputs).decode(), orjson.dumps(detectors).decode(), now()))
        return int(cur.lastrowid or 0)

    def finish_job(self, job_id: int, counts: dict[str, Any], status: str = "finished") -> None:
        """Record a job's counts and end."""
        self.db.execute("UPDATE job_runs SET counts = ?, status = ?, finished_at = ? WHERE id = ?",
                        (orjson.dumps(counts, default=str).decode(), status, now(), job_id))

    def jobs(self) -> list[dict[str, Any]]:
        """Every job run, oldest first."""
        cols = ("id", "kind", "inputs", "detectors", "counts", "status", "started_at", "finished_at")
        rows = self.db.execute(f"SELECT {', '.join(cols)} FROM job_runs ORDER BY id")
        out = []
        for r in rows:
            job = dict(zip(cols, r))
            for key in ("inputs", "detectors", "counts"):
                job[key] = orjson.loads(job[key]) if job[key] else None
            out.append(job)
        return out


_COLUMNS = ("a.id, a.detector, a.model, a.timestamp, a.host_name, a.user_name, a.entity, a.score, a.reasons, "
            "a.technique_id, a.rule_name, a.source_file, a.created_at")
_LATEST = "SELECT f.label FROM feedback f WHERE f.alert_id = a.id ORDER BY f.id DESC LIMIT 1"


def _bound(value: str | None) -> str | None:
    if value is None:
        return None
    fixed = fixed_time(value)
    if fixed is None:
        raise InputError(f"not an ISO 8601 time: {value!r}")
    return fixed


def _row(doc: dict[str, Any], job_id: int | None) -> tuple[Any, ...]:
    """The alerts-table row of an ECS alert document."""
    detector = next(k for k, v in doc["nightjar"].items() if isinstance(v, dict) and "score" in v)
    ours = doc["nightjar"][detector]
    techniques = flat_get(doc, "threat.technique.id") or []
    return (flat_get(doc, "event.id"), detector, ours.get("model", ""), fixed_time(doc.get("@timestamp")), flat_get(doc, "host.name"),
            flat_get(doc, "user.name"), ours.get("entity"), float(ours["score"]), ours.get("reasons"),
            ",".join(techniques) or None, flat_get(doc, "rule.name"), flat_get(doc, "nightjar.source.file"), job_id, now(),
            orjson.dumps(doc, default=str).decode())
