"""Per-pair statistics of connection times and sizes, vectorised over all pairs at once.

Every function takes connections sorted by (`group`, time): `group` is the pair index of each
connection (non-decreasing), so a pair's connections are one contiguous run. No Python loop runs per
connection or per pair: group-wise quantiles come from one `np.sort` of (group, value) packed into
an int64 key, group-wise sums from `np.bincount`, group-wise unions from a running maximum over
offset times.

The statistics (see docs/beacon.md for why each one):
- intervals: median, quartiles, MAD of the gaps between consecutive connections; Bowley skew;
  `concentration`, the share of gaps within [0.25, 1.75] x the median or within 0.25 of 2x, 3x, 4x
  (missed beats) (a histogram view: a jittered beacon keeps its gaps in one band around the period,
  Poisson traffic spreads them from 0 to 3x: ~0.69 of its gaps fall on that grid);
- periodicity (periodicity.py): decades of evidence that the gaps sit in a band around the period
  (or around 2x..4x of it) more often than random arrivals would, tested over band widths 10-70 %;
- sizes: median bytes sent, share of connections within 10 % (or 16 bytes) of it;
- coverage: share of the observation window's time bins that hold a connection;
- held open: the union of the connections' [start, start + duration] spans (long connections).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nightjar.detectors.beacon.periodicity import periodicity

BAND_LOW, BAND_HIGH = 0.25, 1.75  # the concentration band, in multiples of the median gap
MISSED_MAX, MISSED_TOLERANCE = 4.25, 0.25  # a gap near 2x, 3x, 4x the median is a missed beat, on the grid
SIZE_TOLERANCE, SIZE_SLACK = 0.10, 16.0  # a size "matches" within 10 % or 16 bytes of the median


@dataclass
class Runs:
    """Where each pair's run starts in the sorted arrays, and how long it is."""

    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, group: np.ndarray, n_groups: int) -> Runs:
        """Runs of a sorted `group` array over `n_groups` pairs (pairs without rows get count 0)."""
        counts = np.bincount(group, minlength=n_groups).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        return cls(starts, counts)


