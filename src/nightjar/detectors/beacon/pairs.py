"""Grouping connections into pairs, batch by batch, as compact numpy columns.

`PairAccumulator.add(kind, table)` takes Arrow batches of Zeek conn, http, ssl and dns records.
Per conn batch, addresses become int64 codes (`addresses.py`: IPv4 by value, parsed once per
distinct string), the pair (source, destination, port, transport) is packed into one integer and
factorised (a hash, no sort) into the batch's distinct pairs. What is kept:
- per connection, 16 bytes: the pair's row in the concatenated distinct-pair table (int32), the
  start time (int64 µs) and the bytes sent (float32);
- per distinct pair of a batch, additive partial sums: answered connections, durations of short
  connections; connections held open >= `LONG_S` are kept sparse (pair, start, duration).
`finish` (rows.py) unifies the batches' pairs with one `np.unique`, drops pairs with too few
connections, sorts the rest once by (pair, time) and hands the runs to `features`.

Names (http Host, TLS SNI, DNS answers), web-proxy requests and failed SSH logins (ssh.log
`auth_success` false) are reduced per batch to per-key counts; they are joined to pairs at finish time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.beacon.addresses import IPV4, OTHER, AddressCoder

SEP = "\x1f"
ANSWERED_STATES = ("SF", "S1", "S2", "S3", "RSTO", "RSTR", "SH", "SHR")
TRANSPORTS = ("", "tcp", "udp", "icmp")  # code 0 = other or unknown
PORT_BITS = 18  # 16 bits of port, 2 of transport
LONG_S = 60.0
BUFFER_ROWS = 65536
COLUMNS = {  # the columns kept of each kind read
    "conn": ("@timestamp", "source.ip", "destination.ip", "destination.port", "network.transport", "zeek.conn.duration",
             "source.bytes", "destination.bytes", "zeek.conn.conn_state"),
    "http": ("@timestamp", "source.ip", "destination.ip", "destination.port", "url.domain", "url.original",
             "http.request.method", "http.request.body.bytes", "http.response.status_code"),
    "ssl": ("source.ip", "destination.ip", "destination.port", "tls.client.server_name"),
    "dns": ("source.ip", "dns.question.name", "dns.answers.data"),
    "zeek.ssh": ("source.ip", "destination.ip", "destination.port", "zeek.ssh.auth_success", "zeek.ssh.auth_attempts"),
}  # connections at least this long are kept one by one for the held-open union


class KeyIndex:
    """Stable integer ids for string keys (one Python operation per distinct key in a batch)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.keys: list[str] = []

    def encode(self, keys: pa.Array) -> np.ndarray:
        """Global ids (int64) for an Arrow string array without nulls."""
        if len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        enc = pc.dictionary_encode(keys)
        enc = enc.combine_chunks() if isinstance(enc, pa.ChunkedArray) else enc
        local = enc.indices.to_numpy(zero_copy_only=False)
        lookup = np.fromiter((self._id(k) for k in enc.dictionary.to_pylist()), dtype=np.int64, count=len(enc.dictionary))
        return lookup[local]

    def _id(self, key: str) -> int:
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.keys)
            self.keys.append(key)
        return found

    def __len__(self) -> int:
        return len(self.keys)

    def split(self, parts: int) -> list[np.ndarray]:
        """The key columns, as object arrays."""
        cols = [k.split(SEP) for k in self.keys] if self.keys else []
        return [np.array([c[i] for c in cols], dtype=object) for i in range(parts)]


@dataclass
class Counts:
    """What happened to the records (reported in the score summary)."""

    conn: int = 0
    http: int = 0
    ssl: int = 0
    dns: int = 0
    ssh: int = 0
    missing_fields: int = 0
    bad_duration: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    ipv6: int = 0
    other: Counter[str] = field(default_factory=Counter)


