"""URL parsing for a batch: clean junk, split into parts, reject what is not a URL (with the reason).

The split is the generic URI regex of RFC 3986 appendix B (the one `urllib.parse.urlsplit` follows),
`split.URL_RE`, applied to the whole batch at once (split.py), with the browser's leniencies: no scheme
(`example.com/login`), backslashes as slashes, a userinfo part that runs to the last `@`
(`http://paypal.com@evil.example/`). Before the split: control characters are removed, inner spaces
are encoded as `%20`, defanged URLs (`hxxp://`, `[.]`) are restored. After it, the host is lower-cased,
IDN hosts become punycode, and a host that is not a name or an IP address rejects the row. Tests check
the split against `urllib.parse.urlsplit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.url.split import split_urls

PLACEHOLDERS = ("n/a", "na", "-", "null", "none", "nan", "(null)", "undefined", "about:blank")
_HOST_OK = r"^([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)+[a-z0-9-]{2,63}$"
_IPV4 = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"
_IPV4_INT = r"^(0x[0-9a-f]+|[0-9]{8,10})$"  # http://3232235777/ style hosts
# a text that matches none of these is left as it is by `_repair`: no control character, U+FFFD, leading
# "hxxp" (rewritten whenever the batch holds a defanged URL), defanged part, backslash, white space, or
# scheme followed by other than two slashes
_UNUSUAL = r"[\x00-\x20\x7f\\]|\x{fffd}|^(?i)hxxp|\[\.\]|\(\.\)|\[:\]|^[a-zA-Z][a-zA-Z0-9+.-]{0,15}:/($|[^/]|//)"


@dataclass
class Parsed:
    """Per URL: the parts (Arrow string arrays, '' when absent), reject reason or None, note or None."""

    scheme: pa.Array
    userinfo: pa.Array
    host: pa.Array
    port: pa.Array
    path: pa.Array
    query: pa.Array
    fragment: pa.Array
    length: np.ndarray  # characters of the cleaned URL
    reason: np.ndarray
    note: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """True where the URL was recovered and can be scored."""
        return self.reason == None  # noqa: E711


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _add(target: np.ndarray, mask: np.ndarray, text: str) -> None:
    """Append `text` to the notes (or reasons) at `mask`."""
    for i in np.flatnonzero(mask):
        target[i] = text if target[i] is None else f"{target[i]}; {text}"


def _idna_host(host: str) -> str | None:
    try:
        return host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


def clean(values: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(cleaned text, reason, note): strip, drop control characters, restore defanged URLs."""
    n = len(values)
    reason = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    text = pc.utf8_trim(values.cast(pa.string()), " \t\r\n\"'<>")
    empty = _mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
    reason[empty] = "empty line"
    text = pc.fill_null(text, "")
    unusual = _mask(pc.match_substring_regex(text, _UNUSUAL))
    if unusual.any():  # most URLs need none of the repairs: run them on the flagged rows only
        fixed, note[unusual] = _repair(text.filter(pa.array(unusual)))
        text = pc.replace_with_mask(text, pa.array(unusual), fixed)
    placeholder = _mask(pc.is_in(pc.utf8_lower(text), pa.array(PLACEHOLDERS)))
    reason[placeholder & (reason == None)] = "placeholder, not a URL"  # noqa: E711
    return text, reason, note


