"""Profile datasets: what is in each event kind's table, how dirty it is, and whether a label leaks.

`profile_paths()` reads inputs with `nightjar.io.Reading` batch by batch and folds each batch into one
accumulator per event kind, so memory stays bounded: running counts per column (see `columns.py`), a
64-bit hash per row for duplicates, counts per hour, and, with a label, a uniform sample of at most
`SAMPLE_ROWS` rows for the leakage check (see `leakage.py`).

Example:
    >>> from nightjar.data import profile_paths
    >>> profile = profile_paths(["conn.log"])  # doctest: +SKIP
    >>> profile.as_dict()["rows"]  # doctest: +SKIP
    2998
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.data.columns import ColumnStats, row_hashes, sorted_unique, text_values
from nightjar.data.leakage import find_leaks
from nightjar.io import Batch, ReadReport, Reading
from nightjar.io.report import totals
from nightjar.schema import TIMESTAMP

# Fields whose repetition means a repeated event even when other columns (time, ids) differ.
KEY_FIELDS: tuple[tuple[str, ...], ...] = (
    ("host.name", "process.command_line"),
    ("process.command_line",),
    ("dns.question.name",),
    ("domain",),
    ("url",),
    ("url.full",),
)
SAMPLE_ROWS = 100_000
MAX_GROUPS = 200


@dataclass
class KindProfile:
    """The profile of one event kind's table."""

    kind: str
    rows: int
    columns: list[dict[str, Any]]
    duplicates: dict[str, Any]
    time: dict[str, Any] | None = None
    labels: dict[str, Any] | None = None
    leakage: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class Profile:
    """The profile of everything read from `paths`, one `KindProfile` per event kind."""

    paths: list[str]
    kinds: dict[str, KindProfile]
    reports: list[ReadReport]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    label: str | None = None
    group: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows profiled, over every kind."""
        return sum(k.rows for k in self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: totals, every column (with its kind), each kind in full, and the read accounting."""
        read = totals(self.reports)
        return {
            "paths": self.paths,
            "rows": self.rows,
            "read": read["read"],
            "parsed": read["parsed"],
            "rejected": read["rejected"],
            "columns": [{"kind": k.kind, **c} for k in self.kinds.values() for c in k.columns],
            "kinds": {name: k.as_dict() for name, k in self.kinds.items()},
            "label": self.label,
            "group": self.group,
            "sources": [r.as_dict() for r in self.reports],
            "skipped": [{"source": s, "reason": why} for s, why in self.skipped],
            "warnings": list(self.warnings),
        }


def profile_paths(paths: list[str | Path], label: str | None = None, group: str | None = None,
                  show_progress: bool = False) -> Profile:
    """Read `paths` (files, folders, archives; any format the readers sniff) and profile each event kind.

    Raises InputError when a path is missing or a named file has an unknown format.
    """
    reading = Reading(list(paths), show_progress=show_progress)
    kinds = profile_batches(reading, label=label, group=group)
    profile = Profile([str(p) for p in paths], kinds, reading.reports, list(reading.skipped), label, group)
    for column in (c for c in (label, group) if c):
        if kinds and not any(column in {c["name"] for c in k.columns} for k in kinds.values()):
            profile.warnings.append(f"column {column!r} is in none of the tables")
    return profile


def profile_batches(batches: Iterable[Batch], label: str | None = None, group: str | None = None) -> dict[str, KindProfile]:
    """Fold batches into one profile per event kind (in order of first appearance)."""
    accumulators: dict[str, _KindAccumulator] = {}
    for batch in batches:
        if batch.table.num_rows:
            accumulators.setdefault(batch.kind, _KindAccumulator(batch.kind, label, group)).update(batch.table)
    return {kind: acc.result() for kind, acc in accumulators.items()}


