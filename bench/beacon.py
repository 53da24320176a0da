"""Beacon benchmark: connection records per second on one core, aggregation + scoring and end to end.

Run: `.venv/bin/python bench/beacon.py [ZEEK_DIR]` (default ../shared/data/beacon/rita_missing_host).
Prints, best of `REPEATS` (CPU time of this process, one core; the machine is shared, so wall time is
not used):
- score: aggregation + scoring of already-parsed conn batches (the reader's output), on rita as it is
  (105,918 connections, 42k pairs: an internet-facing server, 2.5 connections per pair) and on a
  1.06M-connection input (rita's conn batches repeated 10 times, each copy shifted by the window
  length: the same pairs over 30 days);
- reader only (conn logs, every field and only the detector's `input_fields`) and end to end from the
  gzipped Zeek TSV files: conn only, and the whole folder (conn + http + ssl + dns + ssh, the other
  logs read and counted), on rita as it is and on rita x10: every log of the folder written again as
  gzipped Zeek TSV into a temporary folder, `ts` shifted by k window lengths in copy k, with the same
  hourly files (so the x10 conn logs hold the very connections of the 1.06M scoring case);
- memory: bytes held per connection, the accumulated state after the 1.06M case, and peak RSS.
"""

from __future__ import annotations

import gzip
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.beacon import BeaconDetector
from nightjar.io import Fields, Reading
from nightjar.registry.builtin import BUILTIN_DIR

REPEATS = 3
COPIES = 10


def _best(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def _score(det: BeaconDetector, batches: list) -> object:  # type: ignore[type-arg]
    acc = det.aggregator()
    for kind, table, source in batches:
        acc.add(kind, table, source)
    det.finish(acc)
    return acc


def _window(batches: list) -> tuple[int, int]:  # type: ignore[type-arg]
    """(first, last) connection start in µs."""
    ts = [t.column("@timestamp") for _, t, _ in batches]
    return min(pc.min(c).value for c in ts), max(pc.max(c).value for c in ts)


def _shifted(batches: list, copies: int) -> list:  # type: ignore[type-arg]
    lo, hi = _window(batches)
    out = []
    for k in range(copies):
        for kind, table, source in batches:
            col = table.column("@timestamp")
            moved = pc.add(col.cast(pa.int64()), k * (hi - lo + 1)).cast(col.type)
            out.append((kind, table.set_column(table.column_names.index("@timestamp"), "@timestamp", moved), f"{k}:{source}"))
    return out


def _write_copies(folder: Path, into: Path, copies: int, shift_us: int) -> int:
    """Every gzipped Zeek log under `folder` written `copies` times under `into`/k/, `ts` + k * shift_us."""
    files = 0
    for path in sorted(folder.rglob("*.log.gz")):
        lines = gzip.decompress(path.read_bytes()).split(b"\n")
        fields = next(line for line in lines if line.startswith(b"#fields")).split(b"\t")[1:]
        ts = fields.index(b"ts")
        for k in range(copies):
            out = []
            for line in lines:
                if line and not line.startswith(b"#") and k:
                    values = line.split(b"\t")
                    if values[ts] != b"-":
                        seconds, _, frac = values[ts].partition(b".")
                        us = int(seconds) * 1_000_000 + int(frac.ljust(6, b"0")[:6]) + k * shift_us
                        values[ts] = b"%d.%06d" % divmod(us, 1_000_000)
                    line = b"\t".join(values)
                out.append(line)
            target = into / f"{k:02d}" / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(b"\n".join(out), compresslevel=6, mtime=0))
            files += 1
    return files


def _state_bytes(acc) -> int:  # type: ignore[no-untyped-def]
    c = acc.conn
    return sum(a.nbytes for part in vars(c).values() if isinstance(part, list) for a in part)


def main() -> None:
    os.sched_setaffinity(0, {0})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/beacon/rita_missing_host")
    det = BeaconDetector.load(BUILTIN_DIR / "beacon")  # the shipped model: its threshold and allowlist
    fields: Fields | None = det.input_fields
    conn_files = sorted(p for p in path.rglob("conn.*") if p.is_file())
    batches = [(b.kind, b.table, b.source) for b in Reading(conn_files, show_progress=False, fields=fields)]
    rows = sum(t.num_rows for _, t, _ in batches)
    big = _shifted(batches, COPIES)
    big_rows = rows * COPIES
    _score(det, batches)  # warm-up
    t_small = _best(lambda: _score(det, batches))
    t_big = _best(lambda: _score(det, big))

    def read(paths: list[Path], only: Fields | None) -> None:
        for _ in Reading(paths, show_progress=False, fields=only):
            pass

    def e2e(paths: list[Path]) -> None:
        acc = det.aggregator()
        for b in Reading(paths, show_progress=False, fields=fields):
            acc.add(b.kind, b.table, b.source)
        det.finish(acc)

    print(f"one core, CPU time, best of {REPEATS}; {rows:,} conn records in {len(batches)} files")
    print(f"score, parsed conn batches, rita ({rows:,} conns, {len(_score(det, batches).conn.src) and det.facts_['pairs_timed']:,} pairs timed):"
          f" {rows / t_small:,.0f} rows/s ({t_small:.3f} s)")
    print(f"score, parsed conn batches, rita x{COPIES} over {COPIES * 3} days ({big_rows:,} conns): {big_rows / t_big:,.0f} rows/s ({t_big:.3f} s)")
    lo, hi = _window(batches)
    with tempfile.TemporaryDirectory(prefix="nightjar-beacon-bench-") as tmp:
        n_files = _write_copies(path, Path(tmp), COPIES, hi - lo + 1)
        big_conn = sorted(p for p in Path(tmp).rglob("conn.*") if p.is_file())
        written = [b.table.column("@timestamp") for b in Reading(big_conn, show_progress=False, fields=fields)]
        assert pa.chunked_array(written).equals(pa.chunked_array([t.column("@timestamp") for _, t, _ in big]))  # the same conns
        cases = (("rita", rows, conn_files, path),
                 (f"rita x{COPIES} ({len(big_conn)} conn files of {n_files})", big_rows, big_conn, Path(tmp)))
        for label, n, conn, folder in cases:
            t_read_all = _best(lambda: read(conn, None))
            t_read = _best(lambda: read(conn, fields))
            t_conn = _best(lambda: e2e(conn))
            t_folder = _best(lambda: e2e([folder]))
            print(f"{label}: reader only, conn.*.gz: {n / t_read:,.0f} rows/s ({t_read:.3f} s) reading beacon's fields, "
                  f"{n / t_read_all:,.0f} rows/s ({t_read_all:.3f} s) reading every field")
            print(f"{label}: end to end from gz TSV, conn only: {n / t_conn:,.0f} conn rows/s ({t_conn:.3f} s); "
                  f"whole folder (conn+http+ssl+dns+ssh, others read): {n / t_folder:,.0f} conn rows/s ({t_folder:.3f} s)")
    acc = _score(det, big)
    state = _state_bytes(acc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: {acc.conn.bytes_per_connection()} bytes per connection held; state after {big_rows:,} conns "
          f"{state / 2**20:.1f} MiB ({state / big_rows:.1f} B/conn incl. per-pair partial sums); peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
