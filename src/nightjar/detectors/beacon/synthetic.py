"""Labelled synthetic beacons injected into real background connections.

`inject(background, n, jitter, seed)` adds `n` beacons to a conn table (e.g. rita_missing_host) and
returns (conn table, http table, truth). Each beacon has:
- a period log-uniform in 10 s .. 1 h; timing either parametric jitter (Cobalt style: sleep x (1 -
  U(0, j)), or Sliver style: sleep + U(0, j x sleep)) or, with `profiles`, the real normalised gaps
  of a C2 framework (nickg24_c2_capstone SYN series: Merlin, Empire, PoshC2, Sliver);
- missed beats (0-10 %), and with probability 0.3 a daily sleep window of 6-10 h;
- request sizes around a base (±3 %), with occasional larger task replies;
- with probability `proxy_share`, a path through a web proxy: the conn log then shows only
  client -> proxy:3128 (mixed with the client's other browsing) and http.log holds a CONNECT per beat.
Truth rows: source.ip, destination.ip, destination.port, destination.domain, kind ("address" or
"proxy"), period_s, jitter, profile.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

PROFILES = ("merlin", "empire", "posh", "sliver")
PROXY = ("10.99.0.3", 3128)


def framework_gaps(path: Path) -> dict[str, np.ndarray]:
    """Normalised gaps (gap / median gap) between C2 SYNs per framework, from derived_tcp_syn_series.csv.gz."""
    with gzip.open(path, "rt") as fh:
        syn = pd.read_csv(fh)
    syn = syn[(syn["c2_label"] == 1) & (syn["folder"] == "c2_only") & syn["file"].str.contains("beaconing")]
    out = {}
    for fw in PROFILES:
        gaps = []
        for _, part in syn[syn["framework"] == fw].groupby("file"):
            g = np.diff(np.sort(part["t_rel_s"].to_numpy()))
            g = g[g > 0]
            if len(g) > 5:
                gaps.append(g / np.median(g))
        if gaps:
            out[fw] = np.concatenate(gaps)
    return out


def beat_times(rng: np.random.Generator, start: float, end: float, period: float, jitter: float,
               profile: np.ndarray | None = None) -> np.ndarray:
    """Call-back times in [start, end): jittered sleeps, missed beats and an optional daily sleep window."""
    n = int((end - start) / (period * max(1 - jitter, 0.2) * 0.5)) + 2
    if profile is not None:
        gaps = period * rng.choice(profile, n)
    elif rng.random() < 0.5:
        gaps = period * (1 - rng.uniform(0, jitter, n))  # Cobalt Strike style
    else:
        gaps = period * (1 + rng.uniform(0, jitter, n))  # Sliver style
    t = start + np.cumsum(gaps)
    t = t[t < end]
    t = t[rng.random(len(t)) >= rng.uniform(0, 0.1)]  # missed beats
    if rng.random() < 0.3:  # the implant sleeps a few hours a day
        off, length = rng.uniform(0, 86400), rng.uniform(6, 10) * 3600
        t = t[((t - off) % 86400) >= length]
    return t


def _conn_rows(ts: np.ndarray, src: str, dst: str, port: int, sent: np.ndarray, got: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"@timestamp": pd.to_datetime(ts, unit="s", utc=True).astype("datetime64[us, UTC]"),
                         "source.ip": src, "source.port": 40000, "destination.ip": dst, "destination.port": port,
                         "network.transport": "tcp", "zeek.conn.duration": 0.2, "source.bytes": sent.astype(np.int64),
                         "destination.bytes": got.astype(np.int64), "zeek.conn.conn_state": "SF"})


def inject(background: pa.Table, n: int, jitter: float, seed: int = 0, profiles: dict[str, np.ndarray] | None = None,
           proxy_share: float = 0.25) -> tuple[pa.Table, pa.Table, pd.DataFrame]:
    """(background + beacon conns, http records of proxied beacons and browsing, truth) — see the module docstring."""
    rng = np.random.default_rng(seed)
    ts = background.column("@timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False) / 1e6
    t0, t1 = float(np.nanmin(ts)), float(np.nanmax(ts))
    conns, https, truth = [], [], []
    for i in range(n):
        period = float(np.exp(rng.uniform(np.log(10), np.log(3600))))
        prof_name = rng.choice(sorted(profiles)) if profiles else ""
        start = rng.uniform(t0, t0 + 0.3 * (t1 - t0))
        end = rng.uniform(max(start + 12 * 3600, t0 + 0.7 * (t1 - t0)), t1) if t1 - start > 12 * 3600 else t1
        beats = beat_times(rng, start, end, period, jitter, profiles[prof_name] if profiles else None)
        if len(beats) < 2:
            continue
        src = f"10.{20 + i // 250}.{i % 250}.{int(rng.integers(2, 250))}"
        base = rng.uniform(100, 2000)
        sent = base * rng.uniform(0.97, 1.03, len(beats))
        got = np.where(rng.random(len(beats)) < 0.05, rng.uniform(5e3, 5e5, len(beats)), rng.uniform(60, 400))
        domain = f"cdn-{rng.integers(1e6):06d}.example-c2.net"
        if rng.random() < proxy_share:
            browse = np.sort(rng.uniform(t0, t1, int(rng.integers(200, 2000))))
            allt = np.concatenate([beats, browse])
            conns.append(_conn_rows(allt, src, PROXY[0], PROXY[1], rng.uniform(300, 3000, len(allt)), rng.uniform(1e3, 1e5, len(allt))))
            hosts = np.concatenate([np.full(len(beats), domain), rng.choice([f"site{k}.example.org" for k in range(40)], len(browse))])
            https.append(pd.DataFrame({"@timestamp": pd.to_datetime(allt, unit="s", utc=True).astype("datetime64[us, UTC]"),
                                       "source.ip": src, "destination.ip": PROXY[0], "destination.port": PROXY[1],
                                       "http.request.method": "CONNECT", "url.domain": hosts,
                                       "url.original": [f"{h}:443" for h in hosts], "http.response.status_code": 200}))
            truth.append((src, PROXY[0], PROXY[1], domain, "proxy", period, jitter, prof_name, len(beats)))
        else:
            dst = f"198.51.{100 + i // 250}.{i % 250}"
            conns.append(_conn_rows(beats, src, dst, 443, sent, got))
            truth.append((src, dst, 443, domain, "address", period, jitter, prof_name, len(beats)))
    injected = pa.Table.from_pandas(pd.concat(conns, ignore_index=True), preserve_index=False) if conns else None
    conn = pa.concat_tables([background, injected], promote_options="permissive") if injected is not None else background
    http = pa.Table.from_pandas(pd.concat(https, ignore_index=True), preserve_index=False) if https else pa.table({})
    cols = ["source.ip", "destination.ip", "destination.port", "destination.domain", "kind", "period_s", "jitter", "profile", "beats"]
    return conn, http, pd.DataFrame(truth, columns=cols)
