"""Benchmark the URL detector on one core: URLs/s for scoring a batch (parsing and features included).

URLs: OpenPhish, ESDAUNG and ISCX benign URLs from ../shared/data/url (a synthetic fallback when the
data is absent), made unique with a distinct query per copy, so neither the batch de-duplication nor a
repeated host helps; `--repeat-hosts` keeps the hosts as they are (real traffic repeats hosts). The
shipped model is loaded from the package; LightGBM runs with one thread; the process is pinned to CPU 0.
Figures are best of `--rounds`, in URLs per CPU-second of this process (so other load on the machine
does not count against it) and per wall-second.

Example:
    .venv/bin/python bench/url.py --n 200000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def urls(n: int) -> list[str]:
    """`n` unique URLs from the shared lists (synthetic when the data is absent)."""
    base: list[str] = []
    if (DATA / "url").is_dir():
        import pandas as pd

        base += pd.read_csv(DATA / "url/openphish_feed_history/openphish_feed_history_until_2025.csv.gz", usecols=["url"])["url"].tolist()[:150000]
        base += pd.read_csv(DATA / "url/esdaung_2021_part/esdaung_imbal_part.csv.gz", usecols=["url"])["url"].tolist()
    else:
        rng = np.random.default_rng(0)
        base = [f"https://www.site{i}.com/path/{rng.integers(1e6)}/page.html" for i in range(50000)]
    out = []
    for k in range(n):
        u = base[k % len(base)]
        out.append(u if k < len(base) else f"{u}{'&' if '?' in u else '?'}r={k}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    from nightjar.detectors.url import UrlDetector
    from nightjar.detectors.url import features as F
    from nightjar.detectors.url.parse import parse
    from nightjar.registry.builtin import BUILTIN_DIR

    t = time.perf_counter()
    det = UrlDetector.load(BUILTIN_DIR / "url")
    load_s = time.perf_counter() - t
    batch = np.asarray(urls(args.n), dtype=object)
    import pyarrow as pa

    stages = {
        "parse": lambda: parse(pa.array(batch, pa.string())),
        "parse + features": lambda: det.features(parse(pa.array(batch, pa.string())), det.model_.brands),
        "score (parse, features, n-grams, LightGBM, reasons)": lambda: det.score_values(batch),
    }
    print(f"url bench: {len(batch):,} unique URLs, model load {load_s:.2f} s, one core, LightGBM num_threads=1")
    for name, fn in stages.items():
        best_cpu = best_wall = float("inf")
        for _ in range(args.rounds):
            c, w = time.process_time(), time.perf_counter()
            fn()
            best_cpu, best_wall = min(best_cpu, time.process_time() - c), min(best_wall, time.perf_counter() - w)
        print(f"  {name:<52} {len(batch) / best_cpu:>10,.0f} URLs/CPU-s  {len(batch) / best_wall:>10,.0f} URLs/wall-s")
    _ = F


if __name__ == "__main__":
    main()
