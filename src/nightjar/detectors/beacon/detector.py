"""BeaconDetector: the Detector contract around pairs.py, features.py and model.py.

It aggregates: `run_score` feeds it every batch of the kinds it reads (`aggregator().add(...)`),
then asks for one row per pair (`finish(accumulator)`), highest score first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import pyarrow as pa

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.detectors.beacon.allowlist import DEFAULT_INTERNAL, Allowlist, env_paths, internal_mask
from nightjar.detectors.beacon.model import SUBSCORES, BeaconModel
from nightjar.detectors.beacon.pairs import PairAccumulator
from nightjar.detectors.beacon.reasons import explain, notes
from nightjar.detectors.beacon.rows import KIND, pair_table
from nightjar.errors import ConfigError

DETECTOR_FILE = "detector.json"
ALLOWLIST_FILE = "allowlist.txt"
OUTPUT = ("source.ip", "destination.ip", "destination.port", "destination.domain", "connections")
EXTRA = (*(f"score.{s}" for s in SUBSCORES), "score.beacon", "score.duration", "long_connection", "allowlisted",
         KIND, "destination.is_proxy", "network.transport", "interval.median_s", "interval.mad_s", "bytes.median",
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
    reads: ClassVar[tuple[str, ...]] = ("conn", "http", "ssl", "dns")
    output_columns: ClassVar[tuple[str, ...]] = OUTPUT
    aggregates: ClassVar[bool] = True

    def __init__(self, min_connections: int = 4, internal_ranges: tuple[str, ...] = DEFAULT_INTERNAL,
                 allowlist: tuple[str, ...] = (), default_allowlist: bool = True) -> None:
        self.min_connections = min_connections
        self.internal_ranges = internal_ranges
        self.allowlist = allowlist
        self.default_allowlist = default_allowlist

    def _validate(self) -> None:
        if not isinstance(self.min_connections, int) or self.min_connections < 3:
            raise ConfigError(f"The 'min_connections' parameter of BeaconDetector must be an int >= 3. Got {self.min_connections!r}.")

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
        """Score every pair of the accumulated state; rows sorted by score, highest first."""
        self.check_fitted()
        self._validate()
        table, facts = pair_table(acc)
        self.facts_ = {**facts, **{k: v for k, v in vars(acc.counts).items() if k != "other"}}
        self.notes_ = [notes(self.facts_, len(table))]
        if table.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in (*OUTPUT, SCORE, ALERT, REASONS, *EXTRA)})
        stats = {k: table[k].to_numpy(dtype=np.float64) for k in table.columns if table[k].dtype.kind == "f"}
        stats["prevalence"] = self._prevalence(table)
        combined, subs = self.model_.score(stats)
        enough = stats["connections"] >= self.min_connections
        beacon = np.where(enough, combined, 0.0)
        window = max(float(facts["window_s"]), 1e-9)
        m = self.model_
        long = stats["held_open_s"] >= m.long_connection_s
        duration = np.clip(stats["held_open_s"] / window, 0, 1)
        labels = self._allowlist().match(table["destination.ip"].to_numpy(dtype=object), table["destination.port"].fillna(-1).to_numpy(),
                                         table["network.transport"].fillna("").to_numpy(dtype=object), table["destination.domain"].to_numpy(dtype=object))
        allowed = labels != None  # noqa: E711
        final = np.maximum(beacon, np.where(long, duration, 0.0))
        final = np.where(allowed, final * m.allowlist_factor, final)
        out = pd.DataFrame({c: table[c] for c in OUTPUT})
        out["connections"] = stats["connections"].astype(np.int64)
        out[SCORE] = np.round(final, 6)
        out[ALERT] = out[SCORE] >= self.threshold_
        for name in SUBSCORES:
            out[f"score.{name}"] = np.round(subs[name], 4)
        out["score.beacon"], out["score.duration"] = np.round(beacon, 4), np.round(duration, 4)
        out["long_connection"], out["allowlisted"] = long, np.where(allowed, labels, "")
        out[KIND], out["destination.is_proxy"], out["network.transport"] = table[KIND], table["destination.is_proxy"], table["network.transport"]
        out["interval.median_s"], out["interval.mad_s"] = np.round(stats["gap_median"], 3), np.round(stats["gap_mad"], 3)
        out["bytes.median"] = stats["size_median"]
        out["held_open_s"], out["longest_connection_s"] = np.round(stats["held_open_s"], 3), np.round(stats["longest_s"], 3)
        t0 = pd.Timestamp(int(facts["start_us"]), unit="us", tz="UTC")
        out["first_seen"] = t0 + pd.to_timedelta(stats["first_s"], unit="s")
        out["last_seen"] = t0 + pd.to_timedelta(stats["last_s"], unit="s")
        out["prevalence"] = np.round(stats["prevalence"], 4)
        out[REASONS] = explain(stats, subs, beacon, long, labels, table, window, self.min_connections, self.threshold_)
        order = np.lexsort((-stats["connections"], -out[SCORE].to_numpy()))
        return out.iloc[order].reset_index(drop=True)

    def _prevalence(self, table: pd.DataFrame) -> np.ndarray:
        """Share of internal sources that talk to each pair's destination (0 with too few sources)."""
        internal = internal_mask(table["source.ip"].to_numpy(dtype=object), self.internal_ranges)
        sources = table.loc[internal, "source.ip"].nunique()
        if sources < self.model_.min_internal_sources:
            return np.zeros(len(table))
        dest = np.where(table[KIND] == "address", table["destination.ip"].astype(str), table["destination.domain"].astype(str))
        frame = pd.DataFrame({"dest": dest, "src": table["source.ip"], "internal": internal})
        per = frame[frame["internal"]].groupby("dest")["src"].nunique()
        return (pd.Series(dest).map(per).fillna(0).to_numpy(dtype=np.float64)) / sources

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