class _KindAccumulator:
    """Running state for one event kind."""

    def __init__(self, kind: str, label: str | None, group: str | None, seed: int = 0) -> None:
        self.kind, self.label, self.group = kind, label, group
        self.rows = 0
        self.columns: dict[str, ColumnStats] = {}
        self.hashes: list[np.ndarray] = []
        self.key_hashes: dict[tuple[str, ...], list[np.ndarray]] = {}
        self.hours: Counter[Any] = Counter()
        self.label_counts: Counter[tuple[str, str]] = Counter()
        self.sample: pd.DataFrame | None = None
        self.rng = np.random.default_rng(seed)

    def update(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        for name in table.column_names:
            self.columns.setdefault(name, ColumnStats(name)).update(table.column(name))
        self.hashes.append(row_hashes(table))
        for keys in KEY_FIELDS:
            if all(k in table.column_names for k in keys):
                present = _all_present(table, keys)
                self.key_hashes.setdefault(keys, []).append(row_hashes(table.filter(present), list(keys)))
        if TIMESTAMP in table.column_names:
            self.hours.update(_hour_counts(table.column(TIMESTAMP)))
        if self.label and self.label in table.column_names:
            self._update_labels(table)

    def _update_labels(self, table: pa.Table) -> None:
        assert self.label is not None
        labels = _as_text(table.column(self.label))
        groups = _as_text(table.column(self.group)) if self.group and self.group in table.column_names else [""] * len(labels)
        self.label_counts.update(zip(groups, labels, strict=True))
        frame = pa.table({n: text_values(table.column(n)) for n in table.column_names}).to_pandas()
        frame["__key"] = self.rng.random(len(frame))
        merged = frame if self.sample is None else pd.concat([self.sample, frame], ignore_index=True)
        self.sample = merged.nsmallest(SAMPLE_ROWS, "__key") if len(merged) > SAMPLE_ROWS else merged

    def result(self) -> KindProfile:
        columns = [stats.result(self.rows) for stats in self.columns.values()]
        profile = KindProfile(self.kind, self.rows, columns, self._duplicates(), self._time())
        if self.label:
            profile.labels = self._labels()
            if self.sample is not None:
                sample = self.sample.drop(columns="__key").sort_index()
                profile.leakage = [leak.as_dict() for leak in find_leaks(sample, self.label, self.group)]
        return profile

    def _duplicates(self) -> dict[str, Any]:
        exact = _duplicate_count(self.hashes)
        keys = []
        for fields, parts in self.key_hashes.items():
            n = sum(len(p) for p in parts)
            dups = _duplicate_count(parts)
            keys.append({"fields": list(fields), "rows": n, "duplicates": dups, "share": dups / n if n else 0.0})
        return {"exact": exact, "exact_share": exact / self.rows if self.rows else 0.0, "keys": keys}

    def _time(self) -> dict[str, Any] | None:
        if not self.hours:
            return None
        hours = sorted(self.hours.items())
        stats = self.columns[TIMESTAMP].result(self.rows)
        return {"first": stats["min"] or hours[0][0].isoformat() + "Z",
                "last": stats["max"] or hours[-1][0].isoformat() + "Z",
                "hours": len(hours), "per_hour": [[h.isoformat() + "Z", n] for h, n in hours]}

    def _labels(self) -> dict[str, Any]:
        overall: Counter[str] = Counter()
        by_group: dict[str, Counter[str]] = {}
        for (g, y), n in self.label_counts.items():
            overall[y] += n
            by_group.setdefault(g, Counter())[y] += n
        groups = sorted(by_group.items(), key=lambda kv: -sum(kv[1].values()))
        return {
            "column": self.label,
            "found": bool(self.label_counts),
            "counts": dict(overall.most_common()),
            "unlabelled": self.rows - sum(overall.values()),
            "group": self.group,
            "groups": {g: dict(c.most_common()) for g, c in groups[:MAX_GROUPS]} if self.group else {},
            "groups_total": len(by_group) if self.group else 0,
        }


def _as_text(column: pa.ChunkedArray) -> list[str]:
    values = text_values(column)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return ["<missing>" if v is None else v for v in values.to_pylist()]


def _all_present(table: pa.Table, keys: tuple[str, ...]) -> pa.Array:
    mask = pa.array(np.ones(table.num_rows, dtype=bool))
    for k in keys:
        column = table.column(k)
        present = pc.is_valid(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            present = pc.and_(present, pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(column), ""), False))
        mask = pc.and_(mask, present)
    return mask


def _duplicate_count(parts: list[np.ndarray]) -> int:
    if not parts:
        return 0
    hashes = np.concatenate(parts)
    return int(len(hashes) - len(sorted_unique(hashes)))


def _hour_counts(column: pa.ChunkedArray) -> dict[Any, int]:
    """Events per hour (UTC) from a timestamp column (text timestamps parsed, unparseable ignored)."""
    if not pa.types.is_timestamp(column.type):
        parsed = pd.to_datetime(pd.Series(column.to_pylist(), dtype=object), utc=True, errors="coerce", format="ISO8601")
        column = pa.chunked_array([pa.array(parsed, pa.timestamp("us", tz="UTC"))])
    hours = pc.floor_temporal(column.drop_null(), unit="hour")
    counts = pc.value_counts(hours)
    keys = [_naive_utc(h) for h in counts.field("values").to_pylist()]
    return dict(zip(keys, counts.field("counts").to_pylist(), strict=True))


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
