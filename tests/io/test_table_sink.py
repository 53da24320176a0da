"""TableSink: a CSV written batch by batch is byte for byte what write_table gives for the whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.io.writers import TableSink, write_table


def _frames() -> list[pd.DataFrame]:
    """Batches with quoting, missing values, bools, nullable ints, floats and UTC times."""
    parts = []
    for k in range(3):
        n = 4 + k
        parts.append(pd.DataFrame({
            "@timestamp": pd.date_range("2026-01-01", periods=n, freq="s", tz="UTC") + pd.Timedelta(hours=k),
            "process.command_line": [f'cmd /c "echo {i}, x"' if i % 2 else None for i in range(n)],
            "process.pid": pd.array([i if i % 3 else None for i in range(n)], dtype="Int64"),
            "score": np.where(np.arange(n) % 4 == 0, np.nan, np.linspace(0.1, 0.999, n)),
            "alert": np.arange(n) % 2 == 0,
        }))
    return parts


def _whole(tmp_path: Path, frames: list[pd.DataFrame]) -> bytes:
    write_table(pd.concat(frames, ignore_index=True), tmp_path / "whole.csv")
    return (tmp_path / "whole.csv").read_bytes()


def test_streamed_csv_is_the_whole_tables_csv(tmp_path: Path) -> None:
    frames, out = _frames(), tmp_path / "out.csv"
    sink = TableSink(out)
    sink.add(frames[0])
    assert not out.exists() and len(list(tmp_path.glob(".out.csv.*.part"))) == 1  # written beside, not in place yet
    for frame in frames[1:]:
        sink.add(frame)
    sink.close(pd.concat(frames, ignore_index=True))
    assert out.read_bytes() == _whole(tmp_path, frames)
    assert not list(tmp_path.glob("*.part"))


def test_batches_typed_differently_are_written_whole(tmp_path: Path) -> None:
    frames, out = _frames(), tmp_path / "out.csv"
    frames[2]["process.pid"] = frames[2]["process.pid"].astype(float)  # concat would make the column float
    sink = TableSink(out)
    for frame in frames:
        sink.add(frame)
    sink.close(pd.concat(frames, ignore_index=True))
    assert out.read_bytes() == _whole(tmp_path, frames)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet"])
def test_other_formats_are_written_at_close(tmp_path: Path, name: str) -> None:
    frames, out = _frames(), tmp_path / name
    sink = TableSink(out)
    for frame in frames:
        sink.add(frame)
    assert not out.exists()
    sink.close(pd.concat(frames, ignore_index=True))
    assert out.exists()


def test_discard_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("an earlier run\n")
    sink = TableSink(out)
    sink.add(_frames()[0])
    sink.discard()
    assert out.read_text() == "an earlier run\n" and not list(tmp_path.glob("*.part"))


def test_batch_frames_keep_integer_columns_integer() -> None:
    """A batch with a missing pid and one without give the same dtype (pandas would make one float64, one int64)."""
    import pyarrow as pa

    from nightjar.io.base import Batch

    full = Batch(pa.table({"process.pid": pa.array([1, 2], pa.int64())}), "process", "a").frame()
    holed = Batch(pa.table({"process.pid": pa.array([1, None], pa.int64())}), "process", "a").frame()
    assert full.dtypes.equals(holed.dtypes) and str(full["process.pid"].dtype) == "Int64"
    assert pd.concat([full, holed])["process.pid"].tolist()[:3] == [1, 2, 1]