@dataclass
class ConnParts:
    """The conn state: lists of per-batch numpy arrays (see the module docstring)."""

    row_pair: list[np.ndarray] = field(default_factory=list)  # int32 index into the distinct-pair columns
    row_ts: list[np.ndarray] = field(default_factory=list)  # int64 µs
    row_sent: list[np.ndarray] = field(default_factory=list)  # float32 bytes sent (NaN unknown)
    src: list[np.ndarray] = field(default_factory=list)  # per distinct pair of a batch: int64 address code
    dst: list[np.ndarray] = field(default_factory=list)
    pp: list[np.ndarray] = field(default_factory=list)  # port << 2 | transport
    answered: list[np.ndarray] = field(default_factory=list)  # answered connections
    short_s: list[np.ndarray] = field(default_factory=list)  # summed durations of connections < LONG_S
    long_pair: list[np.ndarray] = field(default_factory=list)  # sparse: connections >= LONG_S
    long_ts: list[np.ndarray] = field(default_factory=list)
    long_dur: list[np.ndarray] = field(default_factory=list)
    n_distinct: int = 0

    def bytes_per_connection(self) -> int:
        """Bytes held per connection (the per-row columns)."""
        return 4 + 8 + 4


def _col(table: pa.Table, name: str, typ: pa.DataType | None = None) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, typ or pa.string())
    col = table.column(name).combine_chunks()
    return col.cast(typ) if typ is not None and col.type != typ else col


def _micros(table: pa.Table) -> pa.Array:
    ts = _col(table, "@timestamp", pa.timestamp("us", tz="UTC"))
    return ts.cast(pa.int64())


def _float(table: pa.Table, name: str) -> np.ndarray:
    return _col(table, name, pa.float64()).to_numpy(zero_copy_only=False)


def host_only(names: pa.Array) -> pa.Array:
    """Lower-cased host names without a `:port` suffix or trailing dot."""
    s = pc.utf8_lower(pc.cast(names, pa.string()))
    s = pc.replace_substring_regex(s, r"^\[?([^\]]*?)\]?(:\d+)?$", r"\1")
    return pc.utf8_rtrim(s, characters=".")


def _dict_codes(coder: AddressCoder, column: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """(dictionary index per row, -1 for null; codes of the dictionary + trailing -1; dictionary size)."""
    enc = pc.dictionary_encode(column)
    idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, coder.encode_dictionary(enc.dictionary), len(enc.dictionary)


def transport_codes(column: pa.Array) -> np.ndarray:
    """0 (other/unknown), 1 tcp, 2 udp, 3 icmp per row."""
    enc = pc.dictionary_encode(pc.utf8_lower(pc.cast(column, pa.string())))
    lookup = np.array([TRANSPORTS.index(v) if v in TRANSPORTS else 0 for v in enc.dictionary.to_pylist()] + [0], dtype=np.int64)
    return lookup[pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)]


