"""Benchmark the DGA detector on one core: domains/s for scoring (feature extraction included), load time, peak RSS.

Names are unique (no cache hits): Alexa, OpenDNS random and DGA names from ../shared/data/dga, repeated
with distinct prefixes up to --n names. The detector is loaded from the package (the shipped model),
LightGBM runs with one thread and the process is pinned to CPU 0.

Example:
    .venv/bin/python bench/dga.py --n 200000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def names(n: int) -> list[str]:
    """`n` unique domain names from the shared lists (synthetic fallback when the data is absent)."""
    base: list[str] = []
    dga = DATA / "dga"
    if dga.is_dir():
        import pandas as pd

        base += pd.read_csv(dga / "clicksecurity_alexa100k/alexa_100k.csv", header=None)[1].astype(str).tolist()
        base += (dga / "opendns_lists/opendns-random-domains.txt").read_text().split()
        base += pd.read_csv(dga / "dgarchive_majestic_20k/dgarchive_20k_domains.csv")["domain"].astype(str).tolist()
    else:
        import random

        rng = random.Random(0)
        base = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 15))) + ".com" for _ in range(50000)]
    out: list[str] = []
    k = 0
    while len(out) < n:
        out += base if k == 0 else [f"w{k}.{d}" if k % 2 else f"{d.split('.')[0]}{k}.{d.split('.', 1)[-1]}" for d in base]
        k += 1
    return out[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="names per run")
    parser.add_argument("--batch", type=int, default=65_536, help="names per score call (as run_score batches)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    import numpy as np

    from nightjar.detectors.dga import DgaDetector
    from nightjar.registry.builtin import BUILTIN_DIR

    t = time.perf_counter()
    det = DgaDetector.load(BUILTIN_DIR / "dga")
    load_ms = (time.perf_counter() - t) * 1000
    det.model_.params["num_threads"] = 1
    values = np.asarray(names(args.n), dtype=object)
    det.score_values(values[:1000])  # warm-up: public-suffix tables
    rates = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for i in range(0, len(values), args.batch):
            det.score_values(values[i : i + args.batch])
        rates.append(len(values) / (time.perf_counter() - t))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"dga score: {max(rates):,.0f} domains/s (best of {args.repeat}; median {sorted(rates)[len(rates) // 2]:,.0f}) "
          f"on one core, {args.n:,} unique names, batches of {args.batch:,}")
    print(f"model load: {load_ms:.0f} ms")
    print(f"peak RSS: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
