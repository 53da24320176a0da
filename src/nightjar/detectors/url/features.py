"""URL features: pure functions over a parsed batch (no I/O).

Host features are computed once per distinct host (public-suffix split, brand look-ups, punycode and
mixed-script checks) and spread back to the rows; URL features are Arrow string kernels over the whole
batch. The scheme is parsed but is not a model feature: the training sources differ in it for reasons
that have nothing to do with phishing (see docs/url.md). A leading `www.` is ignored for the same reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.url.brands import BrandIndex
from nightjar.detectors.url.parse import Parsed

FREE_HOSTING = (
    "vercel.app", "netlify.app", "web.app", "firebaseapp.com", "pages.dev", "workers.dev", "github.io", "gitlab.io",
    "wixsite.com", "wix.com", "blogspot.com", "weebly.com", "weeblysite.com", "wordpress.com", "000webhostapp.com",
    "glitch.me", "herokuapp.com", "repl.co", "replit.app", "godaddysites.com", "square.site", "webflow.io", "framer.app",
    "framer.website", "carrd.co", "sites.google.com", "docs.google.com", "storage.googleapis.com", "r2.dev", "ipfs.io",
    "dweb.link", "azurewebsites.net", "s3.amazonaws.com", "onrender.com", "fly.dev", "surge.sh", "myshopify.com",
    "jimdosite.com", "mystrikingly.com", "site123.me", "yolasite.com", "tilda.ws", "webnode.page", "ukit.me",
    "firebasestorage.googleapis.com", "appspot.com", "translate.goog", "notion.site", "gitbook.io", "typedream.app",
    "hpage.com", "wcomhost.com", "blogger.com", "bubbleapps.io", "mybluehost.me", "cprapid.com", "duckdns.org",
    "ngrok.io", "ngrok-free.app", "trycloudflare.com", "lovable.app", "webcindario.com", "cloudfront.net",
)
SHORTENERS = (
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "is.gd", "cutt.ly", "rb.gy", "ow.ly", "shorturl.at",
    "tiny.cc", "s.id", "t.ly", "rebrand.ly", "lnkd.in", "buff.ly", "qrco.de", "linktr.ee", "forms.gle", "v.gd",
    "shorturl.gg", "urlz.fr", "bit.do", "x.co", "tr.im", "soo.gd", "u.to", "clck.ru",
)
SUSPICIOUS_WORDS = ("login", "log-in", "signin", "sign-in", "logon", "verify", "verification", "secure", "account", "update",
                    "wallet", "confirm", "banking", "password", "webscr", "authenticat", "recover", "unlock", "suspend",
                    "billing", "invoice", "payment", "validat", "restore", "claim", "airdrop", "support", "helpdesk",
                    "webmail", "auth", "session", "token", "security", "customer", "reactivat", "limited", "office365")
_WORDS_RE = "(" + "|".join(SUSPICIOUS_WORDS) + ")"
_EXT = r"\.([a-z0-9]{1,5})$"
BINARY_EXT = ("exe", "apk", "zip", "rar", "msi", "scr", "bat", "jar", "dll", "7z", "iso", "vbs", "js", "ps1", "lnk", "docm", "xlsm", "hta")
PAGE_EXT = ("php", "html", "htm", "asp", "aspx", "jsp", "cgi")

HOST_FEATURES = ("host_len", "host_labels", "sub_depth", "host_hyphens", "host_digits", "label_len", "host_entropy",
                 "is_ip", "punycode", "mixed_script", "free_hosting", "shortener", "brand_in_sub", "brand_in_label",
                 "brand_near", "host_words", "suffix_len", "suffix_swap", "host_underscore")
URL_FEATURES = ("path_len", "query_len", "fragment_len", "path_depth", "path_dslash", "pct_valid", "pct_invalid", "params",
                "path_digit_share", "hex_run", "long_token", "email_in_url", "url_in_query", "path_words", "brand_in_path",
                "ext_page", "ext_binary", "ext_php", "userinfo", "port", "tilde", "path_upper_share", "dots_in_path")
FEATURES = HOST_FEATURES + URL_FEATURES


def _mixed_script(host: str) -> bool:
    """True when a punycode label decodes to letters of more than one script (e.g. Latin with Cyrillic)."""
    for label in host.split("."):
        if not label.startswith("xn--"):
            continue
        try:
            text = label.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            return True
        if len({unicodedata.name(ch, "X").split(" ")[0] for ch in text if ch.isalpha()}) > 1:
            return True
    return False


def split_hosts(hosts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(registered domain, public suffix) for a batch of host names (vectorised public-suffix split)."""
    from nightjar.detectors.dga.names import split_names

    split = split_names(hosts)
    reg, suf = split.registered, split.suffix
    bad = reg == ""
    reg[bad] = np.asarray(hosts.to_numpy(zero_copy_only=False), dtype=object)[bad]  # IP addresses and junk: the host itself
    return reg, suf


