"""Zeek reader throughput on one core: rotated gz conn logs, one large plain TSV, and the same as JSON.

Run: `python bench/zeek_reader.py` (needs ../shared/data; the large files are built in a temp folder).
Each case is run `REPEATS` times after one warm-up read; the best run is reported (the machine is shared,
so the median and the rows per CPU-second are printed too). Peak memory is the Arrow memory pool's peak plus the process's peak RSS.
"""

from __future__ import annotations

import gzip
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pyarrow as pa

from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_json import json_batches
from nightjar.io.zeek_tsv import tsv_batches

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))
RITA = DATA / "beacon" / "rita_missing_host"
REPEATS = 5
COPIES = 10  # the large plain file is the 72 hourly conn logs concatenated this many times (~1.06M rows)


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _read(files: list[Path], reader) -> int:  # type: ignore[no-untyped-def]
    rows = 0
    for path in files:
        report = ReadReport(str(path))
        for batch in reader(Source(path), report, 65536):
            rows += batch.table.num_rows
        assert report.balanced and report.rejected == 0, report.as_dict()
    return rows


def _measure(case: str, files: list[Path], reader) -> dict[str, object]:  # type: ignore[no-untyped-def]
    _read(files[:1], reader)  # warm-up: imports, compute kernels
    pool = pa.default_memory_pool()
    seconds, cpu_seconds = [], []
    rows = 0
    for _ in range(REPEATS):
        start, cpu_start = time.perf_counter(), time.process_time()
        rows = _read(files, reader)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    best = min(seconds)
    return {
        "case": case,
        "rows": rows,
        "seconds": round(best, 4),
        "rows_per_s": round(rows / best),
        "median_rows_per_s": round(rows / statistics.median(seconds)),
        "rows_per_cpu_s": round(rows / min(cpu_seconds)),  # what one core does when it is not shared
        "arrow_peak_mb": round(pool.max_memory() / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _big_tsv(folder: Path, gz_files: list[Path]) -> Path:
    """One plain conn TSV: the header of the first file, then every record COPIES times."""
    path = folder / "conn.log"
    with path.open("wb") as out:
        with gzip.open(gz_files[0]) as first:
            out.writelines(line for line in first if line.startswith(b"#") and not line.startswith(b"#close"))
        for _ in range(COPIES):
            for file in gz_files:
                with gzip.open(file) as stream:
                    out.writelines(line for line in stream if not line.startswith(b"#"))
    return path


def _big_json(folder: Path, gz_files: list[Path]) -> Path:
    """The same records as Zeek JSON lines (via our own TSV reader), written once."""
    path = folder / "conn.json"
    with path.open("wb") as out:
        for file in gz_files:
            with gzip.open(file) as stream:
                lines = stream.read().split(b"\n")
            fields = next(line for line in lines if line.startswith(b"#fields")).decode().split("\t")[1:]
            types = next(line for line in lines if line.startswith(b"#types")).decode().split("\t")[1:]
            for line in lines:
                if line and not line.startswith(b"#"):
                    values = line.decode().split("\t")
                    record = {f: _json_value(v, t) for f, t, v in zip(fields, types, values) if v != "-"}
                    out.write(orjson.dumps(record) + b"\n")
    return path


def _json_value(text: str, ztype: str) -> object:
    if ztype.endswith("]"):
        return [] if text == "(empty)" else text.split(",")
    if ztype in ("string", "addr", "enum"):
        return text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"T": True, "F": False, "(empty)": []}.get(text, text)


def run() -> list[dict[str, object]]:
    """Measure every case; one dict per case."""
    _one_core()
    gz_files = sorted(RITA.glob("*/conn.*.log.gz"))
    if len(gz_files) != 72:
        raise SystemExit(f"expected 72 rotated conn logs under {RITA}, found {len(gz_files)}")
    results = [_measure("zeek tsv conn, 72 rotated gz files", gz_files, tsv_batches)]
    with tempfile.TemporaryDirectory() as tmp:
        big = _big_tsv(Path(tmp), gz_files)
        size_mb = big.stat().st_size / 2**20
        results.append(_measure(f"zeek tsv conn, one plain file ({size_mb:.0f} MB)", [big], tsv_batches))
        big.unlink()
        js = _big_json(Path(tmp), gz_files)
        results.append(_measure(f"zeek json conn, one plain file ({js.stat().st_size / 2**20:.0f} MB)", [js], json_batches))
    return results


if __name__ == "__main__":
    for row in run():
        print(row, file=sys.stdout)
