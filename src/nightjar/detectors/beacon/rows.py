"""From the accumulated state to one row of statistics per pair (address, domain and proxy pairs).

Address pairs: the batches' distinct pairs are unified with one hash factorisation of packed integers;
pairs with fewer than `min_connections` connections get counts and held-open time only (no sort,
no timing statistics); the rest are sorted once by (pair, time) through a packed int64 key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nightjar.detectors.beacon.addresses import AddressCoder
from nightjar.detectors.beacon.features import held_open, pair_statistics, sizes
from nightjar.detectors.beacon.pairs import (
    PORT_BITS,
    TRANSPORTS,
    PairAccumulator,
    concat,
    http_requests,
    last_names,
    NAME_KEYS,
    PAIR_KEYS,
    sum_counts,
)
from nightjar.detectors.beacon.proxy import find_proxies

KIND = "pair.kind"  # address | domain | proxy
TIMING = ("first_s", "last_s", "gap_median", "gap_q1", "gap_q3", "gap_mad", "gap_skew", "gap_concentration",
          "gap_evidence", "gap_band", "gap_band_share",
          "size_median", "size_match", "bytes_sent", "coverage", "bins_active", "bins")


def sort_by_pair(group: np.ndarray, ts: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted group, sorted ts): one np.sort of a packed (pair, time) key when it fits in int64."""
    t0 = int(ts.min())
    span = int(ts.max()) - t0 + 1
    if n_groups * span < (1 << 62):
        key = np.sort(group.astype(np.int64) * span + (ts - t0))
        g = key // span
        return g, key - g * span + t0
    order = np.lexsort((ts, group))
    return group[order].astype(np.int64), ts[order]


def statistics(group: np.ndarray, ts: np.ndarray, sent: np.ndarray, n_groups: int, start: int, window: float) -> dict[str, np.ndarray]:
    """Timing statistics from (pair, time) and size statistics from (pair, bytes), both sorted here."""
    if len(group) == 0:
        return pair_statistics(group.astype(np.int64), ts, sent, n_groups, start, window)
    g, t = sort_by_pair(group, ts, n_groups)
    stats = pair_statistics(g, t, None, n_groups, start, window)
    size = sizes(group.astype(np.int64), sent.astype(np.float64), n_groups)  # sorts (pair, bytes) itself
    stats.update(size_median=size.median, size_match=size.match, bytes_sent=size.total)
    return stats


def _window(*arrays: np.ndarray) -> tuple[int, float]:
    nonempty = [a for a in arrays if len(a)]
    if not nonempty:
        return 0, 0.0
    lo = min(int(a.min()) for a in nonempty)
    hi = max(int(a.max()) for a in nonempty)
    return lo, (hi - lo) / 1e6


