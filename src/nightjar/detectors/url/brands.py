"""Brand impersonation: a well-known brand, or a near miss of it, on a domain that is not the brand's.

The brand list is built from the benign top-domain lists (the registered labels of the most popular
domains, at least 5 characters) and kept to the names that training phishing URLs actually carry
outside the brand's own domains more often than training benign URLs do (`build_brands`). A brand's
own domains are every popular registered domain whose label contains it (paypal.com, paypal.de,
microsoftonline.com), so they never count as impersonation. Near misses: one edit (insert, delete,
substitute, swap via the deletion neighbourhood) or digit-for-letter swaps (`paypa1`, `g00gle`, `rn`→`m`);
for brands of LONG_BRAND letters or more also two edits (`steamcommmuty`), by Levenshtein distance
(rapidfuzz). A brand's exact name as the label of a registered domain that is not its own
(`roblox.com.ge`, `paypal.help`) is a suffix swap (`suffix_swap`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

MIN_BRAND = 5
LONG_BRAND = 10  # brands this long also match at two edits
# top-list labels that are words or hosting platforms, not brands a phisher imitates
NOT_BRANDS = frozenset({
    "example", "pages", "remove", "force", "workers", "login", "secure", "account", "update", "online", "service", "support",
    "email", "cloud", "store", "portal", "global", "media", "static", "images", "assets", "files", "share", "drive", "sites",
    "forms", "verify", "wallet", "banking", "connect", "clever", "anchor", "wixsite", "netlify", "vercel", "weebly",
    "blogspot", "azurewebsites", "azureedge", "appspot", "myshopify", "webflow", "mybluehost", "duckdns",
    "digitaloceanspaces", "googleapis", "amazonaws", "cloudfront", "firebaseapp", "gitlab", "herokuapp",
    "wpengine", "akismet", "pendo", "godaddysites", "square", "framer", "glitch", "replit", "carrd", "notion", "gitbook",
    "translate", "storage", "docs", "weeblysite", "jimdosite", "strikingly", "webnode", "tilda", "ionos",
})
_LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"})
_SPLIT = re.compile(r"[.\-_]+")


def deletions(word: str) -> list[str]:
    """Every string one deletion away from `word`, in the order of the deleted position (no repeats).

    A list, not a set: the first match wins in `BrandIndex`, so the order must not depend on the hash seed.
    """
    return list(dict.fromkeys(word[:i] + word[i + 1:] for i in range(len(word))))


def unleet(token: str) -> str:
    """Digit-for-letter and look-alike swaps undone: 'paypa1' -> 'paypal', 'rnicrosoft' -> 'microsoft'."""
    return token.translate(_LEET).replace("rn", "m").replace("vv", "w")


@dataclass
class BrandIndex:
    """Brands with their own domains, and lookups for exact and near-miss matches."""

    brands: list[str]
    own_domains: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        ordered = sorted(set(self.brands), key=lambda b: (-len(b), b))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._set = set(ordered)
        self._near: dict[str, str] = {}
        self._near_cache: dict[str, str | None] = {}
        # one edit leaves either the first two or the last two characters of a brand (>= 5 letters) intact
        self._heads = {b[:2] for b in ordered}
        self._tails = {b[-2:] for b in ordered}
        self._max_len = max(map(len, ordered), default=0)
        self._long = [b for b in ordered if len(b) >= LONG_BRAND]
        for b in ordered:
            for d in deletions(b):
                if len(d) >= MIN_BRAND - 1:
                    self._near.setdefault(d, b)

    @property
    def path_regex(self) -> str:
        """An RE2 alternation of the brands, for Arrow kernels over paths."""
        return self._pattern.pattern if self._pattern else r"[^\s\S]"

    def find(self, text: str) -> str | None:
        """The first (longest) brand inside `text`, or None."""
        if self._pattern is None:
            return None
        m = self._pattern.search(text)
        return m.group(0) if m else None

    def near(self, token: str) -> str | None:
        """The brand that `token` imitates by one edit or look-alike swap (not the brand itself), or None."""
        if token in self._near_cache:
            return self._near_cache[token]
        hit = self._near_miss(token)
        if len(self._near_cache) < 200_000:
            self._near_cache[token] = hit
        return hit

    def _near_miss(self, token: str) -> str | None:
        if len(token) < MIN_BRAND - 1 or token in self._set:
            return None
        plain = unleet(token)
        if plain != token and plain in self._set:
            return plain
        if len(token) > self._max_len + 2:
            return None
        if token[:2] in self._heads or token[-2:] in self._tails:
            if token in self._near:  # one insertion into the token makes a brand
                return self._near[token]
            for d in deletions(token):
                if d in self._set:  # one extra character
                    return d
                hit = self._near.get(d)  # one substitution or adjacent swap
                if hit is not None and abs(len(hit) - len(token)) <= 1 and hit != token:
                    return hit
        if self._long and len(plain) >= LONG_BRAND - 2:  # two edits of a long brand, look-alikes undone
            best = process.extractOne(plain, self._long, scorer=Levenshtein.distance, score_cutoff=2)
            if best is not None:
                return best[0]
        return None

    def near_host(self, subdomain: str, label: str) -> str | None:
        """The brand that a token of the host imitates (near miss), or None."""
        for token in (label, *label.replace("_", "-").split("-"), *subdomain.replace("_", ".").replace("-", ".").split(".")):
            if token and (hit := self.near(token)):
                return hit
        return None

    def near_hosts(self, subdomains: pa.Array, labels: pa.Array) -> np.ndarray:
        """Per host: whether `near_host` finds a look-alike; each distinct token of the batch is looked up once."""
        label_tokens = pc.split_pattern(pc.replace_substring(labels, "_", "-"), "-")
        sub_tokens = pc.split_pattern(pc.replace_substring(pc.replace_substring(subdomains, "_", "."), "-", "."), ".")
        tokens = pc.dictionary_encode(pa.concat_arrays([labels, pc.list_flatten(label_tokens), pc.list_flatten(sub_tokens)]))
        host = np.concatenate([np.arange(len(labels)), pc.list_parent_indices(label_tokens).to_numpy(),
                               pc.list_parent_indices(sub_tokens).to_numpy()])
        hit = np.array([bool(token) and bool(self.near(token)) for token in tokens.dictionary.to_pylist()], dtype=bool)
        return np.bincount(host[hit[tokens.indices.to_numpy()]], minlength=len(labels)) > 0

    def suffix_swap(self, label: str, registered: str) -> str | None:
        """The brand whose exact name is the label of `registered`, a domain not its own (`roblox.com.ge`), or None."""
        return label if label in self._set and registered not in self.own_domains else None

    def host_matches(self, subdomain: str, label: str, registered: str) -> tuple[str | None, str | None, str | None, str | None]:
        """(brand in the subdomain, brand inside the registered label, near-miss brand, suffix-swapped brand) for one host."""
        if registered in self.own_domains:
            return None, None, None, None
        in_sub = self.find(subdomain) if subdomain else None
        in_label = self.find(label) if label and label not in self._set else None
        return in_sub, in_label, self.near_host(subdomain, label), self.suffix_swap(label, registered)

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready."""
        return {"brands": sorted(self._set), "own_domains": sorted(self.own_domains)}

    @classmethod
    def from_dict(cls, doc: dict[str, list[str]]) -> BrandIndex:
        """Read `to_dict` output."""
        return cls(list(doc.get("brands", [])), set(doc.get("own_domains", [])))


