"""From the accumulated state to one row of statistics per pair (address, domain and proxy pairs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nightjar.detectors.beacon.features import pair_statistics
from nightjar.detectors.beacon.pairs import SEP, PairAccumulator, _sum_names, concat_chunks
from nightjar.detectors.beacon.proxy import find_proxies

KIND = "pair.kind"  # address | domain | proxy


def _window(*arrays: np.ndarray) -> tuple[int, float]:
    nonempty = [a for a in arrays if len(a)]
    if not nonempty:
        return 0, 0.0
    lo = min(int(a.min()) for a in nonempty)
    hi = max(int(a.max()) for a in nonempty)
    return lo, (hi - lo) / 1e6


def _frame(stats: dict[str, np.ndarray], **columns: object) -> pd.DataFrame:
    data = {k: v for k, v in stats.items() if k != "duplicates"}
    return pd.DataFrame({**columns, **data})


def pair_table(acc: PairAccumulator) -> tuple[pd.DataFrame, dict[str, float]]:
    """(one row per pair with its statistics and identity columns, facts about the window)."""
    ids, ts, sent, dur, answered = concat_chunks(acc.chunks, 5)
    hids, hts, hsize, hdur, hans, _ = concat_chunks(acc.http_chunks, 6)
    start, window = _window(ts, hts)
    n = len(acc.conn_keys)
    stats = pair_statistics(ids, ts, sent, dur, answered, n, start, window)
    duplicates = int(stats["duplicates"][0])
    src, dst, port = acc.conn_keys.split(3) if n else (np.zeros(0, object),) * 3
    domain = _names(acc, src, dst)
    transport = np.array([acc.transport.get(i, "") for i in range(n)], dtype=object)
    frames = [_frame(stats, **{"source.ip": src, "destination.ip": dst, "destination.port": port,
                               "destination.domain": domain, "network.transport": transport, KIND: "address"})]
    frames.append(_domain_pairs(ids, ts, sent, dur, answered, src, dst, port, domain, start, window))
    proxy_rows, proxies = _proxy_pairs(acc, hids, hts, hsize, hdur, hans, start, window)
    frames.append(proxy_rows)
    table = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    is_proxy = np.array([(d, p) in proxies for d, p in zip(table["destination.ip"], table["destination.port"].astype(str))], dtype=bool)
    table["destination.is_proxy"] = is_proxy & (table[KIND] == "address")
    table.loc[table["destination.is_proxy"], "destination.domain"] = "(web proxy)"
    table["destination.port"] = pd.to_numeric(table["destination.port"], errors="coerce").astype("Int64")
    facts = {"window_s": window, "start_us": start, "duplicates": duplicates, "proxies": len(proxies)}
    return table, facts


def _names(acc: PairAccumulator, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The most frequent http Host / TLS SNI per pair, else the DNS name the client resolved to the address."""
    out = np.full(len(src), None, dtype=object)
    if acc.names:
        names = _sum_names(acc.names).sort_values("n", ascending=False).drop_duplicates("key")
        lookup = dict(zip(names["key"], names["name"]))
        out[:] = [lookup.get(k) for k in acc.conn_keys.keys]
    if acc.dns:
        dns = pd.concat(acc.dns).drop_duplicates(["client", "address"], keep="last")
        by = dict(zip(zip(dns["client"], dns["address"]), dns["name"]))
        missing = np.flatnonzero(out == None)  # noqa: E711
        out[missing] = [by.get((src[i], dst[i])) for i in missing]
    return out


def _domain_pairs(ids: np.ndarray, ts: np.ndarray, sent: np.ndarray, dur: np.ndarray, answered: np.ndarray,
                  src: np.ndarray, dst: np.ndarray, port: np.ndarray, domain: np.ndarray, start: int, window: float) -> pd.DataFrame:
    """(source, domain) pairs whose name spans several address pairs (CDN rotation, fallback servers)."""
    has = np.flatnonzero(domain != None)  # noqa: E711
    if len(has) == 0:
        return pd.DataFrame()
    frame = pd.DataFrame({"pair": has, "key": [f"{src[i]}{SEP}{domain[i]}" for i in has], "dst": dst[has], "port": port[has]})
    spread = frame.groupby("key")["pair"].transform("size")
    frame = frame[spread >= 2]
    if frame.empty:
        return pd.DataFrame()
    codes, keys = pd.factorize(frame["key"])
    mapping = np.full(len(src), -1, dtype=np.int64)
    mapping[frame["pair"].to_numpy()] = codes
    group = mapping[ids]
    sel = group >= 0
    stats = pair_statistics(group[sel], ts[sel], sent[sel], dur[sel], answered[sel], len(keys), start, window)
    members = frame.assign(code=codes).groupby("code").agg(dst=("dst", lambda s: ",".join(sorted(set(s))[:3]) + (f" (+{s.nunique() - 3})" if s.nunique() > 3 else "")),
                                                           port=("port", lambda s: s.iloc[0] if s.nunique() == 1 else None))
    parts = [k.split(SEP) for k in keys]
    return _frame(stats, **{"source.ip": [p[0] for p in parts], "destination.ip": members["dst"].to_numpy(),
                            "destination.port": members["port"].to_numpy(), "destination.domain": [p[1] for p in parts],
                            "network.transport": "", KIND: "domain"})


def _proxy_pairs(acc: PairAccumulator, hids: np.ndarray, hts: np.ndarray, hsize: np.ndarray, hdur: np.ndarray,
                 hans: np.ndarray, start: int, window: float) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """(client, proxy, port, real host) pairs from proxy-style http requests, and the proxies found."""
    m = len(acc.http_keys)
    if m == 0:
        return pd.DataFrame(), set()
    client, proxy, port, host = acc.http_keys.split(4)
    requests = np.bincount(hids, minlength=m)
    totals = pd.concat(acc.http_dst).groupby(["address", "port"])["n"].sum().reset_index() if acc.http_dst else None
    proxies = find_proxies(client, proxy, port, requests, totals)
    chosen = np.array([(p, q) in proxies for p, q in zip(proxy, port)], dtype=bool)
    if not chosen.any():
        return pd.DataFrame(), proxies
    remap = np.full(m, -1, dtype=np.int64)
    remap[chosen] = np.arange(int(chosen.sum()))
    group = remap[hids]
    sel = group >= 0
    stats = pair_statistics(group[sel], hts[sel], hsize[sel], hdur[sel], hans[sel], int(chosen.sum()), start, window)
    return _frame(stats, **{"source.ip": client[chosen], "destination.ip": proxy[chosen], "destination.port": port[chosen],
                            "destination.domain": host[chosen], "network.transport": "tcp", KIND: "proxy"}), proxies
