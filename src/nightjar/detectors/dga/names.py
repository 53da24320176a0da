"""Domain-name normalisation and the registered-domain split, vectorised over a batch.

`split_names(values)` lower-cases, strips spaces and a trailing dot, turns IDNs into punycode (the
`idna` codec, per name, only for the rare non-ASCII ones) and rejects what is not a domain name with a
reason in words. Valid names are split with the offline public-suffix list (ICANN and private rules,
so the registered domain of `x.duckdns.org` is `x.duckdns.org`) using Arrow string kernels on the
reversed labels: about 1 µs per name. The label the model scores is the registered label, except
under CDN and cloud provider suffixes, where customer labels are machine-made ids by design: there the
provider's own label is scored (a random subdomain of cloudfront.net is not a DGA).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Private suffixes run by CDN / cloud operators whose customer labels are generated ids.
INFRA_SUFFIXES = (
    "cloudfront.net", "akamaiedge.net", "akamaihd.net", "akamaized.net", "edgekey.net", "edgesuite.net",
    "akamai.net", "akadns.net", "azureedge.net", "azurewebsites.net", "azurefd.net", "cloudapp.net",
    "cloudapp.azure.com", "windows.net", "trafficmanager.net", "amazonaws.com", "elb.amazonaws.com",
    "fastly.net", "fastlylb.net", "googleusercontent.com", "appspot.com", "cdn77.org", "llnwd.net",
    "edgecastcdn.net", "azure-api.net", "azurecontainer.io", "cloudflare.net", "footprint.net",
)
_IPV4 = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"
_IPV6 = r"^\[?[0-9a-f:.]*:[0-9a-f:.]*\]?$"
_CHARS = r"^[a-z0-9_.-]+$"
_HAPPY = r"^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})+$"  # a plain multi-label name: most rows stop here


@dataclass(frozen=True)
class _Rules:
    exact: pa.Array  # reversed rules, e.g. "ku.oc"
    wild_base: pa.Array  # reversed X of "*.X"
    exception: pa.Array  # reversed rule of "!rule"
    max_labels: int


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    from publicsuffixlist import PublicSuffixList

    raw = PublicSuffixList()._publicsuffix  # bundled list: no network
    exact = [r[::-1] for r in raw if not r.startswith(("*", "!"))]
    wild = [r[2:][::-1] for r in raw if r.startswith("*.")]
    exc = [r[1:][::-1] for r in raw if r.startswith("!")]
    most = max(r.count(".") + 1 for r in raw)
    return _Rules(pa.array(exact), pa.array(wild), pa.array(exc), most)


def _idna(value: str) -> str | None:
    try:
        return value.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


def normalise(values: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(normalised names, reject reason or None, note or None) for raw string `values`."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(values.cast(pa.string())))
    text = pc.replace_substring_regex(text, r"\.$", "")
    n = len(text)
    reason = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    ascii_ok = pc.fill_null(pc.string_is_ascii(text), True).to_numpy(zero_copy_only=False)
    if not ascii_ok.all():
        py = text.to_pylist()
        for i in np.flatnonzero(~ascii_ok):
            encoded = _idna(py[i])
            if encoded is None:
                reason[i] = "not a valid internationalised domain name"
                py[i] = None
            else:
                py[i], note[i] = encoded, "IDN converted to punycode"
        text = pa.array(py, pa.string())
    happy = pc.and_(pc.match_substring_regex(text, _HAPPY), pc.less_equal(pc.utf8_length(text), 253))
    happy = pc.fill_null(happy, False).to_numpy(zero_copy_only=False)
    ipv4 = pc.fill_null(pc.match_substring_regex(text, _IPV4), False).to_numpy(zero_copy_only=False)
    arpa = pc.or_(pc.ends_with(text, ".in-addr.arpa"), pc.ends_with(text, ".ip6.arpa"))
    arpa = pc.fill_null(arpa, False).to_numpy(zero_copy_only=False)
    reason[happy & ipv4] = "IP address, not a domain"
    reason[happy & arpa & ~ipv4] = "reverse-DNS lookup, not a domain name"
    bad = np.flatnonzero(~happy)
    if len(bad):
        reason[bad] = _reasons(text.take(pa.array(bad)), reason[bad])
    return text, reason, note


def _reasons(text: pa.Array, reason: np.ndarray) -> np.ndarray:
    """The first failed check of each name that is not a plain domain name."""
    checks = [
        (pc.or_kleene(pc.is_null(text), pc.equal(text, "")), "empty domain"),
        (pc.match_substring_regex(text, _IPV4), "IP address, not a domain"),
        (pc.match_substring_regex(text, _IPV6), "IP address, not a domain"),
        (pc.invert(pc.match_substring_regex(text, _CHARS)), "not a domain name (characters other than letters, digits, '-', '_', '.')"),
        (pc.greater(pc.utf8_length(text), 253), "name longer than 253 characters"),
        (pc.match_substring_regex(text, r"[^.]{64,}"), "label longer than 63 characters"),
        (pc.match_substring_regex(text, r"(^\.|\.\.)"), "empty label in name"),
        (pc.invert(pc.match_substring(text, ".")), "single-label name (no public suffix)"),
        (pc.match_substring_regex(text, r"\.(in-addr|ip6)\.arpa$"), "reverse-DNS lookup, not a domain name"),
    ]
    reason = reason.copy()
    for mask, why in checks:
        hit = pc.fill_null(mask, False).to_numpy(zero_copy_only=False) & (reason == None)  # noqa: E711
        reason[hit] = why
    return reason


@dataclass
class Split:
    """Per name: normalised form, registered domain, public suffix, the scored label, and why not."""

    name: np.ndarray
    registered: np.ndarray
    suffix: np.ndarray
    label: np.ndarray
    infra: np.ndarray  # bool: under a CDN/cloud suffix, provider label scored
    reason: np.ndarray  # reject reason or None
    note: np.ndarray


def split_names(values: pa.Array | list[str | None] | np.ndarray) -> Split:
    """Normalise and split a batch of raw names (see module docstring)."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text, reason, note = normalise(arr)
    n = len(text)
    ok = reason == None  # noqa: E711
    names = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    registered = np.full(n, "", dtype=object)
    suffix = np.full(n, "", dtype=object)
    label = np.full(n, "", dtype=object)
    infra = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(ok)
    if len(idx):
        good = pa.array(names[idx], pa.string())
        reg, suf, lab, is_public = _split_valid(good)
        registered[idx], suffix[idx], label[idx] = reg, suf, lab
        for j in idx[is_public]:  # e.g. github.io, s3.amazonaws.com: real hosts that are suffixes themselves
            registered[j], label[j] = names[j], names[j].split(".")[-2]
            note[j] = "the name is itself a public suffix: scored on its second-level label"
        infra[idx] = _infra(pa.array(suf, pa.string()))
        for i in np.flatnonzero(pc.starts_with(pa.array(lab, pa.string()), "xn--").to_numpy(zero_copy_only=False)):
            j = idx[i]
            basic = label[j][4:].rpartition("-")[0]
            if len(basic) >= 3:
                label[j], note[j] = basic, (note[j] or "internationalised name") + f": scored on its ASCII part '{basic}'"
            else:
                reason[j] = "internationalised label without ASCII letters: not scored (the model knows ASCII names)"
        for i in np.flatnonzero(infra[idx]):
            j = idx[i]
            provider = next(e for e in INFRA_SUFFIXES if suffix[j] == e or suffix[j].endswith("." + e))
            label[j] = provider.split(".")[0]
    return Split(names, registered, suffix, label, infra, reason, note)


