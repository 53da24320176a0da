"""Per-column statistics computed batch by batch, in bounded memory, and row hashes for duplicates.

`ColumnStats.update(array)` folds one Arrow batch into running counts: types seen, missing values
(null, NaN or blank text), min/max/mean for numbers and times, and value counts. Value counts are exact
until a column has more than `max_tracked` distinct values; after that only the most frequent are kept
(their counts become lower bounds, and `exact` says so) and the number of distinct values is estimated
from a k-minimum-values sketch of value hashes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MAX_TRACKED = 20_000
TOP_N = 5
NEAR_CONSTANT = 0.99
SKETCH = 2048


def text_values(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Lists and structs as strings (lists joined with ','), so they can be counted and hashed."""
    t = array.type
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t) or pa.types.is_map(t):
        return pa.array([None if v is None else _join(v) for v in array.to_pylist()], pa.string())
    if pa.types.is_dictionary(t):
        return array.cast(t.value_type)
    return array


def _join(value: Any) -> str:
    if isinstance(value, list):
        return ",".join("" if v is None else str(v) for v in value)
    return str(value)


@dataclass
class ColumnStats:
    """Running statistics of one column of one event kind."""

    name: str
    max_tracked: int = MAX_TRACKED
    types: set[str] = field(default_factory=set)
    present: int = 0  # rows in batches that had this column
    nulls: int = 0
    blanks: int = 0
    counts: Counter[Any] = field(default_factory=Counter)
    exact: bool = True
    minimum: Any = None
    maximum: Any = None
    total: float = 0.0
    numeric_n: int = 0
    smallest: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))

    def update(self, array: pa.Array | pa.ChunkedArray) -> None:
        """Fold one batch of values in."""
        self.types.add(str(array.type))
        self.present += len(array)
        array = text_values(array)
        t = array.type
        valid = pc.is_valid(array)
        if pa.types.is_floating(t):
            valid = pc.and_(valid, pc.invert(pc.is_nan(array)))
        self.nulls += len(array) - int(pc.sum(valid).as_py() or 0)
        if pa.types.is_string(t) or pa.types.is_large_string(t):  # blank text is missing, not a value
            blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), False)
            self.blanks += int(pc.sum(blank).as_py() or 0)
            valid = pc.and_(valid, pc.invert(blank))
        values = pc.filter(array, valid)
        if len(values) == 0:
            return
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t):
            mm = pc.min_max(values)
            lo, hi = mm["min"].as_py(), mm["max"].as_py()
            self.minimum = lo if self.minimum is None else min(self.minimum, lo)
            self.maximum = hi if self.maximum is None else max(self.maximum, hi)
            if not pa.types.is_temporal(t):
                self.total += float(pc.sum(values).as_py())
                self.numeric_n += len(values)
        if pa.types.is_timestamp(t):
            return  # counting distinct instants says nothing useful
        vc = pc.value_counts(values)
        distinct = vc.field("values")
        self.counts.update(dict(zip(distinct.to_pylist(), vc.field("counts").to_pylist(), strict=True)))
        self._sketch(distinct)
        if len(self.counts) > self.max_tracked:
            self.exact = False
            self.counts = Counter(dict(self.counts.most_common(self.max_tracked // 2)))

    def _sketch(self, distinct: pa.Array) -> None:
        """Keep the `SKETCH` smallest value hashes (a k-minimum-values sketch of the distinct count)."""
        values = distinct.to_numpy(zero_copy_only=False)
        hashed = pd.util.hash_array(values.astype(object) if values.dtype.kind in "OUSb" else values, categorize=False)
        self.smallest = sorted_unique(np.concatenate([self.smallest, hashed]))[:SKETCH]

    def distinct(self) -> int:
        """Distinct values: exact while every value is tracked, else estimated from the sketch (~2 % error)."""
        if self.exact or len(self.smallest) < SKETCH:
            return len(self.counts) if self.exact else len(self.smallest)
        return int((SKETCH - 1) / (float(self.smallest[-1]) / 2.0**64))

    def result(self, rows: int) -> dict[str, Any]:
        """The column's profile in a table of `rows` rows (rows of batches without it count as missing)."""
        absent = rows - self.present
        missing = self.nulls + self.blanks + absent
        top = self.counts.most_common(TOP_N)
        timestamps = any(t.startswith("timestamp") for t in self.types)
        top_count = max([top[0][1] if top else 0, missing])
        top_share = top_count / rows if rows and not timestamps else None
        distinct = None if timestamps else self.distinct()
        return {
            "name": self.name,
            "type": " | ".join(sorted(self.types)),
            "missing": missing,
            "missing_share": missing / rows if rows else 0.0,
            "null": self.nulls + absent,
            "blank": self.blanks,
            "distinct": distinct,
            "distinct_exact": self.exact,
            "top": [{"value": _jsonable(v), "count": c} for v, c in top],
            "top_share": top_share,
            "constant": bool(rows) and distinct is not None and (distinct + (missing > 0)) <= 1,
            "near_constant": top_share is not None and top_share >= NEAR_CONSTANT and (distinct or 0) + (missing > 0) > 1,
            "min": _jsonable(self.minimum),
            "max": _jsonable(self.maximum),
            "mean": self.total / self.numeric_n if self.numeric_n else None,
        }


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique's hash path is several times slower on uint64)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def row_hashes(table: pa.Table, columns: list[str] | None = None) -> np.ndarray:
    """One uint64 per row from the named (default: all) columns; a null and an absent column hash alike.

    Each non-null cell contributes hash(column name, value); contributions are summed (mod 2**64), so
    column order does not matter and batches with different schemas hash the same rows equally.
    """
    names = sorted(table.column_names if columns is None else [c for c in columns if c in table.column_names])
    total = np.zeros(table.num_rows, dtype=np.uint64)
    for name in names:
        column = text_values(table.column(name))
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        values = column.to_numpy(zero_copy_only=False)
        mask = pd.isna(values)
        keyed = np.where(mask, "", values).astype(object)
        hashed = pd.util.hash_array(keyed, hash_key=_hash_key(name), categorize=False)
        total += np.where(mask, np.uint64(0), hashed)
    return total


def _hash_key(name: str) -> str:
    """A 16-character hash key derived from the column name (so equal values in two columns differ)."""
    digest = pd.util.hash_array(np.array([name], dtype=object))[0]
    return f"{int(digest):016x}"[:16]