def _entropy_rows(names: pa.Array) -> np.ndarray:
    """Shannon entropy (bits per byte) of each string, vectorised over the batch."""
    n = len(names)
    offsets, data = string_buffers(names)
    lengths = np.diff(offsets)
    row = np.repeat(np.arange(n), lengths)
    key, counts = np.unique(row * 256 + data.astype(np.int64), return_counts=True)
    r = key // 256
    p = counts / lengths[r]
    return np.bincount(r, weights=-p * np.log2(p), minlength=n)


def _suffix_re(names: tuple[str, ...]) -> str:
    return r"(^|\.)(" + "|".join(re.escape(x) for x in names) + r")$"


def host_table(hosts: list[str], brands: BrandIndex) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """HOST_FEATURES for distinct lower-case `hosts`: (matrix n x len(HOST_FEATURES), parts: registered, sub, label)."""
    arr = pa.array(hosts, pa.string())
    n = len(hosts)
    reg, suf = split_hosts(arr)
    name = _strip_www(arr)
    is_ip = _has(arr, r"^([0-9.]+|\[.*\]|0x[0-9a-f]+)$")
    rests = [h[: len(h) - len(r)].rstrip(".") for h, r in zip(hosts, reg.tolist())]
    sub = np.array([r[4:] if r.startswith("www.") or r == "www" else r for r in rests] + [None], dtype=object)[:n]
    label = np.array([r[: len(r) - len(s) - 1] if s and len(r) > len(s) else r.split(".", 1)[0]
                      for r, s in zip(reg.tolist(), suf.tolist())] + [None], dtype=object)[:n]  # None: a 1-d array even when empty
    sub_a, label_a, reg_a = pa.array(sub, pa.string()), pa.array(label, pa.string()), pa.array(reg, pa.string())
    own = _mask_np(pc.is_in(reg_a, pa.array(sorted(brands.own_domains), pa.string())))
    brand_re = brands.path_regex
    exact = _mask_np(pc.is_in(label_a, pa.array(sorted(brands.brands), pa.string())))
    in_label = _has(label_a, brand_re) * ~exact
    near = np.zeros(n)
    check = pa.array(~own & (is_ip == 0))  # IP addresses and the brands' own domains are not look-alikes
    near[check.to_numpy(zero_copy_only=False)] = brands.near_hosts(sub_a.filter(check), label_a.filter(check))
    cols = {
        "host_len": _num(pc.utf8_length(name)), "host_labels": _num(pc.count_substring(name, ".")) + 1,
        "sub_depth": np.where(sub == "", 0, _num(pc.count_substring(sub_a, ".")) + 1),
        "host_hyphens": _num(pc.count_substring(name, "-")), "host_digits": _num(pc.count_substring_regex(name, "[0-9]")),
        "label_len": _num(pc.utf8_length(label_a)), "host_entropy": _entropy_rows(name), "is_ip": is_ip,
        "punycode": _has(arr, "xn--"),
        "mixed_script": np.asarray([_mixed_script(h) if "xn--" in h else False for h in hosts], dtype=np.float64),
        "free_hosting": _has(arr, _suffix_re(FREE_HOSTING)), "shortener": _has(arr, _suffix_re(SHORTENERS)),
        "brand_in_sub": _has(sub_a, brand_re) * ~own, "brand_in_label": in_label * ~own, "brand_near": near * ~own,
        "host_words": _num(pc.count_substring_regex(pc.binary_join_element_wise(sub_a, label_a, "."), _WORDS_RE)),
        "suffix_len": _num(pc.utf8_length(pa.array(suf, pa.string()))),
        "suffix_swap": (exact & ~own).astype(np.float64), "host_underscore": _has(arr, "_"),
    }
    for c in HOST_FEATURES:
        cols[c] = np.where(is_ip.astype(bool), 0.0, cols[c]) if c not in ("host_len", "host_labels", "host_digits", "host_entropy", "is_ip") else cols[c]
    x = np.column_stack([cols[c] for c in HOST_FEATURES]) if n else np.zeros((0, len(HOST_FEATURES)))
    return x, {"registered": reg, "sub": sub, "label": label}


def _strip_www(hosts: pa.Array) -> pa.Array:
    """`hosts` without a leading 'www.'."""
    return pc.if_else(pc.starts_with(hosts, "www."), pc.utf8_slice_codeunits(hosts, 4), hosts)


