"""CSV bytes of a table, exactly as `DataFrame.to_csv(index=False, na_rep="", lineterminator="\\n")` writes them.

pandas formats every cell in Python and writes rows with the `csv` module (~2 s per 100k rows of 27
columns). Here each column is turned into Arrow strings with the same formatting pandas applies
(floats and integers through numpy's `astype(str)`, timestamps with a zone through pandas' own
formatter, once per distinct value), then quoted the way `csv.QUOTE_MINIMAL` does (a field holding
`,`, `"` or a newline is quoted, `"` doubled; an empty field alone on its row is `""`) and joined
with Arrow's string kernels. `csv_chunks` returns None for a table it does not handle (other
dtypes, objects that are not strings, non-string column names): the caller then uses pandas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ROWS_PER_CHUNK = 8192  # rows joined at a time (buffers of a few MB, reused)
PANDAS_CHUNK_CELLS = 100_000  # pandas' to_csv formats 100,000 cells at a time
_QUOTE, _NEWLINE, _COMMA, _NONE = (pa.scalar(t, type=pa.large_string()) for t in ('"', "\n", ",", ""))


def _strings(series: pd.Series, chunk: int) -> tuple[pa.Array, bool] | None:
    """The cells of one column as pandas writes them ("" for missing) and whether any may need quotes; None when not handled.

    `chunk`: the rows pandas formats together (a timestamp column's precision is chosen per chunk).
    """
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or dtype == object:
        if dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
            return None
        try:
            arr = pa.array(series.array if isinstance(dtype, pd.StringDtype) else series.to_numpy(), type=pa.large_string(),
                           from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        return arr, True
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = series.array
        parts = []
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            text = _utc_text(part)
            if text is None:
                codes, uniques = pd.factorize(part, use_na_sentinel=True)
                text = _take(np.asarray(uniques._format_native_types(na_rep=""), dtype=object), codes)
            parts.append(text)
        return (pa.concat_arrays(parts) if parts else pa.array([], type=pa.large_string())), False
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        values = series.to_numpy()
        # numpy's str of each distinct bit pattern (so -0.0 stays apart from 0.0); NaN is missing
        bits = values.view(f"u{values.itemsize}") if dtype.kind in "fiu" else values
        codes, first = np.unique(bits, return_index=True, return_inverse=True)[1:]
        text = values[codes].astype(str).astype(object)
        if dtype.kind == "f":
            text[np.isnan(values[codes])] = ""
        return _take(text, first.ravel()), False
    if isinstance(dtype, pd.core.arrays.integer.IntegerDtype):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return _take(np.asarray(uniques, dtype=np.int64).astype(str).astype(object), codes), False
    return None


def _utc_text(part: pd.api.extensions.ExtensionArray) -> pa.Array | None:
    """pandas' text for UTC timestamps formatted together, vectorised; None when not UTC or not sure.

    pandas writes `YYYY-MM-DD HH:MM:SS`, then 3, 6 or 9 fraction digits when some value of the chunk
    has milli-, micro- or nanoseconds, then `+00:00`. The result is checked against pandas itself on
    the chunk's first and last values and the one that sets the precision.
    """
    if str(part.tz) != "UTC" or not len(part):
        return None
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(part.unit)
    stamps = part.asi8
    known = ~np.asarray(part.isna())
    if per_second is None or not known.any():
        return None
    seconds, fraction = np.divmod(stamps, per_second)
    nanos = fraction * (10**9 // per_second)
    lo, hi = seconds[known].min(), seconds[known].max()
    if lo < -62135596800 + 86400 * 366 * 1000 or hi >= 253402300800:  # years 1000..9999 only (pandas does not pad)
        return None
    text = pa.array(np.datetime_as_string(seconds.astype("M8[s]"), unit="s"), type=pa.large_string())
    text = pc.replace_substring(text, "T", " ", max_replacements=1)
    digits = next((d for d, step in ((9, 1), (6, 1000), (3, 10**6)) if (nanos[known] % (step * 1000) != 0).any()), 0)
    if digits:
        part_digits = pc.utf8_lpad(pc.cast(pa.array(nanos // 10 ** (9 - digits)), pa.large_string()), digits, "0")
        text = pc.binary_join_element_wise(text, part_digits, pa.scalar(".", type=pa.large_string()))
    text = pc.binary_join_element_wise(text, pa.scalar("+00:00", type=pa.large_string()), _NONE)
    text = pc.if_else(pa.array(known), text, _NONE)
    where = np.flatnonzero(known)
    finest = where[np.argmax(nanos[where] % (10 ** (9 - digits + 3) if digits else 1) != 0)] if digits else where[0]
    sample = np.unique([where[0], where[-1], finest])
    if text.take(pa.array(sample)).to_pylist() != list(part[sample]._format_native_types(na_rep="")):
        return None
    return text


def _take(strings: np.ndarray, codes: np.ndarray) -> pa.Array:
    """`strings[codes]` as Arrow strings, "" where the code is -1."""
    arr = pa.array(np.append(strings, ""), type=pa.large_string())
    return arr.take(pa.array(np.where(codes < 0, len(strings), codes)))


def _needs_quotes(cells: pa.Array) -> np.ndarray | None:
    """Per cell: holds `,`, `"` or a newline (bytes that never occur inside a UTF-8 sequence); None when no cell does."""
    offsets = np.frombuffer(cells.buffers()[1], dtype=np.int64)[cells.offset:cells.offset + len(cells) + 1]
    data = cells.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return None
    body = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    hits = np.flatnonzero((body == 44) | (body == 34) | (body == 10))
    if not len(hits):
        return None
    needs = np.zeros(len(cells), dtype=bool)
    needs[np.searchsorted(offsets - offsets[0], hits, side="right") - 1] = True
    return needs


def _quoted(cells: pa.Array, maybe: bool, alone: bool) -> pa.Array:
    """Cells quoted as `csv.QUOTE_MINIMAL` quotes them; `maybe`: some may hold `,`, `"` or a newline; `alone`: one column."""
    needs = _needs_quotes(cells) if maybe else None
    if alone:
        empty = pc.equal(pc.binary_length(cells), 0).to_numpy(zero_copy_only=False)
        needs = empty if needs is None else needs | empty
    if needs is None or not needs.any():
        return cells
    some = cells.take(pa.array(np.flatnonzero(needs)))  # only those cells are rewritten
    wrapped = pc.binary_join_element_wise(_QUOTE, pc.replace_substring(some, '"', '""'), _QUOTE, _NONE)
    return pc.replace_with_mask(cells, pa.array(needs), wrapped)


def csv_chunks(frame: pd.DataFrame) -> Iterator[bytes | memoryview] | None:
    """UTF-8 CSV of `frame` (header, then rows) in pieces, or None when `frame` needs pandas' writer."""
    names = list(frame.columns)
    if not names or isinstance(frame.columns, pd.MultiIndex) or not all(isinstance(c, str) for c in names):
        return None
    if frame.columns.has_duplicates:
        return None
    columns = []
    chunk = max(PANDAS_CHUNK_CELLS // len(names), 1)
    for name in names:
        cells = _strings(frame[name], chunk)
        if cells is None:
            return None
        columns.append(cells)
    return _pieces(names, columns, len(frame))


def _filled(cells: pa.Array) -> pa.Array:
    """Missing cells as ""."""
    return pc.fill_null(cells, "") if cells.null_count else cells


def _pieces(names: list[str], columns: list[tuple[pa.Array, bool]], n: int) -> Iterator[bytes | memoryview]:
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(names)
    yield head.getvalue().encode("utf-8")
    table = pa.Table.from_arrays([c for c, _ in columns], names=[f"c{i}" for i in range(len(columns))])
    for batch in table.to_batches(max_chunksize=ROWS_PER_CHUNK):  # slices, no copies of the columns
        cells = [_quoted(_filled(batch.column(i)), maybe, len(columns) == 1) for i, (_, maybe) in enumerate(columns)]
        cells[-1] = pc.binary_join_element_wise(cells[-1], _NEWLINE, _NONE)
        rows = pc.binary_join_element_wise(*cells, _COMMA) if len(cells) > 1 else cells[0]
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
        yield memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]] if len(rows) else b""