def pair_table(acc: PairAccumulator, min_connections: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(one row per pair: columns of statistics and identity as numpy arrays, facts about the window)."""
    acc.flush()
    c = acc.conn
    row_pair, ts, sent = concat(c.row_pair, np.int32), concat(c.row_ts, np.int64), concat(c.row_sent, np.float32)
    hids, hts, hsize, hans, _ = _http(acc)
    long_ts, long_dur = concat(c.long_ts, np.int64), concat(c.long_dur, np.float64)
    start, window = _window(ts, hts, (long_ts + long_dur * 1e6).astype(np.int64))  # the window ends with the last connection's end
    src_u, dst_u, pp_u = concat(c.src, np.int64), concat(c.dst, np.int64), concat(c.pp, np.int32)
    inv, addrs = pd.factorize(np.concatenate([src_u, dst_u]))  # hashing, no sort
    addrs = np.asarray(addrs, dtype=np.int64)
    n_addr, m = len(addrs), len(src_u)
    s_d, d_d = inv[:m].astype(np.int64), inv[m:].astype(np.int64)
    if n_addr * n_addr < (1 << (62 - PORT_BITS)):
        gid_u, keys = pd.factorize(((s_d * n_addr + d_d) << PORT_BITS) | pp_u)
        keys = np.asarray(keys, dtype=np.int64)
        p_src, p_dst, p_pp = (keys >> PORT_BITS) // n_addr, (keys >> PORT_BITS) % n_addr, keys & ((1 << PORT_BITS) - 1)
    else:  # more than ~2.6M addresses: unique rows instead of packed keys
        keys, gid_u = np.unique(np.stack([s_d, d_d, pp_u.astype(np.int64)], axis=1), axis=0, return_inverse=True)
        p_src, p_dst, p_pp = keys[:, 0], keys[:, 1], keys[:, 2]
    gid_u = gid_u.ravel()
    n = len(p_src)
    gid = gid_u[row_pair] if len(row_pair) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(gid, minlength=n).astype(np.float64)
    stats = {k: np.full(n, np.nan) for k in TIMING}
    stats["connections"] = counts
    answered = np.bincount(gid_u, weights=concat(c.answered, np.float32), minlength=n)
    stats["logins_failed"] = _failed_logins(acc, addrs, p_src, p_dst, p_pp >> 2)
    stats["answered"] = np.maximum(answered - stats["logins_failed"], 0) / np.maximum(counts, 1)  # a failed login is no channel
    held, longest = held_open(gid_u[concat(c.long_pair, np.int64)], long_ts / 1e6, long_dur, n)
    stats["held_open_s"] = held + np.bincount(gid_u, weights=concat(c.short_s, np.float32), minlength=n)
    stats["longest_s"] = longest
    cand = np.flatnonzero(counts >= min_connections)
    duplicates = 0
    if len(cand):
        remap = np.full(n, -1, dtype=np.int64)
        remap[cand] = np.arange(len(cand))
        rg = remap[gid]
        sel = rg >= 0
        part = statistics(rg[sel], ts[sel], sent[sel], len(cand), start, window)
        duplicates = int(part.pop("duplicates")[0])
        for k, v in part.items():
            stats[k][cand] = v
    rest = np.flatnonzero(counts < min_connections)
    if len(rest):  # first and last connection of the small pairs (for first_seen/last_seen)
        first, last = np.full(n, np.inf), np.full(n, -np.inf)
        few = counts[gid] < min_connections
        np.minimum.at(first, gid[few], ts[few])
        np.maximum.at(last, gid[few], ts[few])
        stats["first_s"][rest], stats["last_s"][rest] = (first[rest] - start) / 1e6, (last[rest] - start) / 1e6
    table: dict[str, np.ndarray] = {"source.code": addrs[p_src], "destination.code": addrs[p_dst],
                                    "destination.port": (p_pp >> 2).astype(np.int64), "proto": (p_pp & 3).astype(np.int64), **stats}
    table[KIND] = np.full(n, "address", dtype=object)
    table["destination.domain"] = _names(acc, addrs, p_src, p_dst, p_pp >> 2)
    extra = [_domain_pairs(table, gid, ts, sent, start, window, min_connections)]
    proxy_rows, proxies = _proxy_pairs(acc, hids, hts, hsize, hans, start, window)
    extra = [f for f in (*extra, proxy_rows) if len(f)]
    table["members"] = np.full(n, None, dtype=object)
    if extra:  # domain and proxy pairs are few: append them column by column
        table = {k: np.concatenate([v, *(f[k].to_numpy(dtype=v.dtype if v.dtype != object else object) if k in f.columns
                                         else np.full(len(f), None, dtype=object) for f in extra)]) for k, v in table.items()}
    proxy_keys = {int(code) * 65536 + int(p) for (a, p) in proxies for code in acc.addresses.encode_dictionary(_arr([a]))[:1] if code >= 0}
    is_proxy = np.isin(table["destination.code"] * 65536 + table["destination.port"], list(proxy_keys)) & (table[KIND] == "address")
    table["destination.is_proxy"] = is_proxy
    table["destination.domain"][is_proxy] = "(web proxy)"
    facts = {"window_s": window, "start_us": start, "duplicates": duplicates, "proxies": len(proxies), "pairs_timed": len(cand)}
    return table, facts


def _arr(values: list[str]):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.array(values, pa.string())


def _http(acc: PairAccumulator) -> list[np.ndarray]:
    if not acc.http_chunks:
        return [np.zeros(0, dtype=t) for t in (np.int32, np.int64, np.float32, bool, bool)]
    return [np.concatenate([ch[i] for ch in acc.http_chunks]) for i in range(5)]


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[k] for each query equal to keys[k] (keys unique), None where absent: one searchsorted."""
    out = np.full(len(query), None, dtype=object)
    if len(keys) == 0 or len(query) == 0:
        return out
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    hit = keys[pos] == query
    out[hit] = values[pos[hit]]
    return out


def _failed_logins(acc: PairAccumulator, addrs: np.ndarray, p_src: np.ndarray, p_dst: np.ndarray, port: np.ndarray) -> np.ndarray:
    """SSH sessions without a login (ssh.log) per address pair, joined on (source, destination, port)."""
    if not acc.failed_logins:
        return np.zeros(len(p_src))
    logins = sum_counts(acc.failed_logins, PAIR_KEYS)
    key, ok = _address_keys(addrs, logins["src"].to_numpy(), logins["dst"].to_numpy())
    key = (key * 65536 + logins["port"].to_numpy())[ok]
    found = lookup(key, logins["n"].to_numpy()[ok], (p_src.astype(np.int64) * max(len(addrs), 1) + p_dst) * 65536 + port)
    return np.where(found == None, 0.0, found).astype(np.float64)  # noqa: E711


def _address_keys(addrs: np.ndarray, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed (source, destination) key over the dense address index, mask of rows whose two addresses are known)."""
    s, d = _dense(addrs, src), _dense(addrs, dst)
    return s * max(len(addrs), 1) + d, (s >= 0) & (d >= 0)


def _dense(addrs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Index of each address code in `addrs` (distinct codes), -1 when absent."""
    return pd.Index(addrs).get_indexer(codes).astype(np.int64)


def _names(acc: PairAccumulator, addrs: np.ndarray, p_src: np.ndarray, p_dst: np.ndarray, port: np.ndarray) -> np.ndarray:
    """The most frequent http Host / TLS SNI per pair, else the DNS name the client resolved to the address.

    Keys are packed integers over the dense address index (`addrs`), looked up with one searchsorted.
    """
    n_addr = max(len(addrs), 1)
    out = np.full(len(p_src), None, dtype=object)
    pair_sd = p_src.astype(np.int64) * n_addr + p_dst
    if acc.names:
        names = sum_counts(acc.names, NAME_KEYS).sort_by([("n", "descending")])
        key, ok = _address_keys(addrs, names["src"].to_numpy(), names["dst"].to_numpy())
        key = (key * 65536 + names["port"].to_numpy())[ok]
        first = np.unique(key, return_index=True)[1]  # the most frequent name of each key (sorted by count)
        out = lookup(key[first], names["name"].to_numpy(zero_copy_only=False)[ok][first], pair_sd * 65536 + port)
    if acc.dns:
        dns = last_names(acc.dns)
        key, ok = _address_keys(addrs, dns["client"].to_numpy(), dns["address"].to_numpy())
        missing = np.flatnonzero(out == None)  # noqa: E711
        if len(missing) and ok.any():
            out[missing] = lookup(key[ok], dns["name"].to_numpy(zero_copy_only=False)[ok], pair_sd[missing])
    return out


def _domain_pairs(table: dict[str, np.ndarray], gid: np.ndarray, ts: np.ndarray, sent: np.ndarray, start: int, window: float,
                  min_connections: int) -> pd.DataFrame:
    """(source, domain) pairs whose name spans several address pairs (CDN rotation, fallback servers)."""
    dom = np.asarray(table["destination.domain"], dtype=object)
    named = pd.notna(dom)
    named[named] = ~pd.Series(dom[named], dtype=object).str.match(r"^[\d.]+$|:").to_numpy(dtype=bool)  # a name, not an address literal
    has = np.flatnonzero(named)
    if len(has) == 0:
        return pd.DataFrame()
    src = table["source.code"][has]
    codes, _ = pd.factorize(pd.Series(src.astype(str)) + "\x1f" + pd.Series(dom[has].astype(str)))
    size = np.bincount(codes)
    multi = size[codes] >= 2
    if not multi.any():
        return pd.DataFrame()
    pairs, codes = has[multi], pd.factorize(codes[multi])[0]
    k = int(codes.max()) + 1
    mapping = np.full(len(table["connections"]), -1, dtype=np.int64)
    mapping[pairs] = codes
    group = mapping[gid]
    sel = group >= 0
    stats = statistics(group[sel], ts[sel], sent[sel], k, start, window)
    stats.pop("duplicates")
    n = np.bincount(group[sel], minlength=k).astype(np.float64)
    for name in TIMING:
        stats[name] = np.where(n >= min_connections, stats[name], np.nan)
    conn = table["connections"][pairs]
    port = table["destination.port"][pairs]
    lo, hi, longest = np.full(k, 1 << 20), np.full(k, -1), np.zeros(k)
    np.minimum.at(lo, codes, port)
    np.maximum.at(hi, codes, port)
    np.maximum.at(longest, codes, table["longest_s"][pairs])
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=k))[:-1]
    dst = table["destination.code"][pairs]
    firsts = order[np.concatenate([[0], bounds])]
    out = pd.DataFrame({"source.code": src[multi][firsts], "destination.code": -1, "destination.port": np.where(lo == hi, lo, -1),
                        "proto": 1, **stats, "connections": n,
                        "answered": np.bincount(codes, weights=table["answered"][pairs] * conn, minlength=k) / np.maximum(n, 1),
                        "held_open_s": np.bincount(codes, weights=table["held_open_s"][pairs], minlength=k),
                        "logins_failed": np.bincount(codes, weights=table["logins_failed"][pairs], minlength=k),
                        "longest_s": longest})
    out["members"] = [sorted(set(m.tolist())) for m in np.split(dst[order], bounds)]
    out[KIND], out["destination.domain"] = "domain", dom[pairs[firsts]]
    return out