def candidate_brands(ranked_domains: Iterable[str], top: int = 3000) -> dict[str, str]:
    """{label: domain} for the first `top` registered domains whose label has at least MIN_BRAND letters."""
    out: dict[str, str] = {}
    for domain in ranked_domains:
        label = domain.split(".", 1)[0]
        if len(label) >= MIN_BRAND and label.isalpha() and label not in out and label not in NOT_BRANDS:
            out[label] = domain
        if len(out) >= top:
            break
    return out


def build_brands(ranked_domains: list[str], popular_registered: Iterable[str], phish_texts: Iterable[tuple[str, str]],
                 benign_texts: Iterable[tuple[str, str]], top: int = 3000, min_phish: int = 5, min_ratio: float = 5.0) -> BrandIndex:
    """Brands from the top list kept when phishing carries them off their own domains.

    `*_texts` are (registered domain, lower-case host + path) pairs from the training split only. A
    brand is kept when at least `min_phish` phishing URLs and `min_ratio` times the benign rate carry it.
    """
    cands = candidate_brands(ranked_domains, top)
    index = BrandIndex(list(cands))
    own = {d for d in popular_registered if index.find(d.split(".", 1)[0])}
    counts: dict[str, Counter[str]] = {"phish": Counter(), "benign": Counter()}
    totals = {"phish": 0, "benign": 0}
    for side, texts in (("phish", phish_texts), ("benign", benign_texts)):
        for registered, text in texts:
            totals[side] += 1
            if registered in own:
                continue
            hits = {m.group(0) for m in index._pattern.finditer(text)} if index._pattern else set()
            counts[side].update(hits)
    keep = []
    for brand in cands:
        p = counts["phish"][brand] / max(totals["phish"], 1)
        b = counts["benign"][brand] / max(totals["benign"], 1)
        if counts["phish"][brand] >= min_phish and p >= min_ratio * max(b, 0.5 / max(totals["benign"], 1)):
            keep.append(brand)
    own_kept = {d for d in own if any(k in d.split(".", 1)[0] for k in keep)}
    return BrandIndex(keep, own_kept)