def _mask_np(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _num(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.float64)


def _count_bytes(arr: pa.Array, chars: bytes) -> np.ndarray:
    """Per string: how many of its characters are among the ASCII `chars` (no UTF-8 sequence holds an ASCII byte)."""
    offsets, data = string_buffers(arr)
    table = np.zeros(256, dtype=np.int64)
    table[list(chars)] = 1
    seen = np.concatenate([[0], np.cumsum(table[data])])
    return (seen[offsets[1:]] - seen[offsets[:-1]]).astype(np.float64)


def string_buffers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, n + 1 of them; bytes, not copied) of a string array: row i is bytes[offsets[i]:offsets[i + 1]]."""
    arr = arr.cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8)[offsets[0]: offsets[-1]] if buf is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data


def _has(arr: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False), dtype=np.float64)


def url_table(p: Parsed, brands: BrandIndex) -> np.ndarray:
    """URL_FEATURES for every row of a parsed batch (rejected rows get values too; they are not scored).

    Each part is read once per distinct value. The patterns read over `path?query?fragment` cannot
    match a '?', so their count (or flag) is the sum (or maximum) over the three parts.
    """
    cols = _per_distinct(p.path, lambda t: _path_table(t, brands))
    query = _per_distinct(p.query, lambda t: _query_table(t, brands))
    frag = _per_distinct(p.fragment, lambda t: _part_table(t, pc.utf8_lower(t), brands) | {"fragment_len": _num(pc.utf8_length(t))})
    for name in ("pct_valid", "pct_invalid", "path_words"):
        cols[name] = cols[name] + query[name] + frag[name]
    for name in ("hex_run", "long_token", "email_in_url", "brand_in_path"):
        cols[name] = np.maximum(cols[name], np.maximum(query[name], frag[name]))
    cols["pct_invalid"] -= cols["pct_valid"]  # per part: every '%', then the valid ones subtracted
    cols |= {"query_len": query["query_len"], "params": query["params"], "url_in_query": query["url_in_query"],
             "fragment_len": frag["fragment_len"], "userinfo": _num(pc.not_equal(p.userinfo, "").cast(pa.int8())),
             "port": _num(pc.invert(pc.is_in(p.port, pa.array(["", "80", "443"]))).cast(pa.int8()))}
    return np.column_stack([cols[name] for name in URL_FEATURES])


def _per_distinct(text: pa.Array, table: Callable[[pa.Array], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """`table` of the distinct values of `text` (no nulls), spread back to its rows."""
    enc = pc.dictionary_encode(text)
    cols = table(enc.dictionary)
    rows = np.vstack(list(cols.values())).take(enc.indices.to_numpy(), axis=1)
    return dict(zip(cols, rows))


def _part_table(text: pa.Array, lower: pa.Array, brands: BrandIndex) -> dict[str, np.ndarray]:
    """The patterns read over path, query and fragment alike, for one part ('pct_invalid' counts every '%')."""
    return {"pct_valid": _num(pc.count_substring_regex(text, r"%[0-9a-fA-F]{2}")), "pct_invalid": _num(pc.count_substring(text, "%")),
            "hex_run": _has(lower, "[0-9a-f]{16,}"), "long_token": _has(text, "[A-Za-z0-9_-]{40,}"),
            "email_in_url": _has(lower, r"[a-z0-9._%+-]+(@|%40)[a-z0-9-]+\.[a-z]{2,}"),
            "path_words": _num(pc.count_substring_regex(lower, _WORDS_RE)), "brand_in_path": _has(lower, brands.path_regex)}


def _query_table(query: pa.Array, brands: BrandIndex) -> dict[str, np.ndarray]:
    """Per distinct query: its own features and `_part_table`'s."""
    lower = pc.utf8_lower(query)
    return _part_table(query, lower, brands) | {
        "query_len": _num(pc.utf8_length(query)), "params": _num(pc.count_substring(query, "=")),
        "url_in_query": _has(lower, r"(https?(:|%3a)|www\.)"),
    }


def _path_table(path: pa.Array, brands: BrandIndex) -> dict[str, np.ndarray]:
    """Per distinct path: its own features and `_part_table`'s."""
    lpath = pc.utf8_lower(path)
    plen = _num(pc.utf8_length(path))
    return _part_table(path, lpath, brands) | {
        "path_len": plen, "path_depth": _num(pc.count_substring(path, "/")), "path_dslash": _has(path, "//"),
        "path_digit_share": _count_bytes(path, b"0123456789") / np.maximum(plen, 1),
        "ext_page": _has(lpath, r"\.(" + "|".join(PAGE_EXT) + ")$"),
        "ext_binary": _has(lpath, r"\.(" + "|".join(BINARY_EXT) + ")$"),
        "ext_php": _has(lpath, r"\.php"), "tilde": _has(path, "~"),
        "path_upper_share": _count_bytes(path, bytes(range(65, 91))) / np.maximum(plen, 1),
        "dots_in_path": _num(pc.count_substring(path, ".")),
    }


def gram_text(p: Parsed, max_len: int = 160) -> pa.Array:
    """Lower-case `host + path` (no scheme, no 'www.'), cut to `max_len`: the text the n-gram model reads."""
    host = _strip_www(p.host)
    text = pc.binary_join_element_wise(host, pc.utf8_lower(p.path), "")
    return pc.utf8_slice_codeunits(text, 0, max_len)
