"""The host view: one row per DNS client, because one machine resolving many DGA-like names is the signal.

Input: scored DNS events with `source.ip`, `domain.normalized`, `score`, `alert` and, when known,
`dns.response_code`. Per client: total queries, DGA-like queries (name alert), distinct DGA-like
names and registered domains, NXDOMAIN share (all queries, and among DGA-like ones), the highest name
score, and

    host_score = 1 - exp(-n / 3),   n = distinct DGA-like registered domains
    host_alert = n >= min_domains (default 5)

so one odd name gives 0.28, five give 0.81 (alert), ten 0.96. Failed look-ups (NXDOMAIN) are what a
DGA bot produces while it searches for the one registered name; they are reported, not scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nightjar.detectors.dga.names import split_names

HOST_COLUMNS = ["source.ip", "host_score", "host_alert", "dga_like_queries", "dga_like_names", "dga_like_domains",
                "queries", "nxdomain_share", "dga_like_nxdomain_share", "max_score", "reasons"]


def host_view(dns: pd.DataFrame, threshold: float, min_domains: int = 5) -> pd.DataFrame:
    """One row per `source.ip`, highest host score first (see the module docstring)."""
    if dns.empty or "source.ip" not in dns.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HOST_COLUMNS})
    df = pd.DataFrame({
        "ip": dns["source.ip"].astype("string").fillna("(unknown)"),
        "name": dns["domain.normalized"].astype("string"),
        "score": pd.to_numeric(dns["score"], errors="coerce"),
    })
    df["dga"] = df["score"].fillna(-1.0).to_numpy() >= threshold
    rcode = dns["dns.response_code"] if "dns.response_code" in dns.columns else pd.Series(None, index=dns.index)
    df["nx"] = rcode.astype("string").str.upper().fillna("").str.contains("NXDOMAIN").to_numpy(dtype=bool)
    flagged = df[df["dga"]].copy()
    if len(flagged):
        uniq = flagged["name"].dropna().unique()
        reg = dict(zip(uniq, split_names(np.asarray(uniq, dtype=object)).registered))
        flagged["reg"] = flagged["name"].map(reg)
    else:
        flagged["reg"] = pd.Series(dtype=object)
    g = df.groupby("ip", sort=False)
    out = pd.DataFrame({
        "queries": g.size(),
        "nxdomain_share": g["nx"].mean(),
        "max_score": g["score"].max(),
    })
    fg = flagged.groupby("ip", sort=False)
    out["dga_like_queries"] = fg.size()
    out["dga_like_names"] = fg["name"].nunique()
    out["dga_like_domains"] = fg["reg"].nunique()
    out["dga_like_nxdomain_share"] = fg["nx"].mean()
    for c in ("dga_like_queries", "dga_like_names", "dga_like_domains"):
        out[c] = out[c].fillna(0).astype(int)
    n = out["dga_like_domains"].to_numpy(dtype=float)
    out["host_score"] = 1.0 - np.exp(-n / 3.0)
    out["host_alert"] = n >= min_domains
    examples = fg["name"].agg(lambda s: ", ".join(list(dict.fromkeys(s))[:3]))
    out["reasons"] = [_reason(row, examples.get(ip, ""), min_domains) for ip, row in out.iterrows()]
    out = out.reset_index(names="source.ip").sort_values(["host_score", "dga_like_queries"], ascending=False, kind="stable")
    return out[HOST_COLUMNS].reset_index(drop=True)


def _reason(row: pd.Series, examples: str, min_domains: int) -> str:
    n = int(row["dga_like_domains"])
    if n == 0:
        return "no DGA-like names"
    text = f"{n} distinct DGA-like registered domain{'s' if n != 1 else ''} in {int(row['queries'])} queries (e.g. {examples})"
    if n >= min_domains:
        text = f"resolves many DGA-like names: {text}"
    nx = row["dga_like_nxdomain_share"]
    if pd.notna(nx) and nx > 0:
        text += f"; {nx:.0%} of them NXDOMAIN"
    return text
