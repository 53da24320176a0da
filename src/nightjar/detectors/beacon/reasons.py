"""Reasons in words: "every 270 s ±14 %, 950 connections over 72 h (72/72 hours active), ..."."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def duration_text(seconds: float) -> str:
    """`45 s`, `12 min`, `3.5 h`, `2.0 d`."""
    if not np.isfinite(seconds):
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    return f"{seconds / 86400:.1f} d"


def brief(connections: np.ndarray, median_gap: np.ndarray, min_connections: int) -> pa.Array:
    """A short reason per pair, vectorised in Arrow: the reason for pairs not explained in full by `explain`."""
    n = pa.array(connections.astype(np.int64))
    text = pc.cast(n, pa.string())
    gap = pc.cast(pa.array(np.round(np.nan_to_num(median_gap)).astype(np.int64)), pa.string())
    timed = pc.binary_join_element_wise(text, " connections, median gap ", gap, " s", "")
    few = pc.binary_join_element_wise(text, pc.if_else(pc.equal(n, 1), " connection", " connections"),
                                      ": too few to judge timing", "")
    return pc.if_else(pa.array(connections < min_connections), few, timed)


def explain(stats: dict[str, np.ndarray], subs: dict[str, np.ndarray], long: np.ndarray, allow: np.ndarray,
            ident: dict[str, np.ndarray], window: float, min_connections: int, rows: np.ndarray,
            common: np.ndarray | None = None) -> list[str]:
    """One reason string for each pair in `rows`.

    `common`: per pair the multiplier for destinations shared by many internal sources (1 = none).

    `ident`: per pair `pair.kind`, `destination.is_proxy`, `destination.port`, and `destination.ip`
    (a function from pair index to the address text, called only for proxy pairs).
    """
    out = []
    kind, proxy = ident["pair.kind"], ident["destination.is_proxy"]
    for i in rows:
        n = int(stats["connections"][i])
        parts: list[str] = []
        span = stats["last_s"][i] - stats["first_s"][i]
        if n < min_connections:
            parts.append(f"{n} connection{'s' if n != 1 else ''}: too few to judge timing")
        else:
            med, mad = stats["gap_median"][i], stats["gap_mad"][i]
            spread = 100 * mad / med if med > 0 else 0.0
            regular = "every" if max(subs["interval"][i], subs["periodicity"][i]) >= 0.5 else "irregular, median gap"
            parts.append(f"{regular} {duration_text(med)} ±{spread:.0f} %")
            band, share, evidence = stats["gap_band"][i], stats["gap_band_share"][i], stats["gap_evidence"][i]
            if np.isfinite(band) and evidence >= 1:
                parts.append(f"{100 * share:.0f} % of gaps within ±{100 * band:.0f} % of the period or a multiple "
                             f"(chance 1 in 10^{min(evidence, 99):.0f})")
            parts.append(f"{n} connections over {duration_text(span)} "
                         f"({int(stats['bins_active'][i])}/{int(stats['bins'][i])} time bins active)")
            size = stats["size_median"][i]
            if np.isfinite(size):
                same = stats["size_match"][i]
                parts.append(f"{'identical' if same >= 0.9 else 'varying'} {size:.0f}-byte requests ({100 * same:.0f} % within 10 %)")
            ans, failed = stats["answered"][i], stats["logins_failed"][i]
            if failed > 0:
                parts.append(f"{failed:.0f} of {n} SSH sessions without a login (failed or never tried: a guessing or scanning bot, not a working channel)")
            elif ans < 0.5:
                parts.append(f"answered {100 * ans:.0f} % (scanner-like)")
            factor = 1.0 if common is None else float(common[i])
            if factor < 1 or stats["prevalence"][i] > 0.2:
                scaled = f": a fleet service, scored x{factor:.2f}" if factor < 1 else ""
                parts.append(f"common destination ({100 * stats['prevalence'][i]:.0f} % of internal hosts{scaled})")
        if long[i]:
            parts.append(f"long connection: held open {duration_text(stats['held_open_s'][i])} "
                         f"({100 * stats['held_open_s'][i] / max(window, 1e-9):.0f} % of the window)")
        if kind[i] == "proxy":
            parts.append(f"through web proxy {ident['destination.ip'](i)}:{ident['destination.port'][i]}")
        elif kind[i] == "domain":
            parts.append("one name over several addresses")
        if proxy[i]:
            parts.append("destination is a web proxy: see its per-destination rows")
        if allow[i] is not None:
            parts.append(f"allowlisted ({allow[i]})")
        out.append(", ".join(parts))
    return out


def notes(facts: dict[str, float], pairs: int) -> str:
    """The run's accounting in one line (records, pairs, window and what was dropped or odd)."""
    text = (f"beacon: {int(facts.get('conn', 0)):,} connections into {pairs:,} pairs over {duration_text(float(facts['window_s']))}; "
            f"{int(facts.get('missing_fields', 0)):,} without time or address dropped, {int(facts.get('duplicates', 0)):,} duplicates dropped, "
            f"{int(facts.get('bad_duration', 0)):,} missing or negative durations ignored, {int(facts.get('out_of_order', 0)):,} out of order "
            f"(re-sorted), {int(facts.get('ipv6', 0)):,} IPv6; {int(facts.get('proxies', 0))} web prox{'y' if facts.get('proxies') == 1 else 'ies'} found")
    return text
