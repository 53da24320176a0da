"""Addresses as integers: IPv4 parsed vectorised into 0..2**32-1, anything else (IPv6) a code from 2**32 up.

`AddressCoder.encode(strings)` dictionary-encodes an Arrow string column (one hash per row, in C++),
parses only the distinct values, and returns int64 codes per row. `decode(codes)` formats them back
(IPv4 with Arrow string kernels, others from the kept strings). Internal ranges and allowlisted
networks are matched on the integers (`in_networks`).
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OTHER = 1 << 32  # codes >= OTHER are non-IPv4 addresses (index into `AddressCoder.other`)
IPV4 = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def ipv4_codes(strings: pa.Array) -> np.ndarray:
    """int64 code per string: the IPv4 address as an integer, -1 when it is not a dotted quad."""
    out = np.full(len(strings), -1, dtype=np.int64)
    if len(strings) == 0:
        return out
    ok = pc.fill_null(pc.match_substring_regex(strings, IPV4), False)
    sel = np.flatnonzero(ok.to_numpy(zero_copy_only=False))
    if len(sel) == 0:
        return out
    parts = pc.list_flatten(pc.split_pattern(strings.filter(ok), "."))
    octets = pc.cast(parts, pa.int64()).to_numpy(zero_copy_only=False).reshape(-1, 4)
    code = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    out[sel] = np.where((octets <= 255).all(axis=1), code, -1)
    return out


class AddressCoder:
    """Stable int64 codes for address strings (IPv4 by value, others by first appearance)."""

    def __init__(self) -> None:
        self.other: list[str] = []
        self._other_ids: dict[str, int] = {}

    def encode(self, strings: pa.Array) -> np.ndarray:
        """Codes per row of an Arrow string array (nulls give -1)."""
        if isinstance(strings, pa.ChunkedArray):
            strings = strings.combine_chunks()
        if len(strings) == 0:
            return np.zeros(0, dtype=np.int64)
        enc = pc.dictionary_encode(strings)
        return self.encode_dictionary(enc.dictionary)[pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)]

    def encode_dictionary(self, dictionary: pa.Array) -> np.ndarray:
        """Codes of a dictionary's values, plus a trailing -1 so that index -1 (null) maps to -1."""
        codes = ipv4_codes(dictionary)
        for i in np.flatnonzero(codes < 0):
            text = dictionary[int(i)].as_py()
            if text:
                codes[i] = OTHER + self._other_id(text.lower())
        return np.concatenate([codes, [-1]])

    def _other_id(self, text: str) -> int:
        found = self._other_ids.get(text)
        if found is None:
            found = self._other_ids[text] = len(self.other)
            self.other.append(text)
        return found

    def decode(self, codes: np.ndarray) -> pa.Array:
        """Address strings (an Arrow string array, null for -1) for codes."""
        codes = np.asarray(codes, dtype=np.int64)
        v4 = (codes >= 0) & (codes < OTHER)
        c = np.where(v4, codes, 0)
        octets = [pc.cast(pa.array((c >> s) & 255), pa.string()) for s in (24, 16, 8, 0)]
        text = pc.binary_join_element_wise(*octets, ".")
        if not v4.all():
            other = codes >= OTHER
            names = np.full(len(codes), None, dtype=object)
            names[other] = [self.other[int(k) - OTHER] for k in codes[other]]
            text = pc.if_else(pa.array(v4), text, pa.array(names, pa.string()))
        return text


def network_ranges(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> np.ndarray:
    """(lo, hi) integer ranges of the IPv4 networks, shape (n, 2)."""
    rows = [(int(n.network_address), int(n.broadcast_address)) for n in networks if n.version == 4]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def in_networks(codes: np.ndarray, coder: AddressCoder, networks: list) -> np.ndarray:
    """Index of the first network covering each address code, -1 when none (IPv6 checked per distinct value)."""
    codes = np.asarray(codes, dtype=np.int64)
    out = np.full(len(codes), -1, dtype=np.int64)
    for k, net in enumerate(networks):
        if net.version == 4:
            lo, hi = int(net.network_address), int(net.broadcast_address)
            out[(out < 0) & (codes >= lo) & (codes <= hi)] = k
    other = np.flatnonzero((codes >= OTHER) & (out < 0))
    if len(other) and any(n.version == 6 for n in networks):
        uniq, inv = np.unique(codes[other], return_inverse=True)
        hits = []
        for c in uniq:
            try:
                ip = ipaddress.ip_address(coder.other[int(c) - OTHER])
            except ValueError:
                hits.append(-1)
                continue
            hits.append(next((k for k, n in enumerate(networks) if n.version == ip.version and ip in n), -1))
        out[other] = np.asarray(hits, dtype=np.int64)[inv]
    return out