def _repair(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(repaired text, note or None): control characters, defanged URLs, backslashes, slashes after the scheme, spaces."""
    note = np.full(len(text), None, dtype=object)
    ctrl = _mask(pc.match_substring_regex(text, r"[\x00-\x1f\x7f]"))
    if ctrl.any():
        text = pc.replace_substring_regex(text, r"[\x00-\x1f\x7f]+", "")
        _add(note, ctrl, "control characters removed")
    bad_bytes = _mask(pc.match_substring(text, "\ufffd"))
    _add(note, bad_bytes, "bytes that are not UTF-8 replaced")
    fanged = _mask(pc.match_substring_regex(text, r"^(?i)hxxps?://|\[\.\]|\(\.\)|\[:\]"))
    if fanged.any():
        text = pc.replace_substring_regex(text, r"^(?i)hxxp", "http")
        text = pc.replace_substring_regex(text, r"\[\.\]|\(\.\)", ".")
        text = pc.replace_substring(text, "[:]", ":")
        _add(note, fanged, "defanged URL restored")
    text = pc.replace_substring(text, "\\", "/")  # browsers read a backslash in a web URL as a slash
    text = pc.replace_substring_regex(text, r"^([a-zA-Z][a-zA-Z0-9+.-]{0,15}):/+", r"\1://")
    spaces = _mask(pc.match_substring_regex(text, r"\s"))
    if spaces.any():
        text = pc.replace_substring_regex(text, r"\s", "%20")
        _add(note, spaces, "spaces encoded")
    return text, note


def parse(values: pa.Array | list[str | None]) -> Parsed:
    """Clean and split a batch of raw URLs (see the module docstring)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values), pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text, reason, note = clean(arr)
    fields, no_match = split_urls(text)
    no_match &= reason == None  # noqa: E711
    reason[no_match] = "not a URL"
    scheme = pc.utf8_lower(fields["scheme"])
    other_scheme = _mask(pc.invert(pc.is_in(scheme, pa.array(["", "http", "https", "hxxp", "hxxps", "ftp"])))) & (reason == None)  # noqa: E711
    _add(note, other_scheme, "unusual scheme")
    host = pc.utf8_rtrim(pc.utf8_lower(fields["host"]), ".")
    pct_host = _mask(pc.match_substring(host, "%"))
    non_ascii = ~_mask(pc.fill_null(pc.string_is_ascii(host), True))
    if pct_host.any() or non_ascii.any():
        py = host.to_pylist()
        from urllib.parse import unquote

        for i in np.flatnonzero(pct_host | non_ascii):
            h = py[i]
            if "%" in h:
                try:
                    decoded = unquote(h, errors="strict") if _valid_pct(h) else None
                except UnicodeDecodeError:  # well-formed escapes of bytes that are not UTF-8 (%9a)
                    decoded = None
                if decoded is None:
                    reason[i] = reason[i] or "invalid percent-encoding in the host"
                    py[i] = ""
                    continue
                h = decoded.lower()
            if not h.isascii():
                encoded = _idna_host(h)
                if encoded is None:
                    reason[i] = reason[i] or "host is not a valid internationalised name"
                    py[i] = ""
                    continue
                note[i] = "IDN host converted to punycode" if note[i] is None else f"{note[i]}; IDN host converted to punycode"
                h = encoded
            py[i] = h
        host = pa.array(py, pa.string())
    is_ipv4 = _mask(pc.match_substring_regex(host, _IPV4))
    is_ipv6 = _mask(pc.match_substring_regex(host, r"^\[[0-9a-f:.]+\]$"))
    is_int_ip = _mask(pc.match_substring_regex(host, _IPV4_INT))
    name_ok = _mask(pc.match_substring_regex(host, _HOST_OK)) & _mask(pc.less_equal(pc.utf8_length(host), 253))
    open_ = reason == None  # noqa: E711
    reason[open_ & (host.to_numpy(zero_copy_only=False) == "")] = "no host"
    open_ = reason == None  # noqa: E711
    reason[open_ & ~(name_ok | is_ipv4 | is_ipv6 | is_int_ip) & ~_mask(pc.match_substring(host, "."))] = "no host name with a dot: not a URL"
    open_ = reason == None  # noqa: E711
    reason[open_ & ~(name_ok | is_ipv4 | is_ipv6 | is_int_ip)] = "host is not a valid name or IP address"
    no_scheme = _mask(pc.equal(scheme, "")) & (reason == None)  # noqa: E711
    _add(note, no_scheme, "no scheme")
    length = np.asarray(pc.utf8_length(text).to_numpy(zero_copy_only=False), dtype=np.int64)
    _add(note, (length > 4096) & (reason == None), "very long URL")  # noqa: E711
    return Parsed(scheme, fields["userinfo"], host, fields["port"], fields["path"], fields["query"], fields["fragment"],
                  length, reason, note)


def _valid_pct(text: str) -> bool:
    import re

    return re.search(r"%(?![0-9a-fA-F]{2})", text) is None


def recovered(p: Parsed) -> pa.Array:
    """The URL as recovered (lower-case host, scheme kept or '' when absent), for display and grouping."""
    pre = pc.if_else(pc.equal(p.scheme, ""), "", pc.binary_join_element_wise(p.scheme, "://", ""))
    q = pc.if_else(pc.equal(p.query, ""), "", pc.binary_join_element_wise("?", p.query, ""))
    return pc.binary_join_element_wise(pre, p.host, p.path, q, "")
