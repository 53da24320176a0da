"""The score combiner: pair statistics -> sub-scores in 0..1 -> one beacon score in 0..1.

Sub-scores (each in 0..1, 1 = beacon-like):
- `interval`: regular gaps that tolerate jitter: 0.5 x concentration (share of gaps within
  0.25..1.75 x the median or on 2x..4x for missed beats, rescaled so Poisson-like traffic, ~0.69,
  scores 0 and 0.97 scores 1) + 0.3 x dispersion
  (1 - MAD/median / 0.6: Poisson ~0.69 scores 0, 80 % uniform jitter ~0.33 scores 0.44) + 0.2 x
  symmetry (1 - |Bowley skew|: uniform jitter is symmetric);
- `size`: share of connections sending within 10 % (or 16 bytes) of the median size;
- `coverage`: share of the time bins (hours over 72 h) the pair spans that hold a connection, times
  the share of the window it spans (full from half the window);
- `count`: 1 - exp(-connections / 24): a dozen connections are a hint, seventy a pattern;
- `answered`: share of connections with data sent and answered (a call-back needs a reply: this
  separates C2 from the periodic SYN scanners of internet background);
- `rarity`: 1 - the share of internal sources talking to the destination (1 when there are too
  few internal sources to tell).

The combined score is the weighted geometric mean prod(s_i ** w_i) (weights sum to 1), with every
sub-score floored at `FLOOR` first: one bad component (no answers, a few connections) pulls the
score down without zeroing the explanation. Weights are in `DEFAULT_WEIGHTS` and in the model file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nightjar.errors import ConfigError

SUBSCORES = ("interval", "periodicity", "size", "coverage", "count", "answered", "rarity")
DEFAULT_WEIGHTS = {"interval": 0.20, "periodicity": 0.30, "size": 0.10, "coverage": 0.05, "count": 0.05, "answered": 0.30}
FLOOR = 0.02
MODEL_FILE = "beacon_model.json"


def check_weights(weights: dict[str, float]) -> None:
    """ConfigError unless the weights name known sub-scores, are >= 0 and sum to 1."""
    unknown = set(weights) - set(SUBSCORES)
    if unknown:
        raise ConfigError(f"unknown sub-scores in weights: {', '.join(sorted(unknown))}; known: {', '.join(SUBSCORES)}")
    if any(w < 0 for w in weights.values()) or not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
        raise ConfigError(f"The 'weights' of the beacon model must be >= 0 and sum to 1. Got {sum(weights.values()):.6g}.")


def combine(subscores: dict[str, np.ndarray], weights: dict[str, float], floor: float = FLOOR) -> np.ndarray:
    """Weighted geometric mean of sub-scores (each in 0..1; NaN counts as 0)."""
    check_weights(weights)
    total: np.ndarray | None = None
    for name, w in weights.items():
        s = np.asarray(subscores[name], dtype=np.float64)
        if np.any((s < 0) | (s > 1)):
            raise ConfigError(f"sub-score {name!r} must be within 0..1. Got {float(np.nanmin(s)):.4g}..{float(np.nanmax(s)):.4g}.")
        part = w * np.log(np.maximum(np.nan_to_num(s, nan=0.0), floor))
        total = part if total is None else total + part
    assert total is not None
    return np.clip(np.exp(total), 0.0, 1.0)


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(x, nan=0.0), 0.0, 1.0)


def interval_score(concentration: np.ndarray, median: np.ndarray, mad: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """Jitter-tolerant regularity of gaps (see the module docstring)."""
    conc = _clip01((concentration - 0.70) / (0.97 - 0.70))
    with np.errstate(invalid="ignore", divide="ignore"):
        disp = _clip01(1 - (mad / median) / 0.6)
    disp = np.where(median > 0, disp, 0.0)
    sym = _clip01(1 - np.abs(skew))
    return _clip01(0.5 * conc + 0.3 * disp + 0.2 * sym)


def count_score(n: np.ndarray, scale: float = 12.0) -> np.ndarray:
    """1 - exp(-n / scale)."""
    return _clip01(1 - np.exp(-np.asarray(n, dtype=np.float64) / scale))


@dataclass
class BeaconModel:
    """The "model" of an unsupervised detector: weights, threshold and scoring constants, as JSON."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    threshold: float = 0.8
    floor: float = FLOOR
    count_scale: float = 24.0
    allowlist_factor: float = 0.25  # an allowlisted pair's score is multiplied by this
    # ICMP has no ports: one (source, destination) echo pair mixes every use, and small periodic echoes are
    # reachability monitoring (uptime checks, load balancers). Only ICMP that carries data can be a tunnel.
    icmp_echo_factor: float = 0.25  # an ICMP pair's score is multiplied by this ...
    icmp_payload_bytes: float = 128.0  # ... when its median payload per connection is at most this
    periodicity_decades: float = 6.0  # evidence (decades, periodicity.py) that scores 1
    long_connection_s: float = 3600.0  # a session held at least this long is a long-connection finding
    min_internal_sources: int = 10  # fewer internal sources: rarity is not judged (1.0)
    # A destination (its name when known, else its address) that a large share of the internal sources talk
    # to is a fleet service (mail sync, push channels, antivirus and EDR clouds), not one implant's C2: the
    # score is multiplied by a factor falling from 1 at `common_from` to `common_factor` at `common_share`,
    # only when at least `common_min_sources` sources talk to it (ten bots of a small capture calling the
    # same C2 are not a fleet).
    common_from: float = 0.1
    common_share: float = 0.3
    common_factor: float = 0.25
    common_min_sources: int = 20
    notes: dict[str, Any] = field(default_factory=dict)

    def subscores(self, stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The six sub-scores from per-pair statistics (keys as made by pairs.pair_statistics)."""
        return {
            "interval": interval_score(stats["gap_concentration"], stats["gap_median"], stats["gap_mad"], stats["gap_skew"]),
            "periodicity": _clip01(stats["gap_evidence"] / self.periodicity_decades),
            "size": np.where(np.isnan(stats["size_median"]), 1.0, _clip01(stats["size_match"])),  # unknown sizes: neutral
            "coverage": _clip01(stats["coverage"]),
            "count": count_score(stats["connections"], self.count_scale),
            "answered": _clip01(stats["answered"]),
            "rarity": _clip01(1 - stats["prevalence"]),
        }

    def common_factor_of(self, prevalence: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """The multiplier for destinations shared by many internal sources (1 = not common)."""
        fleet = _clip01((np.asarray(prevalence, dtype=np.float64) - self.common_from) / max(self.common_share - self.common_from, 1e-9))
        fleet = np.where(np.asarray(sources) >= self.common_min_sources, fleet, 0.0)
        return 1 - fleet * (1 - self.common_factor)

    def score(self, stats: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(combined score, sub-scores) per pair."""
        subs = self.subscores(stats)
        return combine(subs, self.weights, self.floor), subs

    def save(self, directory: Path) -> Path:
        """Write `beacon_model.json`."""
        check_weights(self.weights)
        path = Path(directory) / MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, directory: Path) -> BeaconModel:
        """Read `beacon_model.json`."""
        doc = json.loads((Path(directory) / MODEL_FILE).read_text())
        model = cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})
        check_weights(model.weights)
        return model
