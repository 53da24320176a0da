"""Reasons in words for URL scores, built from the features of a row (only rows worth explaining)."""

from __future__ import annotations

import numpy as np

from nightjar.detectors.url.features import FEATURES

LOW = "no phishing traits found"


def traits(row: np.ndarray, registered: str, brand: tuple[str | None, str | None, str | None, str | None],
           path_brand: str | None) -> list[str]:
    """The phishing traits of one feature row, strongest first; `brand` is `BrandIndex.host_matches` of its host."""
    f = dict(zip(FEATURES, row.tolist()))
    out: list[str] = []
    in_sub, in_label, near, swapped = brand
    if swapped:
        out.append(f"brand '{swapped}' under a suffix that is not the brand's own ({registered})")
    if in_sub:
        out.append(f"brand '{in_sub}' in subdomain of unrelated domain {registered}")
    if in_label:
        out.append(f"brand '{in_label}' inside unrelated domain {registered}")
    if near:
        out.append(f"look-alike of brand '{near}' in the host")
    if path_brand and f["free_hosting"]:
        out.append(f"brand '{path_brand}' in the path on free hosting ({registered})")
    elif path_brand:
        out.append(f"brand '{path_brand}' in the path of unrelated domain {registered}")
    if f["path_words"] and f["free_hosting"]:
        out.append("login/verify-style path on free hosting")
    elif f["free_hosting"]:
        out.append(f"free hosting platform ({registered})")
    elif f["path_words"] or f["host_words"]:
        out.append("login/verify/account words in the " + ("host" if f["host_words"] else "path"))
    if f["is_ip"]:
        out.append("IP address instead of a host name")
    if f["userinfo"]:
        out.append("'@' in the address: browsers ignore what comes before it")
    if f["mixed_script"]:
        out.append("host mixes scripts (homoglyphs)")
    elif f["punycode"]:
        out.append("internationalised (punycode) host")
    if f["email_in_url"]:
        out.append("e-mail address in the URL (pre-filled victim)")
    if f["shortener"]:
        out.append("URL shortener hides the destination")
    if f["url_in_query"]:
        out.append("another URL in the query (redirect)")
    if f["ext_binary"]:
        out.append("links straight to an executable or archive file")
    if f["sub_depth"] >= 3:
        out.append(f"deep subdomain ({int(f['sub_depth'])} levels)")
    if f["hex_run"] or f["long_token"]:
        out.append("long random token in the URL (kit or tracking id)")
    if f["path_dslash"]:
        out.append("'//' inside the path")
    if f["host_underscore"]:
        out.append("underscore in the host name (not valid in a web host)")
    if f["port"]:
        out.append("unusual port")
    if f["host_hyphens"] >= 3:
        out.append(f"{int(f['host_hyphens'])} hyphens in the host")
    return out


def explain(score: float, threshold: float, found: list[str]) -> str:
    """A short explanation: verdict first, then at most four traits."""
    if score >= threshold:
        head = f"phishing-like URL (score {score:.2f} >= threshold {threshold:.2f})"
    else:
        head = f"somewhat suspicious (score {score:.2f} < threshold {threshold:.2f})"
    if not found:
        found = ["the character patterns of host and path resemble known phishing"]
    return "; ".join([head, *found[:4]])