def _infra(suffixes: pa.Array) -> np.ndarray:
    """True where the public suffix is, or ends with, one of INFRA_SUFFIXES."""
    rev = pc.utf8_reverse(suffixes)
    parts = pc.split_pattern(rev, ".")
    hit = np.zeros(len(suffixes), dtype=bool)
    infra = pa.array([e[::-1] for e in INFRA_SUFFIXES])
    for k in (2, 3):  # every entry has 2 or 3 labels
        hit |= pc.fill_null(pc.is_in(pc.binary_join(pc.list_slice(parts, 0, k), "."), value_set=infra), False).to_numpy(zero_copy_only=False)
    return hit


def _split_valid(names: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rules = _rules()
    parts = pc.split_pattern(pc.utf8_reverse(names), ".")
    nl = pc.list_value_length(parts).to_numpy()
    kmax = min(rules.max_labels, int(nl.max()))
    prefixes = [pc.binary_join(pc.list_slice(parts, 0, k), ".") for k in range(0, kmax + 2)]
    publen = np.ones(len(names), dtype=np.int64)  # the implicit "*" rule
    for k in range(1, kmax + 1):
        match = pc.is_in(prefixes[k], value_set=rules.exact).to_numpy(zero_copy_only=False)
        if k > 1:
            match |= pc.is_in(prefixes[k - 1], value_set=rules.wild_base).to_numpy(zero_copy_only=False)
        match &= nl >= k
        publen = np.where(match, np.maximum(publen, k), publen)
    exc = np.zeros(len(names), dtype=bool)
    for k in range(1, kmax + 1):
        exc |= (publen == k) & pc.is_in(prefixes[k], value_set=rules.exception).to_numpy(zero_copy_only=False)
    publen = np.where(exc, publen - 1, publen)
    is_public = nl <= publen
    reglen = np.minimum(publen + 1, nl)
    reg = pc.utf8_reverse(pc.choose(pa.array(reglen), *prefixes))
    suf = pc.utf8_reverse(pc.choose(pa.array(publen), *prefixes))
    label = pc.replace_substring_regex(reg, r"\..*$", "")  # the registered label has no dot
    reg, suf, label = (np.asarray(a.to_numpy(zero_copy_only=False), dtype=object) for a in (reg, suf, label))
    return reg, suf, label, is_public
