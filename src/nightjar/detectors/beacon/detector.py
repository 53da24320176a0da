"""BeaconDetector: the Detector contract around pairs.py, features.py and model.py.

It aggregates: `run_score` feeds it every batch of the kinds it reads (`aggregator().add(...)`),
then asks for one row per pair (`finish(accumulator)`), highest score first.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.detectors.beacon.addresses import AddressCoder, in_networks
from nightjar.detectors.beacon.allowlist import DEFAULT_INTERNAL, Allowlist, env_paths
from nightjar.detectors.beacon.model import SUBSCORES, BeaconModel
from nightjar.detectors.beacon.pairs import COLUMNS, TRANSPORTS, PairAccumulator
from nightjar.detectors.beacon.reasons import brief, explain, notes
from nightjar.detectors.beacon.rows import KIND, pair_table
from nightjar.errors import ConfigError

DETECTOR_FILE = "detector.json"
ALLOWLIST_FILE = "allowlist.txt"
OUTPUT = ("source.ip", "destination.ip", "destination.port", "destination.domain", "connections")
EXTRA = (*(f"score.{s}" for s in SUBSCORES), "score.beacon", "score.duration", "long_connection", "allowlisted",
         KIND, "destination.is_proxy", "network.transport", "interval.median_s", "interval.mad_s", "interval.evidence", "interval.band", "bytes.median",
         "held_open_s", "longest_connection_s", "first_seen", "last_seen", "prevalence")


class BeaconDetector(Detector):
    """Scores communicating pairs by how much they look like C2 call-backs (higher = worse).

    Example:
        >>> det = BeaconDetector().fit()
        >>> t = pd.DataFrame({"@timestamp": pd.to_datetime(np.arange(0, 6000, 300), unit="s", utc=True),
        ...                   "source.ip": "10.0.0.5", "destination.ip": "203.0.113.9", "destination.port": 443,
        ...                   "source.bytes": 220, "destination.bytes": 500, "zeek.conn.conn_state": "SF"})
        >>> det.score(t)[["source.ip", "connections"]].to_dict("records")
        [{'source.ip': '10.0.0.5', 'connections': 20}]
    """

    kind: ClassVar[str] = "beacon"
    reads: ClassVar[tuple[str, ...]] = ("conn", "http", "ssl", "dns", "zeek.ssh")
    output_columns: ClassVar[tuple[str, ...]] = OUTPUT
    aggregates: ClassVar[bool] = True
    #: the columns `PairAccumulator.add` keeps of each kind: the readers may skip the others
    input_fields: ClassVar[Mapping[str, frozenset[str]] | None] = {kind: frozenset(cols) for kind, cols in COLUMNS.items()}

    def __init__(self, min_connections: int = 4, internal_ranges: tuple[str, ...] = DEFAULT_INTERNAL,
                 allowlist: tuple[str, ...] = (), default_allowlist: bool = True, explain_top: int = 500) -> None:
        self.min_connections = min_connections
        self.explain_top = explain_top
        self.internal_ranges = internal_ranges
        self.allowlist = allowlist
        self.default_allowlist = default_allowlist

    def _validate(self) -> None:
        if not isinstance(self.min_connections, int) or self.min_connections < 3:
            raise ConfigError(f"The 'min_connections' parameter of BeaconDetector must be an int >= 3. Got {self.min_connections!r}.")
        if not isinstance(self.explain_top, int) or self.explain_top < 0:
            raise ConfigError(f"The 'explain_top' parameter of BeaconDetector must be an int >= 0. Got {self.explain_top!r}.")

    # --- fit -------------------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame | None = None, labels: pd.Series | np.ndarray | None = None,
            model: BeaconModel | None = None, allowlist_text: str = "") -> Self:
        """Set the (unsupervised) model: weights and threshold from `model` or the defaults."""
        self._validate()
        self.model_ = model or BeaconModel()
        self.threshold_ = float(self.model_.threshold)
        self.allowlist_text_ = allowlist_text
        return self

    # --- score -----------------------------------------------------------------------------------
    def aggregator(self) -> PairAccumulator:
        """A fresh per-pair state to feed with `add(kind, table, source)`."""
        self.check_fitted()
        return PairAccumulator()

    def score(self, events: pd.DataFrame) -> pd.DataFrame:
        """One row per pair of the conn records in `events`, highest score first."""
        acc = self.aggregator()
        if "event.dataset" in events.columns:  # several kinds at once, e.g. from `nightjar scan`
            for dataset, part in events.groupby("event.dataset", sort=False):
                kind = str(dataset).removeprefix("zeek.")
                acc.add(kind, pa.Table.from_pandas(part.dropna(axis=1, how="all").drop(columns="event.dataset"), preserve_index=False))
        else:
            acc.add("conn", pa.Table.from_pandas(events, preserve_index=False))
        return self.finish(acc)

    def finish(self, acc: PairAccumulator) -> pd.DataFrame:
        """Score every pair of the accumulated state; rows sorted by score, highest first.

        Everything is vectorised over pairs; reasons in full words are written for the
        `explain_top` highest-scoring pairs and every alert or long connection, a short count-and-gap
        line for the rest.
        """
        self.check_fitted()
        self._validate()
        table, facts = pair_table(acc, self.min_connections)
        self.facts_ = {**facts, **{k: v for k, v in vars(acc.counts).items() if k != "other"}}
        self.notes_ = [notes(self.facts_, len(table["connections"]))]
        if len(table["connections"]) == 0:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in (*OUTPUT, SCORE, ALERT, REASONS, *EXTRA)})
        coder = acc.addresses
        stats = {k: v.astype(np.float64) for k, v in table.items() if v.dtype.kind == "f"}
        src_code, dst_code = table["source.code"].astype(np.int64), table["destination.code"].astype(np.int64)
        kind = table[KIND]
        domain = table["destination.domain"]
        stats["prevalence"], stats["sources"] = self._prevalence(src_code, dst_code, kind, domain, coder)
        combined, subs = self.model_.score(stats)
        enough = stats["connections"] >= self.min_connections
        beacon = np.where(enough, combined, 0.0)
        window = max(float(facts["window_s"]), 1e-9)
        m = self.model_
        long = stats["held_open_s"] >= m.long_connection_s
        duration = np.clip(stats["held_open_s"] / window, 0, 1)
        port = table["destination.port"].astype(np.int64)
        transport = np.array(TRANSPORTS, dtype=object)[table["proto"].astype(np.int64)]
        labels = self._allowlist().match(dst_code, coder, port, transport, domain)
        allowed = labels != None  # noqa: E711
        final = np.maximum(beacon, np.where(long, duration, 0.0))
        final = np.where(allowed, final * m.allowlist_factor, final)
        common = m.common_factor_of(stats["prevalence"], stats["sources"])
        final = final * common
        echo = (transport == "icmp") & ~(stats["size_median"] > m.icmp_payload_bytes)
        final = np.round(np.where(echo, final * m.icmp_echo_factor, final), 6)
        alert = final >= self.threshold_
        order = np.lexsort((-stats["connections"], -final))
        detail = np.zeros(len(final), dtype=bool)
        detail[order[: self.explain_top]] = True
        detail |= alert | long
        sel = np.flatnonzero(detail)
        ident = {KIND: kind, "destination.is_proxy": table["destination.is_proxy"], "destination.port": port,
                 "destination.ip": lambda i: coder.decode(dst_code[i:i + 1])[0].as_py()}
        explained = explain(stats, subs, long, labels, ident, window, self.min_connections, sel, common)
        for j, i in enumerate(sel):
            if echo[i]:
                explained[j] += f", ICMP echo with payloads <= {m.icmp_payload_bytes:.0f} bytes (reachability check: scored x{m.icmp_echo_factor:g})"
        reasons = np.full(len(final), None, dtype=object)
        reasons[sel] = explained
        reasons = reasons[order]
        short = brief(stats["connections"][order], stats["gap_median"][order], self.min_connections)
        reasons_arr = pc.if_else(pa.array(reasons != None), pa.array(np.where(reasons != None, reasons, ""), pa.string()), short)  # noqa: E711
        dst_ip = coder.decode(dst_code[order])
        dom_rows = np.flatnonzero(kind[order] == "domain")
        if len(dom_rows):
            members = table["members"][order]
            texts = np.array(dst_ip.to_numpy(zero_copy_only=False), dtype=object)
            for i in dom_rows:
                shown = coder.decode(np.asarray(members[i][:3])).to_pylist()
                texts[i] = ",".join(shown) + (f" (+{len(members[i]) - 3})" if len(members[i]) > 3 else "")
            dst_ip = pa.array(texts, pa.string())
        t0 = pd.Timestamp(int(facts["start_us"]), unit="us", tz="UTC")

        def col(x: np.ndarray, digits: int | None = None) -> np.ndarray:
            x = x[order]
            return np.round(x, digits) if digits is not None else x

        p = port[order]
        data: dict[str, Any] = {
            "source.ip": coder.decode(src_code[order]).to_pandas(), "destination.ip": dst_ip.to_pandas(),
            "destination.port": pd.array(np.where(p >= 0, p, 0), dtype="Int64"),
            "destination.domain": pa.array(domain[order], pa.string(), from_pandas=True).to_pandas(),
            "connections": col(stats["connections"]).astype(np.int64), SCORE: col(final), ALERT: col(alert),
            REASONS: reasons_arr.to_pandas(),
            **{f"score.{name}": col(np.where(enough, subs[name], np.nan), 4) for name in SUBSCORES},
            "score.beacon": col(beacon, 4), "score.duration": col(duration, 4), "long_connection": col(long),
            "allowlisted": col(np.where(allowed, labels, "")), KIND: col(kind),
            "destination.is_proxy": col(table["destination.is_proxy"]), "network.transport": col(transport),
            "interval.median_s": col(stats["gap_median"], 3), "interval.mad_s": col(stats["gap_mad"], 3),
            "interval.evidence": col(stats["gap_evidence"], 3), "interval.band": col(stats["gap_band"]),
            "bytes.median": col(stats["size_median"]), "held_open_s": col(stats["held_open_s"], 3),
            "longest_connection_s": col(stats["longest_s"], 3),
            "first_seen": t0 + pd.to_timedelta(col(stats["first_s"]), unit="s"),
            "last_seen": t0 + pd.to_timedelta(col(stats["last_s"]), unit="s"), "prevalence": col(stats["prevalence"], 4),
        }
        out = pd.DataFrame(data)
        if (p < 0).any():
            out.loc[p < 0, "destination.port"] = pd.NA
        return out[[*OUTPUT, SCORE, ALERT, REASONS, *EXTRA]]

    def _prevalence(self, src: np.ndarray, dst: np.ndarray, kind: np.ndarray, domain: np.ndarray,
                    coder: AddressCoder) -> tuple[np.ndarray, np.ndarray]:
        """(share, number) of the internal sources that talk to each pair's destination: its service name when
        known, else its address (both 0 with fewer than `min_internal_sources` internal sources)."""
        nets = [ipaddress.ip_network(r, strict=False) for r in self.internal_ranges]
        internal = in_networks(src, coder, nets) >= 0
        sources = len(np.unique(src[internal]))
        if sources < self.model_.min_internal_sources:
            return np.zeros(len(src)), np.zeros(len(src))
        names = pd.Series(domain, dtype=object)
        named = (names.notna() & (names != "(web proxy)")).to_numpy()  # the service's name when known: CDN addresses rotate
        dest = pd.Series(np.where(named, names.astype(str).to_numpy(), dst.astype(str)))
        per = pd.DataFrame({"dest": dest[internal].to_numpy(), "src": src[internal]}).groupby("dest")["src"].nunique()
        count = dest.map(per).fillna(0).to_numpy(dtype=np.float64)
        return count / sources, count

    def _allowlist(self) -> Allowlist:
        al = Allowlist()
        if self.default_allowlist:
            for number, line in enumerate(self.allowlist_text_.splitlines(), 1):
                if line.split("#", 1)[0].strip():
                    al.add_line(line.split("#", 1)[0].strip())
        extra = Allowlist.read([Path(p) for p in (*self.allowlist, *env_paths())])
        al.ports.update(extra.ports)
        al.domains.update(extra.domains)
        al.networks += extra.networks
        return al

    # --- files -----------------------------------------------------------------------------------
    def monitor_features(self, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, np.ndarray]:
        """The component sub-scores of the scored pairs (interval, periodicity, size, coverage), for drift monitoring."""
        names = ("interval", "periodicity", "size", "coverage")
        return {f"score.{n}": pd.to_numeric(scored[f"score.{n}"], errors="coerce").to_numpy(dtype=float)
                for n in names if f"score.{n}" in scored.columns}

    def save(self, directory: Path) -> list[Path]:
        """Write `beacon_model.json`, `allowlist.txt` and `detector.json` (parameters and threshold)."""
        self.check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.threshold = self.threshold_
        paths = [self.model_.save(directory)]
        (directory / ALLOWLIST_FILE).write_text(self.allowlist_text_)
        params: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        (directory / DETECTOR_FILE).write_text(json.dumps({"params": params, "threshold": self.threshold_}, indent=1) + "\n")
        return [*paths, directory / ALLOWLIST_FILE, directory / DETECTOR_FILE]

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read a detector written by `save`."""
        directory = Path(directory)
        doc = json.loads((directory / DETECTOR_FILE).read_text())
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["params"].items() if k in cls._param_names()}
        allow = (directory / ALLOWLIST_FILE).read_text(encoding="utf-8") if (directory / ALLOWLIST_FILE).is_file() else ""
        det = cls(**params).fit(model=BeaconModel.load(directory), allowlist_text=allow)
        det.threshold_ = float(doc.get("threshold", det.threshold_))
        return det
