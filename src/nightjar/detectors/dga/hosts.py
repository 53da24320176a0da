"""The host view: one row per DNS client, because one machine resolving many DGA-like names is the signal.

Input: scored DNS events with `source.ip`, `domain.normalized`, `score`, `alert` and, when known,
`dns.response_code`. Per client: total queries, DGA-like queries (name alert), distinct DGA-like
names and registered domains, NXDOMAIN share (all queries, and among DGA-like ones), the highest name
score, failed odd look-ups, and

    host_score = 1 - exp(-(n + f / 2) / 3)
    host_alert = n >= min_domains (default 5)  or  f >= min_failed (default 10)

with n = distinct DGA-like registered domains (name score at the model's threshold) and f = distinct
registered domains that failed to resolve (NXDOMAIN) with a name score of at least `suspicious`
(default 0.3, far below the per-name threshold). One odd name gives 0.28, five 0.81 (alert), ten 0.96.
The second rule is for DGAs whose names look too ordinary to alert one by one (dictionary-word DGAs
such as suppobox and matsnu): a bot searching for its rendezvous domain fails on dozens of distinct
registered domains, while ordinary clients fail on few, and rarely on odd-looking ones (0 such
clients in the lab's background, in rita_missing_host's 76 DNS clients and in the OTRF Zeek captures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nightjar.detectors.dga.names import split_names

HOST_COLUMNS = ["source.ip", "host_score", "host_alert", "dga_like_queries", "dga_like_names", "dga_like_domains",
                "failed_odd_domains", "queries", "nxdomain_share", "dga_like_nxdomain_share", "max_score", "reasons"]
SUSPICIOUS = 0.3
MIN_FAILED = 10


def host_view(dns: pd.DataFrame, threshold: float, min_domains: int = 5, suspicious: float = SUSPICIOUS,
              min_failed: int = MIN_FAILED) -> pd.DataFrame:
    """One row per `source.ip`, highest host score first (see the module docstring)."""
    acc = HostAccumulator(threshold, min_domains, suspicious, min_failed)
    acc.add(dns)
    return acc.finish().drop(columns=["score", "alert"])


class HostAccumulator:
    """The host view built batch by batch: per-client totals plus only the DGA-like queries are kept,
    so memory grows with clients and flagged names, not with DNS records. `finish()` gives the host
    rows with `score` (= host_score), `alert` (= host_alert) and `reasons` for alerting."""

    def __init__(self, threshold: float, min_domains: int = 5, suspicious: float = SUSPICIOUS, min_failed: int = MIN_FAILED) -> None:
        self.threshold, self.min_domains = threshold, min_domains
        self.suspicious, self.min_failed = suspicious, min_failed
        self.totals: list[pd.DataFrame] = []
        self.flagged: list[pd.DataFrame] = []

    def add(self, scored: pd.DataFrame) -> None:
        """Take one scored batch (rows without `source.ip`, e.g. plain domain lists, are not host traffic)."""
        if scored.empty or "source.ip" not in scored.columns:
            return
        df = _queries(scored, self.threshold)
        self.totals.append(_totals(df))
        self.flagged.append(df[df["dga"] | (df["nx"] & (df["score"].fillna(-1.0).to_numpy() >= self.suspicious))])
        if len(self.totals) >= 64:  # fold partial totals so their number stays small
            self.totals = [_fold(self.totals)]

    def finish(self) -> pd.DataFrame:
        """The host rows, highest host score first."""
        if not self.totals:
            rows = pd.DataFrame({c: pd.Series(dtype=object) for c in HOST_COLUMNS})
        else:
            rows = _host_rows(_fold(self.totals), pd.concat(self.flagged, ignore_index=True), self.min_domains, self.min_failed)
        return rows.assign(score=rows["host_score"], alert=rows["host_alert"].astype(bool))


def _queries(dns: pd.DataFrame, threshold: float) -> pd.DataFrame:
    df = pd.DataFrame({
        "ip": dns["source.ip"].astype("string").fillna("(unknown)").to_numpy(),
        "name": dns["domain.normalized"].astype("string").to_numpy(),
        "score": pd.to_numeric(dns["score"], errors="coerce").to_numpy(),
    })
    df["dga"] = df["score"].fillna(-1.0).to_numpy() >= threshold
    rcode = dns["dns.response_code"] if "dns.response_code" in dns.columns else pd.Series(None, index=dns.index)
    df["nx"] = rcode.astype("string").str.upper().fillna("").str.contains("NXDOMAIN").to_numpy(dtype=bool)
    return df


def _totals(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("ip", sort=False)
    return pd.DataFrame({"queries": g.size(), "nx": g["nx"].sum(), "max_score": g["score"].max()})


def _fold(parts: list[pd.DataFrame]) -> pd.DataFrame:
    both = pd.concat(parts)
    g = both.groupby(level=0, sort=False)
    return pd.DataFrame({"queries": g["queries"].sum(), "nx": g["nx"].sum(), "max_score": g["max_score"].max()})


def _host_rows(totals: pd.DataFrame, kept: pd.DataFrame, min_domains: int, min_failed: int) -> pd.DataFrame:
    """Host rows from per-client totals and the kept queries (DGA-like, or failed and odd-looking)."""
    flagged = kept.copy()
    if len(flagged):
        uniq = flagged["name"].dropna().unique()
        reg = dict(zip(uniq, split_names(np.asarray(uniq, dtype=object)).registered))
        flagged["reg"] = flagged["name"].map(reg)
    else:
        flagged["reg"] = pd.Series(dtype=object)
    out = pd.DataFrame({
        "queries": totals["queries"],
        "nxdomain_share": totals["nx"] / totals["queries"],
        "max_score": totals["max_score"],
    })
    failed = flagged[flagged["nx"]].groupby("ip", sort=False)["reg"].nunique()
    flagged = flagged[flagged["dga"]]
    fg = flagged.groupby("ip", sort=False)
    out["dga_like_queries"] = fg.size()
    out["dga_like_names"] = fg["name"].nunique()
    out["dga_like_domains"] = fg["reg"].nunique()
    out["dga_like_nxdomain_share"] = fg["nx"].mean()
    out["failed_odd_domains"] = failed
    for c in ("dga_like_queries", "dga_like_names", "dga_like_domains", "failed_odd_domains"):
        out[c] = out[c].fillna(0).astype(int)
    n = out["dga_like_domains"].to_numpy(dtype=float)
    f = out["failed_odd_domains"].to_numpy(dtype=float)
    out["host_score"] = 1.0 - np.exp(-(n + f / 2) / 3.0)
    out["host_alert"] = (n >= min_domains) | (f >= min_failed)
    examples = fg["name"].agg(lambda s: ", ".join(list(dict.fromkeys(s))[:3]))
    out["reasons"] = [_reason(row, examples.get(ip, ""), min_domains, min_failed) for ip, row in out.iterrows()]
    out = out.reset_index(names="source.ip").sort_values(["host_score", "dga_like_queries"], ascending=False, kind="stable")
    return out[HOST_COLUMNS].reset_index(drop=True)


def _reason(row: pd.Series, examples: str, min_domains: int, min_failed: int) -> str:
    n, f = int(row["dga_like_domains"]), int(row["failed_odd_domains"])
    failed = (f"{f} distinct odd-looking registered domains failed to resolve (NXDOMAIN): "
              f"{'a bot searching for its rendezvous domain' if f >= min_failed else 'few'}") if f else ""
    if n == 0:
        return failed or "no DGA-like names"
    text = f"{n} distinct DGA-like registered domain{'s' if n != 1 else ''} in {int(row['queries'])} queries (e.g. {examples})"
    if n >= min_domains:
        text = f"resolves many DGA-like names: {text}"
    nx = row["dga_like_nxdomain_share"]
    if pd.notna(nx) and nx > 0:
        text += f"; {nx:.0%} of them NXDOMAIN"
    return f"{text}; {failed}" if failed else text
