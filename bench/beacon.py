"""Beacon benchmark: connection records per second on one core, aggregation + scoring and end to end.

Run: `.venv/bin/python bench/beacon.py [ZEEK_DIR]` (default ../shared/data/beacon/rita_missing_host).
Prints, best of `REPEATS` (CPU time of this process, one core; the machine is shared, so wall time is
not used):
- score: aggregation + scoring of already-parsed conn batches (the reader's output), on rita as it is
  (105,918 connections, 42k pairs: an internet-facing server, 2.5 connections per pair) and on a
  1.06M-connection input (rita's conn batches repeated 10 times, each copy shifted by the window
  length: the same pairs over 30 days);
- end to end from the gzipped Zeek TSV files: conn only, and conn + http + ssl + dns (+ the other
  logs in the folder, read and ignored), with the reader-only time for comparison;
- memory: bytes held per connection, the accumulated state after the 1.06M case, and peak RSS.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.beacon import BeaconDetector
from nightjar.io import Reading
from nightjar.registry.builtin import BUILTIN_DIR

REPEATS = 3
COPIES = 10


def _best(fn) -> float:  # type: ignore[no-untyped-def]
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


def _shifted(batches: list, copies: int) -> list:  # type: ignore[type-arg]
    ts = [t.column("@timestamp") for _, t, _ in batches]
    lo = min(pc.min(c).value for c in ts)
    hi = max(pc.max(c).value for c in ts)
    out = []
    for k in range(copies):
        for kind, table, source in batches:
            col = table.column("@timestamp")
            moved = pc.add(col.cast(pa.int64()), k * (hi - lo + 1)).cast(col.type)
            out.append((kind, table.set_column(table.column_names.index("@timestamp"), "@timestamp", moved), f"{k}:{source}"))
    return out


def _state_bytes(acc) -> int:  # type: ignore[no-untyped-def]
    c = acc.conn
    return sum(a.nbytes for part in vars(c).values() if isinstance(part, list) for a in part)


def main() -> None:
    os.sched_setaffinity(0, {0})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/beacon/rita_missing_host")
    det = BeaconDetector.load(BUILTIN_DIR / "beacon")  # the shipped model: its threshold and allowlist
    conn_files = sorted(p for p in path.rglob("conn.*") if p.is_file())
    batches = [(b.kind, b.table, b.source) for b in Reading(conn_files, show_progress=False)]
    rows = sum(t.num_rows for _, t, _ in batches)
    big = _shifted(batches, COPIES)
    big_rows = rows * COPIES
    _score(det, batches)  # warm-up
    t_small = _best(lambda: _score(det, batches))
    t_big = _best(lambda: _score(det, big))
    t_read_conn = _best(lambda: [b for b in Reading(conn_files, show_progress=False)])
    t_read_all = _best(lambda: [b for b in Reading([path], show_progress=False)])

    def e2e(paths: list[Path]) -> None:
        acc = det.aggregator()
        for b in Reading(paths, show_progress=False):
            acc.add(b.kind, b.table, b.source)
        det.finish(acc)

    t_e2e_conn = _best(lambda: e2e(conn_files))
    t_e2e_all = _best(lambda: e2e([path]))
    acc = _score(det, big)
    state = _state_bytes(acc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"one core, CPU time, best of {REPEATS}; {rows:,} conn records in {len(batches)} files")
    print(f"score, parsed conn batches, rita ({rows:,} conns, {len(_score(det, batches).conn.src) and det.facts_['pairs_timed']:,} pairs timed):"
          f" {rows / t_small:,.0f} rows/s ({t_small:.3f} s)")
    print(f"score, parsed conn batches, rita x{COPIES} over {COPIES * 3} days ({big_rows:,} conns): {big_rows / t_big:,.0f} rows/s ({t_big:.3f} s)")
    print(f"reader only, conn.*.gz: {rows / t_read_conn:,.0f} rows/s ({t_read_conn:.3f} s); every log: {t_read_all:.3f} s")
    print(f"end to end from gz TSV, conn only: {rows / t_e2e_conn:,.0f} conn rows/s ({t_e2e_conn:.3f} s)")
    print(f"end to end from gz TSV, conn+http+ssl+dns (+others read): {rows / t_e2e_all:,.0f} conn rows/s ({t_e2e_all:.3f} s)")
    print(f"memory: {acc.conn.bytes_per_connection()} bytes per connection held; state after {big_rows:,} conns "
          f"{state / 2**20:.1f} MiB ({state / big_rows:.1f} B/conn incl. per-pair partial sums); peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