class PairAccumulator:
    """Per-pair state fed batch by batch (see the module docstring)."""

    def __init__(self) -> None:
        self.addresses = AddressCoder()
        self.conn = ConnParts()
        self.http_keys = KeyIndex()
        self.http_chunks: list[tuple[np.ndarray, ...]] = []
        self.names: list[pa.Table] = []  # (src, dst, port codes, name[, n]) from http Host and ssl SNI
        self.http_dst: list[np.ndarray] = []  # per batch: (address code * 65536 + port, requests), shape (2, k)
        self.dns: list[pa.Table] = []  # (client, address codes, name)
        self.failed_logins: list[pa.Table] = []  # (src, dst, port[, n]): SSH sessions without a login
        self.counts = Counts()
        self._last_max = -(1 << 62)
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_rows: dict[str, int] = {}
        self._batch_max = -(1 << 62)
        self._source: str | None = None
        self._conn_sources: list[tuple[int, str | None]] = []  # (rows, source) of the buffered conn batches

    def _count_out_of_order(self, ts: pa.Array) -> None:
        """Count connections that start before the end of an earlier file (sources in arrival order)."""
        marks, self._conn_sources = self._conn_sources, []
        t = pc.fill_null(ts, -(1 << 62)).to_numpy(zero_copy_only=False)
        sizes = np.array([m[0] for m in marks], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        batch_max = np.maximum.reduceat(t, starts) if len(t) else np.zeros(0, dtype=np.int64)
        limits = np.empty(len(marks), dtype=np.int64)
        for i, (_, source) in enumerate(marks):  # one step per batch, not per connection
            if source != self._source:  # a new file: starts before the last file's end are out of order
                self._last_max, self._source = max(self._last_max, self._batch_max), source
            limits[i] = self._last_max
            self._batch_max = max(self._batch_max, int(batch_max[i]))
        self.counts.out_of_order += int(np.count_nonzero(t < np.repeat(limits, sizes)))

    # --- feeding ---------------------------------------------------------------------------------
    def add(self, kind: str, table: pa.Table, source: str | None = None) -> None:
        """Take one batch of kind conn, http, ssl, dns or zeek.ssh (others are counted and ignored)."""
        if kind not in COLUMNS:
            self.counts.other[kind] += table.num_rows
            return
        n = table.num_rows
        counter = kind.removeprefix("zeek.")
        setattr(self.counts, counter, getattr(self.counts, counter) + n)
        if n == 0:
            return
        if kind == "conn":
            self._conn_sources.append((n, source))
        # small batches (hourly rotated files) are gathered up to BUFFER_ROWS rows, then reduced at once
        have = set(table.column_names)
        self._pending.setdefault(kind, []).append(table.select([c for c in COLUMNS[kind] if c in have]))
        self._pending_rows[kind] = self._pending_rows.get(kind, 0) + n
        if self._pending_rows[kind] >= BUFFER_ROWS:
            self._flush(kind)

    def flush(self) -> None:
        """Reduce every buffered batch (called by `finish` before reading the state)."""
        for kind in list(self._pending):
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        parts = self._pending.pop(kind, [])
        self._pending_rows[kind] = 0
        if not parts:
            return
        table = parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")
        if kind == "conn":
            self._count_out_of_order(_micros(table))
            self._add_conn(table)
        elif kind == "http":
            self._add_http(table)
        elif kind == "ssl":
            self._add_names(table, "tls.client.server_name")
        elif kind == "zeek.ssh":
            self._add_failed_logins(table)
        else:
            self._add_dns(table)

    def _add_conn(self, table: pa.Table) -> None:
        n = table.num_rows
        sidx, scodes, _ = _dict_codes(self.addresses, _col(table, "source.ip", pa.string()))
        didx, dcodes, nd = _dict_codes(self.addresses, _col(table, "destination.ip", pa.string()))
        ts_arr = _micros(table)
        port_arr = _col(table, "destination.port", pa.int64())
        ok = (scodes[sidx] >= 0) & (dcodes[didx] >= 0)
        if ts_arr.null_count or port_arr.null_count:
            ok &= pc.and_(pc.is_valid(ts_arr), pc.is_valid(port_arr)).to_numpy(zero_copy_only=False)
        sel = None if ok.all() else np.flatnonzero(ok)
        self.counts.missing_fields += n - int(ok.sum()) if sel is not None else 0
        t = ts_arr.to_numpy(zero_copy_only=False)
        port = pc.fill_null(port_arr, 0).to_numpy(zero_copy_only=False)
        proto = transport_codes(_col(table, "network.transport", pa.string()))
        dur, sent, got = _float(table, "zeek.conn.duration"), _float(table, "source.bytes"), _float(table, "destination.bytes")
        state = _col(table, "zeek.conn.conn_state", pa.string())
        if sel is not None:
            if len(sel) == 0:
                return
            sidx, didx, t, port, proto, dur, sent, got = (a[sel] for a in (sidx, didx, t, port, proto, dur, sent, got))
            state = state.take(pa.array(sel))
        key = ((sidx * max(nd, 1) + didx) << PORT_BITS) | ((port & 0xFFFF) << 2) | proto
        local, uniq = pd.factorize(key)
        uniq = np.asarray(uniq, dtype=np.int64)
        m = len(uniq)
        pair_sd = uniq >> PORT_BITS
        src, dst = scodes[pair_sd // max(nd, 1)], dcodes[pair_sd % max(nd, 1)]
        self.counts.ipv6 += int(np.count_nonzero(scodes[sidx] >= OTHER))
        bad = ~np.isfinite(dur) | (dur < 0)
        self.counts.bad_duration += int(bad.sum())
        dur = np.where(bad, 0.0, dur)
        # a call-back is answered with data both ways; without byte counts, an established state counts
        # (neither bytes nor state known, e.g. connection starts from a packet capture: benefit of the doubt)
        established = pc.or_kleene(pc.is_null(state), pc.is_in(state, pa.array(ANSWERED_STATES))).to_numpy(zero_copy_only=False)
        known = np.isfinite(sent) & np.isfinite(got)
        answered = np.where(known, (np.nan_to_num(sent) > 0) & (np.nan_to_num(got) > 0), established)
        long = dur >= LONG_S
        c = self.conn
        offset = c.n_distinct
        c.row_pair.append((local + offset).astype(np.int32))
        c.row_ts.append(t.astype(np.int64, copy=False))
        c.row_sent.append(sent.astype(np.float32))
        c.src.append(src)
        c.dst.append(dst)
        c.pp.append((uniq & ((1 << PORT_BITS) - 1)).astype(np.int32))
        c.answered.append(np.bincount(local, weights=answered, minlength=m).astype(np.float32))
        c.short_s.append(np.bincount(local, weights=np.where(long, 0.0, dur), minlength=m).astype(np.float32))
        if long.any():
            c.long_pair.append((local[long] + offset).astype(np.int64))
            c.long_ts.append(t[long])
            c.long_dur.append(dur[long])
        c.n_distinct += m

    def _codes(self, table: pa.Table, column: str) -> np.ndarray:
        return self.addresses.encode(_col(table, column, pa.string()))

    def _add_http(self, table: pa.Table) -> None:
        self._add_names(table, "url.domain")
        dst = self._codes(table, "destination.ip")
        port = pc.fill_null(_col(table, "destination.port", pa.int64()), -1).to_numpy(zero_copy_only=False)
        ok = (dst >= 0) & (port >= 0)
        self.http_dst.append(np.stack(np.unique(dst[ok] * 65536 + port[ok], return_counts=True)))
        if len(self.http_dst) > 256:
            self.http_dst = [http_requests(self.http_dst)]
        method = pc.fill_null(pc.utf8_upper(_col(table, "http.request.method", pa.string())), "")
        uri = pc.fill_null(_col(table, "url.original", pa.string()), "")
        absolute = pc.match_substring_regex(uri, r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
        connect = pc.equal(method, "CONNECT")
        proxied = pc.or_(absolute, connect)
        if not pc.any(proxied).as_py():
            return
        target = pc.if_else(connect, uri, pc.replace_substring_regex(uri, r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#@]*@)?([^/?#]*).*$", r"\2"))
        host = host_only(pc.if_else(pc.equal(pc.fill_null(_col(table, "url.domain", pa.string()), ""), ""), target,
                                    _col(table, "url.domain", pa.string())))
        sub = table.filter(proxied)
        host = host.filter(proxied)
        ts = _micros(sub)
        keyed = pa.table({"s": _col(sub, "source.ip", pa.string()), "d": _col(sub, "destination.ip", pa.string()),
                          "p": pc.cast(_col(sub, "destination.port", pa.int64()), pa.string()), "h": pc.cast(host, pa.string())})
        key = pc.binary_join_element_wise(keyed["s"], keyed["d"], keyed["p"], keyed["h"], SEP).combine_chunks()
        ok = pc.and_(pc.is_valid(key), pc.is_valid(ts))
        key, ts, sub = key.filter(ok), ts.filter(ok), sub.filter(ok)
        if len(key) == 0:
            return
        ids = self.http_keys.encode(key)
        size = pc.add(pc.fill_null(pc.cast(pc.utf8_length(_col(sub, "url.original", pa.string())), pa.float64()), 0.0),
                      pc.fill_null(_col(sub, "http.request.body.bytes", pa.float64()), 0.0)).to_numpy(zero_copy_only=False)
        status = _col(sub, "http.response.status_code", pa.int64()).to_numpy(zero_copy_only=False)
        answered = np.isfinite(status.astype(np.float64))
        connect_flag = pc.equal(pc.fill_null(pc.utf8_upper(_col(sub, "http.request.method", pa.string())), ""), "CONNECT")
        self.http_chunks.append((ids.astype(np.int32), ts.to_numpy(zero_copy_only=False), size.astype(np.float32),
                                 answered, connect_flag.to_numpy(zero_copy_only=False)))

    def _add_names(self, table: pa.Table, column: str) -> None:
        if column not in table.column_names or table.num_rows == 0:
            return
        name = host_only(_col(table, column, pa.string()))
        src, dst = self._codes(table, "source.ip"), self._codes(table, "destination.ip")
        port = pc.fill_null(_col(table, "destination.port", pa.int64()), -1).to_numpy(zero_copy_only=False)
        ok = pc.fill_null(pc.not_equal(name, ""), False).to_numpy(zero_copy_only=False) & (src >= 0) & (dst >= 0)
        if ok.any():
            self.names.append(pa.table({"src": src[ok], "dst": dst[ok], "port": port[ok], "name": name.filter(pa.array(ok))}))
            if len(self.names) > 256:
                self.names = [sum_counts(self.names, NAME_KEYS)]

    def _add_failed_logins(self, table: pa.Table) -> None:
        """Count SSH sessions that never logged in, per (source, destination, port).

        Failed means `auth_success` F, or no authentication attempt at all (`auth_attempts` 0 with no
        result: key exchange, then goodbye; Zeek counts at least one attempt whenever the client tries).
        Either is answered at the TCP level but is not a working channel: password-guessing and
        key-collecting bots are the periodic noise of every internet-facing SSH server, while a C2
        channel over SSH has to log in. Sessions with attempts and an unknown result are not counted.
        """
        success = _col(table, "zeek.ssh.auth_success", pa.bool_())
        attempts = pc.fill_null(_col(table, "zeek.ssh.auth_attempts", pa.int64()), -1)
        never = pc.and_(pc.is_null(success), pc.equal(attempts, 0))
        failed = pc.or_(pc.fill_null(pc.invert(success), False), never).to_numpy(zero_copy_only=False)
        if not failed.any():
            return
        sub = table.filter(pa.array(failed))
        src, dst = self._codes(sub, "source.ip"), self._codes(sub, "destination.ip")
        port = pc.fill_null(_col(sub, "destination.port", pa.int64()), -1).to_numpy(zero_copy_only=False)
        ok = (src >= 0) & (dst >= 0) & (port >= 0)
        if ok.any():
            self.failed_logins.append(pa.table({"src": src[ok], "dst": dst[ok], "port": port[ok]}))
            if len(self.failed_logins) > 256:
                self.failed_logins = [sum_counts(self.failed_logins, PAIR_KEYS)]

    def _add_dns(self, table: pa.Table) -> None:
        if "dns.answers.data" not in table.column_names:
            return
        answers = _col(table, "dns.answers.data")
        if not pa.types.is_list(answers.type):
            return
        lengths = pc.fill_null(pc.list_value_length(answers), 0).to_numpy(zero_copy_only=False)
        rows = np.repeat(np.arange(table.num_rows), lengths)
        flat = pc.cast(pc.list_flatten(answers), pa.string())
        is_ip = pc.fill_null(pc.or_(pc.match_substring_regex(flat, IPV4), pc.match_substring(flat, ":")), False)
        rows, flat = rows[is_ip.to_numpy(zero_copy_only=False)], flat.filter(is_ip)
        if len(rows) == 0:
            return
        client, address = self._codes(table, "source.ip")[rows], self.addresses.encode(flat)
        name = host_only(_col(table, "dns.question.name")).take(pa.array(rows))
        ok = (client >= 0) & (address >= 0) & pc.is_valid(name).to_numpy(zero_copy_only=False)
        if ok.any():
            self.dns.append(pa.table({"client": client[ok], "address": address[ok], "name": name.filter(pa.array(ok))}))
            if len(self.dns) > 256:
                self.dns = [last_names(self.dns)]


def http_requests(parts: list[np.ndarray]) -> np.ndarray:
    """Merge per-batch (address * 65536 + port, requests) arrays: shape (2, k)."""
    both = np.concatenate(parts, axis=1)
    keys, inv = np.unique(both[0], return_inverse=True)
    return np.stack([keys, np.bincount(inv, weights=both[1]).astype(np.int64)])


NAME_KEYS = ("src", "dst", "port", "name")
PAIR_KEYS = ("src", "dst", "port")


def sum_counts(parts: list[pa.Table], keys: tuple[str, ...]) -> pa.Table:
    """Merge per-batch rows into one row per `keys` with the summed `n` (a row without `n` counts 1)."""
    parts = [p if "n" in p.column_names else p.append_column("n", pa.array(np.ones(p.num_rows, dtype=np.int64))) for p in parts]
    summed = pa.concat_tables(parts).group_by(list(keys)).aggregate([("n", "sum")])
    return pa.table({**{k: summed[k] for k in keys}, "n": summed["n_sum"]})


def last_names(parts: list[pa.Table]) -> pa.Table:
    """The last name each client resolved to each address."""
    frame = pa.concat_tables(parts).to_pandas().drop_duplicates(["client", "address"], keep="last")
    return pa.Table.from_pandas(frame, preserve_index=False)


def concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """Concatenate per-batch arrays (an empty array of `dtype` when there are none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
