"""Writers: a table to .csv, .jsonl, .parquet, or "-" (CSV on stdout), chosen by the extension.

Missing values are written as empty CSV cells and JSON nulls, so a rejected record's empty score stays
empty. Unknown extensions are a usage error (InputError, exit code 2) raised before any work is done.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nightjar.errors import InputError
from nightjar.io.csv_writer import csv_chunks

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def output_format(out: str | Path) -> str:
    """"csv", "jsonl" or "parquet" for `out` ("-" is CSV on stdout); InputError otherwise."""
    if str(out) == "-":
        return "csv"
    fmt = FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise InputError(f"unknown output format {Path(out).suffix or '(no extension)'!r}: use .csv, .jsonl, .parquet or - for stdout", None)
    return fmt


def write_table(table: pd.DataFrame | pa.Table, out: str | Path) -> str:
    """Write `table` to `out` in the format its extension names; returns the format."""
    fmt = output_format(out)
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    if str(out) != "-":
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(frame, out)
    elif fmt == "jsonl":
        _write_jsonl(frame, Path(out))
    else:
        arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(arrow, out)
    return fmt


def _write_csv(frame: pd.DataFrame, out: str | Path) -> None:
    """What `frame.to_csv(out, index=False, na_rep="", lineterminator="\\n")` writes, through csv_writer when it can."""
    if str(out) == "-":
        pieces = csv_chunks(frame)
        if pieces is None:
            frame.to_csv(sys.stdout, index=False, na_rep="", lineterminator="\n")
        else:
            for piece in pieces:
                sys.stdout.write(bytes(piece).decode("utf-8"))
        sys.stdout.flush()
        return
    with open(out, "wb") as fh:
        _csv_to(frame, fh)


def _csv_to(frame: pd.DataFrame, fh: BinaryIO, header: bool = True) -> None:
    """`frame` as UTF-8 CSV (the header line only when `header`) to a binary file."""
    pieces = csv_chunks(frame)
    if pieces is None:
        fh.write(frame.to_csv(index=False, header=header, na_rep="", lineterminator="\n").encode("utf-8"))
        return
    if not header:
        next(pieces)  # the header line comes first
    for piece in pieces:
        fh.write(piece)


class TableSink:
    """The batches of one output table, written as they come where that keeps the output the same.

    A `.csv` file gets each batch as it is added, while every batch has the columns and dtypes of the
    first: the bytes are then those `write_table` gives for the concatenated table, and the writing
    overlaps the reading of what follows. Into a temporary file beside `out`, renamed by `close`, so a
    run that fails leaves no partial output. Otherwise (another format, stdout, batches whose columns or
    dtypes differ) `close(table)` writes the whole table at the end.
    """

    def __init__(self, out: str | Path) -> None:
        self.out = out
        self._streaming = output_format(out) == "csv" and str(out) != "-"
        self._dtypes: pd.Series | None = None
        self._part: Path | None = None
        self._fh: BinaryIO | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """Write `frame` now when the sink streams (see the class docstring)."""
        if not self._streaming:
            return
        if self._fh is None:
            out = Path(self.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            self._dtypes, self._part = frame.dtypes, out.with_name(f".{out.name}.{os.getpid()}.part")
            self._fh = open(self._part, "wb")  # noqa: SIM115  (closed by close or discard)
            _csv_to(frame, self._fh)
        elif frame.dtypes.equals(self._dtypes):
            _csv_to(frame, self._fh, header=False)
        else:  # the concatenated table would be typed differently: written whole at the end
            self.discard()
            self._streaming = False

    def close(self, table: pd.DataFrame | pa.Table) -> None:
        """Finish `out`: the streamed file put in place, or `table` (every batch, concatenated) written whole."""
        if self._fh is not None and self._part is not None:
            self._fh.close()
            self._fh = None
            os.replace(self._part, self.out)
        else:
            write_table(table, self.out)

    def discard(self) -> None:
        """Drop what was streamed (on an error, or when batches stop matching)."""
        if self._fh is not None and self._part is not None:
            self._fh.close()
            self._fh = None
            self._part.unlink(missing_ok=True)


def _write_jsonl(frame: pd.DataFrame, out: Path) -> None:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    with open(out, "wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec, default=str, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
