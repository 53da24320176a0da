"""Grouping connections into pairs, batch by batch, with memory that grows with pairs.

`PairAccumulator.add(kind, table)` takes Arrow batches of Zeek conn, http, ssl and dns records.
Per batch, connections are reduced to compact columns (pair id int32, start time int64 µs, bytes
sent, bytes answered, duration: ~29 bytes each, no strings) and names to per-pair counts: the
string keys live once per pair in `KeyIndex`. `finish()` sorts by (pair, time) once and hands the
runs to `features`.

Pairs: (source.ip, destination.ip, destination.port); (source.ip, destination domain) when one
name spans several destination addresses; and, behind a web proxy, (client, proxy, port, real
destination) from http.log's CONNECT targets and absolute-URI requests (see `proxy.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEP = "\x1f"
ANSWERED_STATES = ("SF", "S1", "S2", "S3", "RSTO", "RSTR", "SH", "SHR")


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
    missing_fields: int = 0
    bad_duration: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    ipv6: int = 0
    other: Counter[str] = field(default_factory=Counter)


def _col(table: pa.Table, name: str, typ: pa.DataType | None = None) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, typ or pa.string())
    col = table.column(name).combine_chunks()
    return col.cast(typ) if typ is not None and col.type != typ else col


def _key(table: pa.Table, names: list[str]) -> pa.Array:
    cols = [pc.cast(_col(table, n), pa.string()) for n in names]
    return pc.binary_join_element_wise(*cols, SEP)


def _micros(table: pa.Table) -> pa.Array:
    ts = _col(table, "@timestamp", pa.timestamp("us", tz="UTC"))
    return ts.cast(pa.int64())


def host_only(names: pa.Array) -> pa.Array:
    """Lower-cased host names without a `:port` suffix or trailing dot."""
    s = pc.utf8_lower(pc.cast(names, pa.string()))
    s = pc.replace_substring_regex(s, r"^\[?([^\]]*?)\]?(:\d+)?$", r"\1")
    return pc.utf8_rtrim(s, characters=".")


class PairAccumulator:
    """Per-pair state fed batch by batch (see the module docstring)."""

    def __init__(self) -> None:
        self.conn_keys = KeyIndex()
        self.transport: dict[int, str] = {}
        self.chunks: list[tuple[np.ndarray, ...]] = []
        self.http_keys = KeyIndex()
        self.http_chunks: list[tuple[np.ndarray, ...]] = []
        self.names: list[pd.DataFrame] = []  # (pair key, name, count) from http Host and ssl SNI
        self.http_dst: list[pd.DataFrame] = []  # (address, port, requests) of every http request
        self.dns: list[pd.DataFrame] = []  # (client, address, name)
        self.counts = Counts()
        self._last_max = -(1 << 62)
        self._batch_max = -(1 << 62)
        self._source: str | None = None

    # --- feeding ---------------------------------------------------------------------------------
    def add(self, kind: str, table: pa.Table, source: str | None = None) -> None:
        """Take one batch of kind conn, http, ssl or dns (others are counted and ignored)."""
        if source != self._source:  # a new file: connections earlier than the last file's end are out of order
            self._last_max, self._source = max(self._last_max, self._batch_max), source
        if kind == "conn":
            self._add_conn(table)
        elif kind == "http":
            self._add_http(table)
        elif kind == "ssl":
            self.counts.ssl += table.num_rows
            self._add_names(table, "tls.client.server_name")
        elif kind == "dns":
            self._add_dns(table)
        else:
            self.counts.other[kind] += table.num_rows

    def _add_conn(self, table: pa.Table) -> None:
        self.counts.conn += table.num_rows
        key = _key(table, ["source.ip", "destination.ip", "destination.port"])
        ts = _micros(table)
        ok = pc.and_(pc.is_valid(key), pc.is_valid(ts))
        missing = table.num_rows - pc.sum(ok).as_py() if table.num_rows else 0
        self.counts.missing_fields += missing
        if missing:
            table, key, ts = table.filter(ok), key.filter(ok), ts.filter(ok)
        if table.num_rows == 0:
            return
        ids = self.conn_keys.encode(key)
        t = ts.to_numpy(zero_copy_only=False)
        self.counts.out_of_order += int((t < self._last_max).sum())
        self._batch_max = max(self._batch_max, int(t.max()))
        self.counts.ipv6 += int(pc.sum(pc.match_substring(pc.fill_null(_col(table, "source.ip"), ""), ":")).as_py() or 0)
        dur = _col(table, "zeek.conn.duration", pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(dur) | (dur < 0)
        self.counts.bad_duration += int(bad.sum())
        dur = np.where(bad, np.nan, dur).astype(np.float32)
        sent = _col(table, "source.bytes", pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32)
        got = _col(table, "destination.bytes", pa.float64()).to_numpy(zero_copy_only=False)
        state = _col(table, "zeek.conn.conn_state", pa.string())
        # a call-back is answered with data both ways; without byte counts, an established state counts
        # (neither bytes nor state known, e.g. connection starts from a packet capture: benefit of the doubt)
        established = pc.or_kleene(pc.is_null(state), pc.is_in(state, pa.array(ANSWERED_STATES))).to_numpy(zero_copy_only=False)
        known = np.isfinite(sent) & np.isfinite(got)
        answered = np.where(known, (np.nan_to_num(sent) > 0) & (np.nan_to_num(got) > 0), established)
        self.chunks.append((ids.astype(np.int32), t, sent, dur, answered))
        new = [i for i in np.unique(ids) if i not in self.transport]
        if new:
            proto = _col(table, "network.transport", pa.string()).to_numpy(zero_copy_only=False)
            first = pd.Series(proto).groupby(ids).first().to_dict()
            self.transport.update({int(i): first.get(i) or "" for i in new})

    def _add_http(self, table: pa.Table) -> None:
        self.counts.http += table.num_rows
        self._add_names(table, "url.domain")
        per = pd.DataFrame({"address": _col(table, "destination.ip").to_pandas(),
                            "port": _col(table, "destination.port", pa.int64()).to_pandas()}).dropna()
        self.http_dst.append(per.groupby(["address", "port"]).size().rename("n").reset_index())
        if len(self.http_dst) > 64:
            self.http_dst = [pd.concat(self.http_dst).groupby(["address", "port"])["n"].sum().reset_index()]
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
                                 np.full(len(ids), np.nan, dtype=np.float32), answered,
                                 connect_flag.to_numpy(zero_copy_only=False)))

    def _add_names(self, table: pa.Table, column: str) -> None:
        name = host_only(_col(table, column, pa.string()))
        frame = pd.DataFrame({"key": _key(table, ["source.ip", "destination.ip", "destination.port"]).to_pandas(),
                              "name": name.to_pandas()}).dropna()
        frame = frame[frame["name"] != ""]
        if len(frame):
            self.names.append(frame.groupby(["key", "name"], sort=False).size().rename("n").reset_index())
            if len(self.names) > 64:
                self.names = [_sum_names(self.names)]

    def _add_dns(self, table: pa.Table) -> None:
        self.counts.dns += table.num_rows
        if "dns.answers.data" not in table.column_names:
            return
        answers = _col(table, "dns.answers.data")
        if not pa.types.is_list(answers.type):
            return
        lengths = pc.fill_null(pc.list_value_length(answers), 0).to_numpy(zero_copy_only=False)
        rows = np.repeat(np.arange(table.num_rows), lengths)
        frame = pd.DataFrame({"client": _col(table, "source.ip").take(rows).to_pandas(),
                              "address": pc.list_flatten(answers).to_pandas(),
                              "name": host_only(_col(table, "dns.question.name")).take(rows).to_pandas()}).dropna()
        if len(frame):
            self.dns.append(frame.drop_duplicates(["client", "address"], keep="last"))
            if len(self.dns) > 64:
                self.dns = [pd.concat(self.dns).drop_duplicates(["client", "address"], keep="last")]


def _sum_names(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts).groupby(["key", "name"], sort=False)["n"].sum().reset_index()


def concat_chunks(chunks: list[tuple[np.ndarray, ...]], width: int) -> list[np.ndarray]:
    """Concatenate per-batch column tuples (empty arrays when there are none)."""
    if not chunks:
        return [np.zeros(0, dtype=t) for t in (np.int32, np.int64, np.float32, np.float32, bool, bool)[:width]]
    return [np.concatenate([c[i] for c in chunks]) for i in range(width)]
