"""The split of cleaned URLs into their parts by `URL_RE`, found from delimiter positions with numpy.

`URL_RE` reads, in order: an optional `scheme://` (or `//`), an authority up to the first `/`, `?`
or `#`, whose userinfo runs to its last `@`, a host (a `[...]` literal, else up to `:`) and a port
after a `:`, then the path up to `?` or `#`, the query up to `#`, and the fragment. Every delimiter
is ASCII, and no byte of a multi-byte UTF-8 character is, so the split works on the bytes of the
batch: one scan for the delimiters, then a binary search per row and part. This gives what Arrow's
RE2 `extract_regex(text, URL_RE)` gives, at about a third of its cost; rows holding a line break
(where `.` stops, so the regex may not match) are left to RE2.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

URL_RE = (r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,15})://|//)?(?:(?P<userinfo>[^/?#]*)@)?"
          r"(?P<host>\[[^\]/?#]*\]|[^/?#:]*)(?::(?P<port>[^/?#]*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$")
PARTS = ("scheme", "userinfo", "host", "port", "path", "query", "fragment")
_SCHEME = r"^[a-zA-Z][a-zA-Z0-9+.-]{0,15}://"


def split_urls(text: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """({part: string array, '' when absent}, True where `URL_RE` does not match) for a string array without nulls."""
    fields = _split(text)
    no_match = np.zeros(len(text), dtype=bool)
    odd = pc.match_substring(text, "\n").to_numpy(zero_copy_only=False)
    if odd.any():
        mask = pa.array(odd)
        parts = pc.extract_regex(text.filter(mask), URL_RE)
        no_match[odd] = pc.is_null(parts).to_numpy(zero_copy_only=False)
        for name in PARTS:
            fields[name] = pc.replace_with_mask(fields[name], mask, pc.fill_null(pc.struct_field(parts, name), ""))
    return fields, no_match


def _split(text: pa.Array) -> dict[str, pa.Array]:
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset: text.offset + n + 1].astype(np.int64)
    buf = text.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None and len(buf) else np.zeros(1, np.uint8)
    start, end = offsets[:-1], offsets[1:]
    slash, question, hash_, colon, at, close = (data == ord(c) for c in "/?#:@]")
    pos = np.flatnonzero(slash | question | hash_ | colon | at | close)  # every delimiter, then each kind
    kind = data[pos]
    ends_authority = pos[(kind == ord("/")) | (kind == ord("?")) | (kind == ord("#"))]
    ends_host = pos[(kind == ord("/")) | (kind == ord("?")) | (kind == ord("#")) | (kind == ord(":"))]
    ends_path = pos[(kind == ord("?")) | (kind == ord("#"))]
    hashes, colons, ats, closes = (pos[kind == ord(c)] for c in "#:@]")

    has_scheme = pc.match_substring_regex(text, _SCHEME).to_numpy(zero_copy_only=False)
    scheme_end = np.where(has_scheme, _first(colons, start, end), start)
    slashes = pc.starts_with(text, "//").to_numpy(zero_copy_only=False)
    auth = np.where(has_scheme, scheme_end + 3, np.where(slashes, start + 2, start))
    auth_end = _first(ends_authority, auth, end)
    last_at = np.searchsorted(ats, auth_end) - 1  # userinfo runs to the last '@' of the authority
    at_pos = ats[np.maximum(last_at, 0)] if len(ats) else auth
    has_userinfo = (last_at >= 0) & (at_pos >= auth)
    host = np.where(has_userinfo, at_pos + 1, auth)
    bracket_end = _first(closes, host + 1, auth_end)
    bracketed = (host < end) & (data[np.minimum(host, len(data) - 1)] == ord("[")) & (bracket_end < auth_end)
    host_end = np.where(bracketed, bracket_end + 1, _first(ends_host, host, end))
    has_port = (host_end < end) & (data[np.minimum(host_end, len(data) - 1)] == ord(":"))
    path = np.where(has_port, auth_end, host_end)
    path_end = _first(ends_path, path, end)
    has_query = (path_end < end) & (data[np.minimum(path_end, len(data) - 1)] == ord("?"))
    fragment = _first(hashes, path, end)
    has_fragment = fragment < end
    bounds = {
        "scheme": (start, scheme_end),
        "userinfo": (auth, np.where(has_userinfo, at_pos, auth)),
        "host": (host, host_end),
        "port": (np.where(has_port, host_end + 1, auth_end), auth_end),
        "path": (path, path_end),
        "query": (np.where(has_query, path_end + 1, fragment), fragment),
        "fragment": (np.where(has_fragment, fragment + 1, end), end),
    }
    return {name: _substrings(data, lo, hi) for name, (lo, hi) in bounds.items()}


def _first(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per row: the first of the sorted `positions` in [lo, hi), else hi."""
    if not len(positions):
        return hi
    found = positions[np.minimum(np.searchsorted(positions, lo), len(positions) - 1)]
    return np.where((found >= lo) & (found < hi), found, hi)


def _substrings(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> pa.Array:
    """The string array of bytes data[lo:hi] per row (cut at ASCII delimiters, so valid UTF-8)."""
    lengths = hi - lo
    offsets = np.zeros(len(lo) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    take = np.repeat(lo - offsets[:-1], lengths) + np.arange(offsets[-1])
    return pa.StringArray.from_buffers(len(lo), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data[take]))
