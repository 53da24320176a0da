"""Benchmark of `nightjar score lotl` on one core: events per second, features included.

Cases (inputs built in a temporary folder from the shared datasets; nothing is written to the repo):
- detector_score: LotlDetector.score on an in-memory table of 200k Atomic-EVTX + OTRF events (features,
  model, rarity, reasons); the events repeat, as real process telemetry does.
- detector_score_warm: the same call again on the same detector: every distinct row is memoised
  (features, probability, reasons), as in a long stream that repeats itself.
- detector_score_unique: the same on 20k events whose command lines are all distinct (worst case).
- run_score_csv / run_score_ndjson: `run_score` end to end (read, score, write CSV) on the 200k events
  written as a process CSV and as flat ECS NDJSON.
- run_score_csv_warm: the CSV run again with the same detector (memos warm, rarity state grown).
- run_score_csv_1pct: the CSV run on events closer to real telemetry: as many events, drawn (seeded, with
  repetition) from the Atomic-EVTX + OTRF events, 1 % of them from those the shipped model alerts on and
  99 % from those it does not (the bench input above: 8.5 % alert).
- run_score_evtx: `run_score` on a 100k-record EVTX written with tests/fixtures/evtx_writer.py from the
  Atomic-EVTX Sysmon exports (bench/windows_readers.py builds it), to compare with the reader alone.
- run_score_evtx_8k: the same in batches of `read_ahead.BATCH_ROWS` (8,192 process rows; 47,693 in all).
- run_score_evtx_read_ahead: the same batches parsed by a read-ahead child process (`read_ahead=True`), on
  cores {0, 1} for this case only: wall-clock events/s beside the reader's alone (its CPU-s are the
  parent's only). The three EVTX runs must write the same bytes (checked: scores do not depend on batches).

One core: os.sched_setaffinity(0, {NIGHTJAR_BENCH_CPU or 0}), LightGBM num_threads=1, Arrow single-threaded.
Run: python bench/lotl.py [--rows 200000] [--no-evtx]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MODEL = ROOT / "src" / "nightjar" / "models" / "lotl"


def _one_core(cpu: int = int(os.environ.get("NIGHTJAR_BENCH_CPU", "0"))) -> None:
    """Pin to one core (NIGHTJAR_BENCH_CPU, default 0: two benches can run side by side on 0 and 1)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _base() -> pd.DataFrame:
    from nightjar.io import read_table

    parts = [read_table(SHARED / "lotl/atomic_evtx/atomic_evtx_process_creation.csv.gz")[0].to_pandas(),
             read_table(SHARED / "lotl/otrf_security_datasets/otrf_process_creation.csv.gz")[0].to_pandas()]
    from nightjar.io.process_events import PROCESS_SCHEMA

    return pd.concat([p[[c for c in PROCESS_SCHEMA.names if c in p.columns]] for p in parts], ignore_index=True)


def _events(rows: int) -> pd.DataFrame:
    base = _base()
    reps = rows // len(base) + 1
    return pd.concat([base] * reps, ignore_index=True).iloc[:rows].reset_index(drop=True)


def _quiet_events(rows: int, alert_share: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """`rows` events drawn (seeded, with repetition) from the Atomic-EVTX + OTRF events: `alert_share` of them
    from those the shipped model alerts on, the rest from those it does not; shuffled."""
    from nightjar.detectors.lotl import LotlDetector

    base = _base()
    alert = LotlDetector.load(MODEL).score(base)["alert"].to_numpy(bool)
    rng = np.random.default_rng(seed)
    n_alert = round(rows * alert_share)
    pick = np.concatenate([rng.choice(np.flatnonzero(alert), n_alert), rng.choice(np.flatnonzero(~alert), rows - n_alert)])
    return base.iloc[rng.permutation(pick)].reset_index(drop=True)


def _timed(case: str, work, rows: int, note: str = "") -> float:
    """Run `work` once; print wall and CPU figures of this process; return the wall seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    print(f"{case:26s} {rows:>9,} events  {wall:7.2f} s  {rows / wall:>10,.0f} events/s  {rows / cpu_s:>10,.0f} events/CPU-s{note}", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-evtx", action="store_true")
    args = parser.parse_args()
    _one_core()
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.scoring import run_score

    det = LotlDetector.load(MODEL)
    det.model_.params["num_threads"] = 1
    events = _events(args.rows)
    det.score(events.iloc[:1000])  # warm-up
    _timed("detector_score", lambda: det.score(events), len(events))
    _timed("detector_score_warm", lambda: det.score(events), len(events))
    unique = events.iloc[:20_000].copy()
    unique["process.command_line"] = unique["process.command_line"].fillna("") + " #" + np.arange(len(unique)).astype(str)
    _timed("detector_score_unique", lambda: det.score(unique), len(unique))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        events.to_csv(t / "events.csv", index=False)
        flat = events.assign(**{"@timestamp": events["@timestamp"].astype(str)})
        flat.to_json(t / "events.ndjson", orient="records", lines=True)
        for case, path in (("run_score_csv", t / "events.csv"), ("run_score_ndjson", t / "events.ndjson")):
            fresh = LotlDetector.load(MODEL)
            fresh.model_.params["num_threads"] = 1
            _timed(case, lambda p=path, d=fresh: run_score("lotl", [p], t / "out.csv", detector=d), len(events))
            if case == "run_score_csv":  # the same input again, same detector: memos warm (rarity has learnt it)
                _timed("run_score_csv_warm", lambda p=path, d=fresh: run_score("lotl", [p], t / "out.csv", detector=d), len(events))
        quiet = _quiet_events(len(events))
        quiet.to_csv(t / "quiet.csv", index=False)
        fresh = LotlDetector.load(MODEL)
        fresh.model_.params["num_threads"] = 1
        _timed("run_score_csv_1pct", lambda: run_score("lotl", [t / "quiet.csv"], t / "out.csv", detector=fresh), len(quiet))
        if not args.no_evtx:
            from bench.windows_readers import build_evtx

            evtx = build_evtx(t)
            from nightjar.io import Reading

            from nightjar.io import read_ahead

            reading = Reading([evtx], show_progress=False)
            reader_wall = _timed("evtx_reader_only", lambda: sum(b.table.num_rows for b in reading), 100_000)
            outputs = {}
            for case, rows, ahead in (("run_score_evtx", None, False), ("run_score_evtx_8k", read_ahead.BATCH_ROWS, False),
                                      ("run_score_evtx_read_ahead", read_ahead.BATCH_ROWS, True)):
                fresh = LotlDetector.load(MODEL)
                fresh.model_.params["num_threads"] = 1
                out = t / f"{case}.csv"
                note = f"  (wall; reader alone {100_000 / reader_wall:,.0f} records/s wall)" if ahead else ""
                try:
                    if ahead:  # the child needs a core of its own: two cores for this case only
                        os.sched_setaffinity(0, {0, 1})
                    _timed(case, lambda o=out, d=fresh, r=rows, a=ahead: run_score("lotl", [evtx], o, detector=d, batch_rows=r, read_ahead=a),
                           100_000, note)
                finally:
                    _one_core()
                outputs[case] = out.read_bytes()
            same = len(set(outputs.values())) == 1
            print(f"outputs of the three EVTX runs identical (whole file, 8k batches, read-ahead): {same}", flush=True)


if __name__ == "__main__":
    main()
