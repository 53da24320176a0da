"""Campaigns: alerted URLs grouped by phishing-kit template, so one line says "312 URLs, 140 hosts, one kit".

A kit is deployed unchanged on many hosts: the same path with only its random parts (hex ids, long
tokens, numbers) and its query values changing. `template(url)` keeps the lower-case path with those
parts replaced by `*` and `#`, and the sorted query keys; URLs that share a non-trivial template on at
least `min_hosts` registered domains form a campaign. Home pages, one-word paths (`/`, `/index.html`) and
paths made only of random parts (`/*`) say nothing about a kit and are grouped only when the host pattern repeats (same platform and
subdomain shape, e.g. `*.vercel.app` with `login-*`), as "host pattern" campaigns.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

_RANDOM = re.compile(r"^(?=.*\d)[a-z0-9_-]{12,}$|^[0-9a-f]{8,}$|^[a-z0-9+/=_-]{32,}$", re.I)
_DIGITS = re.compile(r"\d+")
TRIVIAL = {"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/#"}
COLUMNS = ["campaign", "summary", "urls", "hosts", "registered_domains", "template", "kind", "max_score", "example", "first_hosts"]


def template(url: str) -> str:
    """The kit template of one URL: path with random parts as '*', numbers as '#', and the sorted query keys."""
    try:
        s = urlsplit(url if "://" in url else "http://" + url)
    except ValueError:
        return ""
    parts = []
    for seg in s.path.lower().split("/"):
        parts.append("*" if _RANDOM.match(seg) else _DIGITS.sub("#", seg))
    path = "/".join(parts)
    keys = sorted({kv.split("=", 1)[0] for kv in s.query.split("&") if kv})
    return path + ("?" + "&".join(keys) if keys else "")


def host_shape(host: str, registered: str) -> str:
    """The host's pattern, numbers as '#': on a hosting platform (registered domain under a shared suffix such as
    vercel.app) the tenant name and platform, e.g. `login-#.vercel.app`; elsewhere the subdomain on any domain, `secure-#.*`."""
    sub = host[: -len(registered)].rstrip(".") if registered and host.endswith(registered) else ""
    if registered.count(".") >= 2:  # tenant.platform.tld
        tenant, platform = registered.split(".", 1)
        return _DIGITS.sub("#", ".".join(p for p in (sub, tenant) if p)) + "." + platform
    return (_DIGITS.sub("#", sub) + ".*") if sub else "*"


def campaigns(scored: pd.DataFrame, registered: np.ndarray | None = None, min_hosts: int = 2) -> pd.DataFrame:
    """One row per campaign among the alerted rows of `scored` (columns url, score, alert), largest first."""
    alerted = scored[scored["alert"].fillna(False).astype(bool)]
    if alerted.empty:
        return pd.DataFrame(columns=COLUMNS)
    urls = alerted["url"].astype(str)
    hosts = urls.map(lambda u: (urlsplit(u if "://" in u else "http://" + u).hostname or "") if _splits(u) else "")
    if registered is None:
        from nightjar.detectors.url.data import registered_domains

        regs = pd.Series(registered_domains(urls.to_numpy(dtype=object)), index=alerted.index)
    else:
        regs = pd.Series(np.asarray(registered, dtype=object)[scored["alert"].fillna(False).astype(bool).to_numpy()], index=alerted.index)
    tmpl = urls.map(template)
    frame = pd.DataFrame({"url": urls, "host": hosts, "reg": regs, "tmpl": tmpl, "score": alerted["score"].astype(float)})
    literal = frame["tmpl"].str.replace(r"[*#/?&.\-_]", "", regex=True)  # '/*', '/#/' name no kit
    frame["kind"] = np.where(frame["tmpl"].isin(TRIVIAL) | (literal == ""), "host pattern", "kit path")
    frame["key"] = np.where(frame["kind"] == "kit path", frame["tmpl"],
                            [host_shape(h, r) for h, r in zip(frame["host"], frame["reg"])])
    rows = []
    for (kind, key), g in frame.groupby(["kind", "key"], sort=False):
        n_regs = g["reg"].nunique()
        if n_regs < min_hosts or (kind == "host pattern" and (key == "*" or key.startswith("www.") or "." not in key.rstrip("*"))):
            continue
        what = "one kit" if kind == "kit path" else "one host pattern"
        rows.append({"summary": f"{len(g)} URLs, {g['host'].nunique()} hosts, {what}: {key}", "urls": len(g),
                     "hosts": g["host"].nunique(), "registered_domains": n_regs, "template": key, "kind": kind,
                     "max_score": float(g["score"].max()), "example": g["url"].iloc[0],
                     "first_hosts": ", ".join(g["host"].drop_duplicates().head(5))})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "campaign"])
    out = out.sort_values(["urls", "hosts"], ascending=False).reset_index(drop=True)
    out.insert(0, "campaign", [f"c{i + 1}" for i in range(len(out))])
    return out


def _splits(url: str) -> bool:
    try:
        urlsplit(url if "://" in url else "http://" + url).hostname  # noqa: B018
    except ValueError:
        return False
    return True
