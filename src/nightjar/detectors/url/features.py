"""URL features: pure functions over a parsed batch (no I/O).

Host features are computed once per distinct host (public-suffix split, brand look-ups, punycode and
mixed-script checks) and spread back to the rows; URL features are Arrow string kernels over the whole
batch. The scheme is parsed but is not a model feature: the training sources differ in it for reasons
that have nothing to do with phishing (see docs/url.md). A leading `www.` is ignored for the same reason.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from functools import lru_cache

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
                 "brand_near", "host_words", "suffix_len")
URL_FEATURES = ("path_len", "query_len", "fragment_len", "path_depth", "path_dslash", "pct_valid", "pct_invalid", "params",
                "path_digit_share", "hex_run", "long_token", "email_in_url", "url_in_query", "path_words", "brand_in_path",
                "ext_page", "ext_binary", "ext_php", "userinfo", "port", "tilde", "path_upper_share", "dots_in_path")
FEATURES = HOST_FEATURES + URL_FEATURES


@lru_cache(maxsize=1)
def _psl():  # type: ignore[no-untyped-def]
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # bundled list, no network


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _mixed_script(host: str) -> bool:
    """True when a punycode host decodes to letters of more than one script (e.g. Latin with Cyrillic)."""
    if "xn--" not in host:
        return False
    try:
        text = host.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return True
    scripts = {unicodedata.name(ch, "X").split(" ")[0] for ch in text if ch.isalpha()}
    return len(scripts) > 1


def _on(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def split_host(host: str) -> tuple[str, str, str, str]:
    """(registered domain, public suffix, subdomain without 'www', registered label) of a host name."""
    psl = _psl()
    registered = psl.privatesuffix(host) or host
    suffix = psl.publicsuffix(host) or ""
    sub = host[: -len(registered)].rstrip(".") if host != registered else ""
    if sub == "www" or sub.startswith("www."):
        sub = sub[4:]
    label = registered[: -len(suffix) - 1] if suffix and registered.endswith("." + suffix) else registered.split(".", 1)[0]
    return registered, suffix, sub, label


def host_row(host: str, brands: BrandIndex) -> tuple[tuple[float, ...], str, tuple[str | None, str | None, str | None]]:
    """(HOST_FEATURES values, registered domain, brand matches) for one lower-case host."""
    is_ip = host[:1].isdigit() and host.replace(".", "").isdigit() or host.startswith("[") or host.startswith("0x")
    if is_ip or "." not in host:
        return (len(host), host.count(".") + 1, 0, 0, sum(c.isdigit() for c in host), 0, entropy(host), 1.0,
                0, 0, 0, 0, 0, 0, 0, 0, 0), host, (None, None, None)
    registered, suffix, sub, label = split_host(host)
    matches = brands.host_matches(sub, label, registered)
    name = host[4:] if host.startswith("www.") else host
    words = sum(w in sub or w in label for w in SUSPICIOUS_WORDS)
    row = (len(name), name.count(".") + 1, sub.count(".") + 1 if sub else 0, name.count("-"), sum(c.isdigit() for c in name),
           len(label), entropy(name), 0.0, float("xn--" in host), float(_mixed_script(host)),
           float(_on(host, FREE_HOSTING)), float(_on(host, SHORTENERS)),
           float(matches[0] is not None), float(matches[1] is not None), float(matches[2] is not None), float(words),
           float(len(suffix)))
    return row, registered, matches


def host_table(hosts: list[str], brands: BrandIndex, cache: dict | None = None) -> tuple[np.ndarray, list[str], list[tuple]]:
    """Host features for distinct `hosts`: (matrix n x len(HOST_FEATURES), registered domains, brand matches)."""
    cache = {} if cache is None else cache
    rows, regs, matches = [], [], []
    for h in hosts:
        got = cache.get(h)
        if got is None:
            got = host_row(h, brands)
            if len(cache) < 500_000:
                cache[h] = got
        rows.append(got[0])
        regs.append(got[1])
        matches.append(got[2])
    return np.asarray(rows, dtype=np.float64).reshape(len(hosts), len(HOST_FEATURES)), regs, matches


def _num(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.float64)


def _has(arr: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False), dtype=np.float64)


def url_table(p: Parsed, brands: BrandIndex) -> np.ndarray:
    """URL_FEATURES for every row of a parsed batch (rejected rows get values too; they are not scored)."""
    path, query, frag = p.path, p.query, p.fragment
    lpath = pc.utf8_lower(path)
    rest = pc.binary_join_element_wise(lpath, pc.utf8_lower(query), pc.utf8_lower(frag), "?")
    plen = _num(pc.utf8_length(path))
    whole = pc.binary_join_element_wise(path, query, frag, "?")
    valid = _num(pc.count_substring_regex(whole, r"%[0-9a-fA-F]{2}"))
    cols = {
        "path_len": plen, "query_len": _num(pc.utf8_length(query)), "fragment_len": _num(pc.utf8_length(frag)),
        "path_depth": _num(pc.count_substring(path, "/")), "path_dslash": _has(path, "//"),
        "pct_valid": valid, "pct_invalid": _num(pc.count_substring(whole, "%")) - valid,
        "params": _num(pc.count_substring(query, "=")),
        "path_digit_share": _num(pc.count_substring_regex(path, "[0-9]")) / np.maximum(plen, 1),
        "hex_run": _has(rest, "[0-9a-f]{16,}"), "long_token": _has(whole, "[A-Za-z0-9_-]{40,}"),
        "email_in_url": _has(rest, r"[a-z0-9._%+-]+(@|%40)[a-z0-9-]+\.[a-z]{2,}"),
        "url_in_query": _has(pc.utf8_lower(query), r"(https?(:|%3a)|www\.)"),
        "path_words": _num(pc.count_substring_regex(rest, _WORDS_RE)),
        "brand_in_path": _has(rest, brands.path_regex),
        "ext_page": _has(lpath, r"\.(" + "|".join(PAGE_EXT) + ")$"),
        "ext_binary": _has(lpath, r"\.(" + "|".join(BINARY_EXT) + ")$"),
        "ext_php": _has(lpath, r"\.php"),
        "userinfo": _num(pc.not_equal(p.userinfo, "").cast(pa.int8())),
        "port": _num(pc.invert(pc.is_in(p.port, pa.array(["", "80", "443"]))).cast(pa.int8())),
        "tilde": _has(path, "~"),
        "path_upper_share": _num(pc.count_substring_regex(path, "[A-Z]")) / np.maximum(plen, 1),
        "dots_in_path": _num(pc.count_substring(path, ".")),
    }
    return np.column_stack([cols[name] for name in URL_FEATURES])


def gram_text(p: Parsed, max_len: int = 160) -> pa.Array:
    """Lower-case `host + path` (no scheme, no 'www.'), cut to `max_len`: the text the n-gram model reads."""
    host = pc.replace_substring_regex(p.host, r"^www\.", "")
    text = pc.binary_join_element_wise(host, pc.utf8_lower(p.path), "")
    return pc.utf8_slice_codeunits(text, 0, max_len)