def group_sum(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of `values` per group (0 for empty groups)."""
    return np.bincount(group, weights=values, minlength=n_groups)


def sort_within(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """`values` sorted within each run of a sorted `group` array (runs keep their places).

    Non-negative integer values are packed with the group into one int64 key and sorted with
    `np.sort` (no permutation needed); anything else falls back to a lexsort.
    """
    if len(values) == 0:
        return values
    if values.dtype.kind in "iu" and values.min() >= 0:
        span = int(values.max()) + 1
        if (int(group[-1]) + 1) * span < (1 << 62):
            key = group.astype(np.int64) * span + values.astype(np.int64)
            return np.sort(key) - group.astype(np.int64) * span
    return values[np.lexsort((values, group))]


def group_quantiles(values: np.ndarray, group: np.ndarray, n_groups: int, qs: tuple[float, ...],
                    presorted: bool = False) -> np.ndarray:
    """Linear-interpolated quantiles `qs` of `values` per group: shape (len(qs), n_groups), NaN if empty.

    `group` must be sorted unless `presorted` is False and it is not (then one lexsort orders it).
    """
    out = np.full((len(qs), n_groups), np.nan)
    if len(values) == 0:
        return out
    if len(group) > 1 and np.any(group[1:] < group[:-1]):
        order = np.lexsort((values, group))
        v, g = values[order], group[order]
    else:
        v, g = (values if presorted else sort_within(values, group)), group
    v = v.astype(np.float64)
    runs = Runs.of(g, n_groups)
    has = runs.counts > 0
    for i, q in enumerate(qs):
        pos = q * (runs.counts[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, runs.counts[has] - 1)
        frac = pos - lo
        base = runs.starts[has]
        out[i, has] = v[base + lo] * (1 - frac) + v[base + hi] * frac
    return out


def drop_duplicates(group: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Mask keeping the first of connections with the same pair and the same start time."""
    keep = np.ones(len(ts), dtype=bool)
    if len(ts) > 1:
        keep[1:] = (group[1:] != group[:-1]) | (ts[1:] != ts[:-1])
    return keep


@dataclass
class Intervals:
    """Gap statistics per pair (NaN where a pair has fewer than two connections)."""

    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    mad: np.ndarray
    skew: np.ndarray
    concentration: np.ndarray
    n: np.ndarray
    evidence: np.ndarray  # periodicity.py: decades of evidence against random arrivals
    band: np.ndarray  # half-width of the band around the period (or its multiples) with the most evidence
    band_share: np.ndarray  # share of gaps in that band


def intervals(group: np.ndarray, ts: np.ndarray, n_groups: int) -> Intervals:
    """Statistics of the gaps between consecutive connections of each pair, in seconds.

    `ts`: int64 µs (or float seconds, rounded to µs), sorted by (`group`, time).
    """
    if ts.dtype.kind == "f":
        ts = np.round(ts * 1e6).astype(np.int64)
    same = group[1:] == group[:-1] if len(ts) > 1 else np.zeros(0, dtype=bool)
    gaps = np.diff(ts)[same]
    g = group[1:][same]
    gaps = sort_within(gaps, g)  # order within a pair does not matter for any statistic below
    q1, med, q3 = group_quantiles(gaps, g, n_groups, (0.25, 0.5, 0.75), presorted=True)
    dev = np.round(np.abs(gaps - med[g])).astype(np.int64)
    (mad,) = group_quantiles(dev, g, n_groups, (0.5,))
    iqr = q3 - q1
    with np.errstate(invalid="ignore", divide="ignore"):
        skew = np.where(iqr > 0.01 * med, (q1 + q3 - 2 * med) / iqr, 0.0)  # no skew from µs rounding of a fixed period
        ratio = gaps / med[g]
    missed = (ratio > BAND_HIGH) & (ratio <= MISSED_MAX) & (np.abs(ratio - np.round(ratio)) <= MISSED_TOLERANCE)
    inside = (((ratio >= BAND_LOW) & (ratio <= BAND_HIGH)) | missed).astype(np.float64)
    n = np.bincount(g, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        conc = group_sum(inside, g, n_groups) / n
    skew = np.where(n > 0, skew, np.nan)
    evidence, band, share = periodicity(ratio, g, n_groups)
    return Intervals(med / 1e6, q1 / 1e6, q3 / 1e6, mad / 1e6, skew, conc, n, evidence, band, share)


@dataclass
class Sizes:
    """Bytes sent per connection, per pair."""

    median: np.ndarray
    match: np.ndarray  # share of connections within tolerance of the median
    total: np.ndarray


def sizes(group: np.ndarray, sent: np.ndarray, n_groups: int) -> Sizes:
    """Regularity of bytes sent (missing sizes count as not matching)."""
    ok = np.isfinite(sent)
    whole = np.round(np.clip(sent[ok], 0, 1e15)).astype(np.int64)
    (med,) = group_quantiles(whole, group[ok], n_groups, (0.5,))
    near = np.abs(sent - med[group]) <= np.maximum(SIZE_TOLERANCE * med[group], SIZE_SLACK)
    counts = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        match = group_sum(near.astype(np.float64), group, n_groups) / counts
    return Sizes(med, match, group_sum(np.where(ok, sent, 0.0), group, n_groups))


def coverage(group: np.ndarray, ts: np.ndarray, n_groups: int, start: float, window: float,
             median_gap: np.ndarray, bins: int = 72) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share of time bins with a connection, occupied bins, bins) per pair.

    The window is cut into `bins` bins (an hour each over 72 h), widened to twice the pair's median
    gap so a slow beacon is not penalised for hours it could not fill, and to at most a third of
    the window.
    """
    window = max(window, 1e-6)
    width = np.full(n_groups, window / bins)
    slow = np.nan_to_num(median_gap, nan=0.0) * 2
    width = np.minimum(np.maximum(width, slow), window / 3)
    n_bins = np.maximum(np.ceil(window / width - 1e-9), 1)
    idx = np.minimum(np.floor((ts - start) / width[group]), n_bins[group] - 1).astype(np.int64)
    key = group.astype(np.int64) * (1 << 32) + idx
    distinct = np.ones(len(key), dtype=bool)
    distinct[1:] = key[1:] != key[:-1]  # sorted by (group, ts) so bins are non-decreasing per group
    occupied = np.bincount(group[distinct], minlength=n_groups).astype(np.float64)
    return occupied / n_bins, occupied, n_bins


def held_open(group: np.ndarray, ts: np.ndarray, duration: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(time covered by the union of [start, start + duration] spans, longest single span) per pair.

    Any order; `ts` and `duration` in seconds.
    """
    d = np.nan_to_num(np.clip(duration, 0, None), nan=0.0)
    longest = np.zeros(n_groups)
    if len(ts) == 0:
        return np.zeros(n_groups), longest
    order = np.lexsort((ts, group))
    group, ts, d = group[order], ts[order], d[order]
    np.maximum.at(longest, group, d)
    # running maximum of end times within each pair: offset every pair far beyond the previous one
    offset = group.astype(np.float64) * (float(np.nanmax(ts + d) - np.nanmin(ts)) + 1.0) * 2
    start, end = ts - ts.min() + offset, ts - ts.min() + d + offset
    prev_end = np.concatenate(([-np.inf], np.maximum.accumulate(end)[:-1]))
    first = np.ones(len(ts), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    prev_end[first] = -np.inf
    new_part = end - np.maximum(start, np.minimum(prev_end, end))
    return group_sum(np.clip(new_part, 0, None), group, n_groups), longest


def pair_statistics(group: np.ndarray, ts_us: np.ndarray, sent: np.ndarray | None, n_groups: int, start_us: int,
                    window_s: float) -> dict[str, np.ndarray]:
    """Every per-pair timing and size statistic, from connections sorted by (`group`, time).

    `group` runs over 0..n_groups-1; `sent` None skips the size statistics. Connections with the same pair and start time are duplicates:
    only the first counts (the number dropped is returned under `duplicates`, a 1-element array).
    """
    keep = drop_duplicates(group, ts_us)
    dropped = int((~keep).sum())
    if dropped:
        group, ts_us = group[keep], ts_us[keep]
        sent = sent[keep] if sent is not None else None
    gaps = intervals(group, ts_us, n_groups)
    size = sizes(group, sent.astype(np.float64), n_groups) if sent is not None else None
    ts = (ts_us - start_us) / 1e6
    _, occupied, bins = coverage(group, ts, n_groups, 0.0, window_s, gaps.median)
    counts = np.bincount(group, minlength=n_groups).astype(np.float64)
    first, last = np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    runs = Runs.of(group, n_groups)
    has = runs.counts > 0
    first[has] = ts[runs.starts[has]]
    last[has] = ts[runs.starts[has] + runs.counts[has] - 1]
    # coverage: occupied share of the bins the pair spans, times the share of the window it spans
    # (full credit from half the window on: an implant installed mid-week is still a beacon)
    span_bins = np.maximum(np.ceil((last - first) / (window_s / np.maximum(bins, 1)) - 1e-9), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = np.minimum(occupied / span_bins, 1.0) * np.minimum((last - first) / (0.5 * max(window_s, 1e-9)), 1.0)
    out = {
        "connections": counts, "first_s": first, "last_s": last,
        "gap_median": gaps.median, "gap_q1": gaps.q1, "gap_q3": gaps.q3, "gap_mad": gaps.mad,
        "gap_skew": gaps.skew, "gap_concentration": gaps.concentration,
        "gap_evidence": gaps.evidence, "gap_band": gaps.band, "gap_band_share": gaps.band_share,
        "coverage": cover, "bins_active": occupied, "bins": bins,
        "duplicates": np.array([dropped]),
    }
    if size is not None:
        out.update(size_median=size.median, size_match=size.match, bytes_sent=size.total)
    return out
