"""csv_writer gives the bytes pandas' to_csv gives, or hands the table back to pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.io import csv_writer
from nightjar.io.csv_writer import csv_chunks
from nightjar.io.writers import write_table

TRICKY = ["a", "b,c", 'q"x', "line\nbreak", "cr\rx", "", " sp ", "é漢", "-", 'a""', ",", '"']


def pandas_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")


def fast_bytes(frame: pd.DataFrame) -> bytes | None:
    pieces = csv_chunks(frame)
    return None if pieces is None else b"".join(bytes(p) for p in pieces)


def mixed(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.Series(pd.to_datetime(rng.integers(1.6e18, 1.7e18, n), utc=True))
    stamps = stamps.dt.floor("s").where(rng.random(n) < 0.5, stamps).where(rng.random(n) < 0.95, pd.NaT)
    stamps[: n // 2] = stamps[: n // 2].dt.floor("s")  # pandas picks the fraction digits per chunk of rows
    text = np.array(TRICKY * (n // len(TRICKY) + 1), dtype=object)[:n]
    frame = pd.DataFrame({
        "@timestamp": stamps, "us": stamps.astype("datetime64[us, UTC]"), "s": pd.array(text, dtype="string"),
        "o": text.copy(), "f": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 10.0 ** rng.integers(-8, 20, n)),
        "b": rng.random(n) < 0.5, "i": rng.integers(-5, 10**12, n), "u8": rng.integers(0, 10, n).astype(np.uint8),
        "I": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 5000, n)), dtype="Int64"),
        "f32": rng.random(n).astype(np.float32),
    })
    frame.loc[::7, "s"] = None
    frame.loc[::5, "o"] = None
    frame.loc[3::11, "o"] = np.nan
    special = [np.inf, -np.inf, 0.0, -0.0, 1e16][: max(n - 5, 0)]
    frame.loc[5:4 + len(special), "f"] = special
    return frame


@pytest.mark.parametrize("rows", [0, 1, 7, 25_000])
def test_same_bytes_as_pandas(rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_writer, "ROWS_PER_CHUNK", 4096)
    frame = mixed(rows)
    assert fast_bytes(frame) == pandas_bytes(frame)


@pytest.mark.parametrize("name, frame", [
    ("one string column with empties", pd.DataFrame({"s": pd.array(["a", None, "", "x,y"], dtype="string")})),
    ("one object column", pd.DataFrame({"o": ["", None, "b"]}, dtype=object)),
    ("objects all missing", pd.DataFrame({"o": pd.Series([None, np.nan, pd.NA], dtype=object), "x": 1})),
    ("header needs quotes", pd.DataFrame({"a,b": ["x"], 'q"': ["y"]})),
    ("python string storage", pd.DataFrame({"s": pd.array(["a", None], dtype="string[python]"), "x": [1, 2]})),
    ("utc midnights", pd.DataFrame({"t": pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC"), "x": 1})),
    ("other zone", pd.DataFrame({"t": pd.date_range("2024-01-01", periods=5, freq="ms", tz="Europe/Paris"), "x": 1})),
    ("before 1970, each unit", pd.DataFrame({u: pd.Series(pd.to_datetime(
        ["1960-03-01 12:00:00.123456789", "2024-01-01", None, "1969-12-31 23:59:59.999"], format="ISO8601", utc=True))
        .astype(f"datetime64[{u}, UTC]") for u in ("s", "ms", "us", "ns")})),
])
def test_edge_cases_same_bytes(name: str, frame: pd.DataFrame) -> None:
    assert fast_bytes(frame) == pandas_bytes(frame), name


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3, freq="D")}),  # no zone: left to pandas
    pd.DataFrame({"o": ["a", 1, None]}),
    pd.DataFrame({"c": pd.Categorical(["a", "b"])}),
    pd.DataFrame({0: ["a"]}),
])
def test_other_tables_go_to_pandas(frame: pd.DataFrame, tmp_path: Path) -> None:
    assert csv_chunks(frame) is None
    write_table(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == pandas_bytes(frame)


def test_write_table_file_and_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = mixed(300, seed=1)
    write_table(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == pandas_bytes(frame)
    write_table(frame, "-")
    assert capsys.readouterr().out.encode("utf-8") == pandas_bytes(frame)
