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
  Atomic-EVTX Sysmon exports (bench/windows_readers.py builds it; 8 % of its process events alert), beside the
  reader alone on the same file.
- run_score_evtx_8k: the same in batches of `read_ahead.BATCH_ROWS` (8,192 process rows; 47,693 in all).
- run_score_evtx_read_ahead: the same read ahead by worker processes (`read_ahead=True`, `read_ahead.workers()`),
  on cores {0, 1} for this case only: wall-clock events/s, and the share of the reader's speed (its CPU-s are the
  parent's only). The three runs must write the same bytes (checked: scores do not depend on batches).
- evtx_1pct cases: the same on an EVTX closer to real telemetry (`_quiet_evtx`: as many records, drawn from the
  Atomic-EVTX Sysmon events, 1 % of the process creations from those the shipped model alerts on).

One core: os.sched_setaffinity(0, {NIGHTJAR_BENCH_CPU or 0}), LightGBM num_threads=1, Arrow single-threaded.
Run: python bench/lotl.py [--rows 200000] [--no-evtx | --evtx-only] [--repeat N (EVTX cases)]
"""

from __future__ import annotations

import argparse
import io
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


def _timed(case: str, work, rows: int, note: str = "", reference: float | None = None) -> float:
    """Run `work` once; print wall and CPU figures of this process (`note` formatted with reference / wall); return
    the wall seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    note = note.format(reference / wall) if reference else note
    print(f"{case:32s} {rows:>9,} events  {wall:7.2f} s  {rows / wall:>10,.0f} events/s  {rows / cpu_s:>10,.0f} events/CPU-s{note}", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-evtx", action="store_true")
    parser.add_argument("--evtx-only", action="store_true", help="only the EVTX cases")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each EVTX case")
    args = parser.parse_args()
    _one_core()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        if not args.evtx_only:
            _table_cases(t, args.rows)
        if not args.no_evtx:
            from bench.windows_readers import build_evtx

            _evtx_cases(build_evtx(t), "evtx", t, args.repeat)
            _evtx_cases(_quiet_evtx(t), "evtx_1pct", t, args.repeat)


def _table_cases(t: Path, rows: int) -> None:
    """The detector on an in-memory table, and `run_score` on process CSV and NDJSON (see the module docstring)."""
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.scoring import run_score

    det = LotlDetector.load(MODEL)
    det.model_.params["num_threads"] = 1
    events = _events(rows)
    det.score(events.iloc[:1000])  # warm-up
    _timed("detector_score", lambda: det.score(events), len(events))
    _timed("detector_score_warm", lambda: det.score(events), len(events))
    unique = events.iloc[:20_000].copy()
    unique["process.command_line"] = unique["process.command_line"].fillna("") + " #" + np.arange(len(unique)).astype(str)
    _timed("detector_score_unique", lambda: det.score(unique), len(unique))
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


def _quiet_evtx(folder: Path, alert_share: float = 0.01, seed: int = 0) -> Path:
    """An EVTX of as many records as the bench EVTX, drawn (seeded, with repetition, kept in their order) from the
    Atomic-EVTX Sysmon events: process creations in the same share, `alert_share` of them from those the shipped
    model alerts on (scored in a file of all of them), the rest from those it does not; other events as they come."""
    from bench.windows_readers import EVTX_RECORDS, atomic_sysmon_events, build_evtx
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.io import read_table

    events = atomic_sysmon_events(None)
    table, report = read_table(build_evtx(folder, events, "all_sysmon.evtx"))
    process = np.flatnonzero([e.event_id == 1 for e in events])
    assert report.parsed == table.num_rows == len(process), "every Sysmon 1 event is one row"
    alert = LotlDetector.load(MODEL).score(table.to_pandas())["alert"].to_numpy(bool)
    other = np.flatnonzero([e.event_id != 1 for e in events])
    rng = np.random.default_rng(seed)
    n_process = round(EVTX_RECORDS * len(process) / len(events))
    n_alert = round(n_process * alert_share)
    pick = np.sort(np.concatenate([rng.choice(process[alert], n_alert), rng.choice(process[~alert], n_process - n_alert),
                                   rng.choice(other, EVTX_RECORDS - n_process)]))
    return build_evtx(folder, [events[i] for i in pick], "quiet_sysmon.evtx")


def _evtx_cases(evtx: Path, label: str, folder: Path, repeat: int) -> None:
    """`run_score` on `evtx`: in-process (whole file, 8k batches) and with read-ahead, beside the reader alone.

    The read-ahead case runs on cores {0, 1} (the workers need a core of their own); the others on one core. The
    outputs must be the same bytes: scores do not depend on how the input is cut into batches.
    """
    from bench.windows_readers import EVTX_RECORDS
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.io import Reading, read_ahead
    from nightjar.scoring import run_score

    records = EVTX_RECORDS  # both bench EVTX files hold that many
    for _ in range(repeat):
        reader_wall = _timed(f"{label}_reader_only", lambda: sum(b.table.num_rows for b in Reading([evtx], show_progress=False)), records)
        outputs = {}
        for case, rows, ahead in ((f"run_score_{label}", None, False), (f"run_score_{label}_8k", read_ahead.BATCH_ROWS, False),
                                  (f"run_score_{label}_read_ahead", read_ahead.BATCH_ROWS, True)):
            fresh = LotlDetector.load(MODEL)
            fresh.model_.params["num_threads"] = 1
            out = folder / f"{case}.csv"
            try:
                if ahead:
                    os.sched_setaffinity(0, {0, 1})
                wall = _timed(case, lambda o=out, d=fresh, r=rows, a=ahead: run_score("lotl", [evtx], o, detector=d, batch_rows=r, read_ahead=a),
                              records, "  (wall-clock {:.0%} of the reader's speed)" if ahead else "", reader_wall)
            finally:
                _one_core()
            outputs[case] = out.read_bytes()
        alerts = pd.read_csv(io.BytesIO(outputs[case]), usecols=["alert"])["alert"]
        print(f"{label}: outputs of the three runs identical (whole file, 8k batches, read-ahead): {len(set(outputs.values())) == 1}; "
              f"{alerts.mean():.1%} of {len(alerts):,} process events alert", flush=True)


if __name__ == "__main__":
    main()
