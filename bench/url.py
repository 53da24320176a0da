"""Benchmark the URL detector on one core: URLs/s for scoring a batch (parsing and features included).

URLs: ESDAUNG and ISCX benign URLs with `--phish-share` OpenPhish URLs (10 % by default) from
../shared/data/url (a synthetic fallback when the data is absent); copies beyond the lists get a
distinct query, so batch de-duplication does not help. The shipped model is loaded from the package; LightGBM runs with one thread; the process is pinned to CPU 0.
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


def urls(n: int, phish_share: float = 0.1) -> list[str]:
    """`n` unique URLs, `phish_share` of them OpenPhish, the rest ESDAUNG and ISCX benign (synthetic without the data)."""
    rng = np.random.default_rng(0)
    if (DATA / "url").is_dir():
        import pandas as pd

        phish = pd.read_csv(DATA / "url/openphish_feed_history/openphish_feed_history_until_2025.csv.gz", usecols=["url"])["url"].tolist()
        es = pd.read_csv(DATA / "url/esdaung_2021_part/esdaung_imbal_part.csv.gz", usecols=["url", "label"])
        benign = es.loc[es["label"] == 0, "url"].tolist()
        import gzip

        with gzip.open(DATA / "url/iscx_url_2016/Benign_list_big_final.csv.gz", "rt", encoding="utf-8", errors="replace") as f:
            benign += [line.strip() for line in f if line.strip()]
    else:
        phish = [f"http://paypal.com.verify{i}.xyz/login/{i:x}" for i in range(20000)]
        benign = [f"https://www.site{i}.com/path/{i}/page.html" for i in range(50000)]
    n_phish = int(n * phish_share)

    def take(pool: list[str], count: int) -> list[str]:
        return [pool[i] if i < len(pool) else f"{pool[i % len(pool)]}{'&' if '?' in pool[i % len(pool)] else '?'}r={i}" for i in range(count)]

    out = take(phish, n_phish) + take(benign, n - n_phish)
    return [out[i] for i in rng.permutation(len(out))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--phish-share", type=float, default=0.1, help="share of phishing URLs in the batch (alerts get reasons)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    from nightjar.detectors.url import UrlDetector
    from nightjar.detectors.url.parse import parse
    from nightjar.registry.builtin import BUILTIN_DIR

    t = time.perf_counter()
    det = UrlDetector.load(BUILTIN_DIR / "url")
    load_s = time.perf_counter() - t
    batch = np.asarray(urls(args.n, args.phish_share), dtype=object)
    import pyarrow as pa

    stages = {
        "parse": lambda: parse(pa.array(batch, pa.string())),
        "parse + features": lambda: det.features(parse(pa.array(batch, pa.string())), det.model_.brands),
        "score (parse, features, n-grams, LightGBM, reasons)": lambda: det.score_values(batch),
    }
    print(f"url bench: {len(batch):,} URLs ({args.phish_share:.0%} phishing), model load {load_s:.2f} s, one core, LightGBM num_threads=1")
    for name, fn in stages.items():
        best_cpu = best_wall = float("inf")
        for _ in range(args.rounds):
            c, w = time.process_time(), time.perf_counter()
            fn()
            best_cpu, best_wall = min(best_cpu, time.process_time() - c), min(best_wall, time.perf_counter() - w)
        print(f"  {name:<52} {len(batch) / best_cpu:>10,.0f} URLs/CPU-s  {len(batch) / best_wall:>10,.0f} URLs/wall-s")


if __name__ == "__main__":
    main()