def _proxy_pairs(acc: PairAccumulator, hids: np.ndarray, hts: np.ndarray, hsize: np.ndarray, hans: np.ndarray,
                 start: int, window: float) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """(client, proxy, port, real host) pairs from proxy-style http requests, and the proxies found."""
    m = len(acc.http_keys)
    if m == 0:
        return pd.DataFrame(), set()
    client, proxy, port, host = acc.http_keys.split(4)
    requests = np.bincount(hids, minlength=m)
    totals = None
    if acc.http_dst:
        keys, n = http_requests(acc.http_dst)
        totals = pd.DataFrame({"address": acc.addresses.decode(keys // 65536).to_pandas(), "port": keys % 65536, "n": n})
    proxies = find_proxies(client, proxy, port, requests, totals)
    chosen = np.array([(p, q) in proxies for p, q in zip(proxy, port)], dtype=bool)
    if not chosen.any():
        return pd.DataFrame(), proxies
    remap = np.full(m, -1, dtype=np.int64)
    remap[chosen] = np.arange(int(chosen.sum()))
    group = remap[hids]
    sel = group >= 0
    k = int(chosen.sum())
    stats = statistics(group[sel], hts[sel], hsize[sel], k, start, window)
    stats.pop("duplicates")
    coder: AddressCoder = acc.addresses
    out = pd.DataFrame({"source.code": coder.encode(_arr(list(client[chosen]))), "destination.code": coder.encode(_arr(list(proxy[chosen]))),
                        "destination.port": port[chosen].astype(np.int64), "proto": TRANSPORTS.index("tcp"), **stats,
                        "answered": np.bincount(group[sel], weights=hans[sel], minlength=k) / np.maximum(stats["connections"], 1),
                        "held_open_s": 0.0, "longest_s": 0.0, "logins_failed": 0.0})
    out[KIND], out["destination.domain"] = "proxy", host[chosen]
    return out, proxies
