"""Beacon benchmark: connection records per second, one core, aggregation+scoring and end to end.

Run: `.venv/bin/python bench/beacon.py [ZEEK_DIR]` (default ../shared/data/beacon/rita_missing_host).
Prints rows/s for (a) aggregation + scoring of already-parsed conn batches, (b) end to end from
gzipped Zeek TSV, and the peak RSS. Best of 3.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

from nightjar.detectors.beacon import BeaconDetector
from nightjar.io import Reading


def main() -> None:
    os.sched_setaffinity(0, {0})
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/beacon/rita_missing_host")
    det = BeaconDetector().fit()
    batches = [b for b in Reading([path], show_progress=False) if b.kind == "conn"]
    rows = sum(b.table.num_rows for b in batches)
    best_score = best_e2e = float("inf")
    for _ in range(3):
        t = time.process_time()
        acc = det.aggregator()
        for b in batches:
            acc.add(b.kind, b.table, b.source)
        det.finish(acc)
        best_score = min(best_score, time.process_time() - t)
        t = time.process_time()
        acc = det.aggregator()
        for b in Reading([path], show_progress=False):
            acc.add(b.kind, b.table, b.source)
        det.finish(acc)
        best_e2e = min(best_e2e, time.process_time() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows:,} conn records, one core, best of 3 (CPU time)")
    print(f"aggregate + score (parsed conn batches): {rows / best_score:,.0f} rows/s ({best_score:.2f} s)")
    print(f"end to end (gz Zeek TSV conn+http+ssl+dns+others read): {rows / best_e2e:,.0f} conn rows/s ({best_e2e:.2f} s)")
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
