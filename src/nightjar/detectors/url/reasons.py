"""Reasons in words for URL scores, built from the features of the rows worth explaining (one batch at a time)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nightjar.detectors.url.features import FEATURES

LOW = "no phishing traits found"
Brand = tuple[str | None, str | None, str | None, str | None]


def traits(x: np.ndarray, registered: Sequence[str], brand: Sequence[Brand], path_brand: Sequence[str | None]) -> list[list[str]]:
    """The phishing traits of each feature row of `x`, strongest first.

    Per row: its registered domain, `BrandIndex.host_matches` of its host and the brand in its path (or None).
    A feature counts when it is not 0, as Python's truth test of the float.
    """
    f = {name: x[:, i] != 0 for i, name in enumerate(FEATURES)}
    n = len(x)

    def text(mask: np.ndarray, words: str) -> list[str | None]:
        return [words if m else None for m in mask.tolist()]

    free = f["free_hosting"]
    words_where = np.where(f["host_words"], "host", "path")
    has_path_brand = np.fromiter((b is not None and b != "" for b in path_brand), dtype=bool, count=n)
    columns: list[list[str | None]] = [
        [f"brand '{b[3]}' under a suffix that is not the brand's own ({r})" if b[3] else None for b, r in zip(brand, registered)],
        [f"brand '{b[0]}' in subdomain of unrelated domain {r}" if b[0] else None for b, r in zip(brand, registered)],
        [f"brand '{b[1]}' inside unrelated domain {r}" if b[1] else None for b, r in zip(brand, registered)],
        [f"look-alike of brand '{b[2]}' in the host" if b[2] else None for b in brand],
        [None if not has else f"brand '{b}' in the path on free hosting ({r})" if fh else f"brand '{b}' in the path of unrelated domain {r}"
         for has, fh, b, r in zip(has_path_brand.tolist(), free.tolist(), path_brand, registered)],
        ["login/verify-style path on free hosting" if pw and fh else f"free hosting platform ({r})" if fh
         else f"login/verify/account words in the {w}" if pw or hw else None
         for pw, hw, fh, w, r in zip(f["path_words"].tolist(), f["host_words"].tolist(), free.tolist(), words_where.tolist(), registered)],
        text(f["is_ip"], "IP address instead of a host name"),
        text(f["userinfo"], "'@' in the address: browsers ignore what comes before it"),
        ["host mixes scripts (homoglyphs)" if ms else "internationalised (punycode) host" if puny else None
         for ms, puny in zip(f["mixed_script"].tolist(), f["punycode"].tolist())],
        text(f["email_in_url"], "e-mail address in the URL (pre-filled victim)"),
        text(f["shortener"], "URL shortener hides the destination"),
        text(f["url_in_query"], "another URL in the query (redirect)"),
        text(f["ext_binary"], "links straight to an executable or archive file"),
        [f"deep subdomain ({int(d)} levels)" if d >= 3 else None for d in x[:, FEATURES.index("sub_depth")].tolist()],
        text(f["hex_run"] | f["long_token"], "long random token in the URL (kit or tracking id)"),
        text(f["path_dslash"], "'//' inside the path"),
        text(f["host_underscore"], "underscore in the host name (not valid in a web host)"),
        text(f["port"], "unusual port"),
        [f"{int(h)} hyphens in the host" if h >= 3 else None for h in x[:, FEATURES.index("host_hyphens")].tolist()],
    ]
    return [[t for t in row if t is not None] for row in zip(*columns)] if n else []


def explain(score: float, threshold: float, found: list[str]) -> str:
    """A short explanation: verdict first, then at most four traits."""
    if score >= threshold:
        head = f"phishing-like URL (score {score:.2f} >= threshold {threshold:.2f})"
    else:
        head = f"somewhat suspicious (score {score:.2f} < threshold {threshold:.2f})"
    if not found:
        found = ["the character patterns of host and path resemble known phishing"]
    return "; ".join([head, *found[:4]])
