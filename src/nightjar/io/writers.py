"""Writers: a table to .csv, .jsonl, .parquet, or "-" (CSV on stdout), chosen by the extension.

Missing values are written as empty CSV cells and JSON nulls, so a rejected record's empty score stays
empty. Unknown extensions are a usage error (InputError, exit code 2) raised before any work is done.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    pieces = csv_chunks(frame)
    if pieces is None:
        if str(out) == "-":
            frame.to_csv(sys.stdout, index=False, na_rep="", lineterminator="\n")
            sys.stdout.flush()
        else:
            frame.to_csv(out, index=False, na_rep="", lineterminator="\n")
        return
    if str(out) == "-":
        for piece in pieces:
            sys.stdout.write(bytes(piece).decode("utf-8"))
        sys.stdout.flush()
        return
    with open(out, "wb") as fh:
        for piece in pieces:
            fh.write(piece)


def _write_jsonl(frame: pd.DataFrame, out: Path) -> None:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    with open(out, "wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec, default=str, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
