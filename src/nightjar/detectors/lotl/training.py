"""The training recipe of the shipped LotL model, and writing it as a registry model folder.

Recipe: Atomic-EVTX (see data.py for labels and what is dropped) plus the training half of the
dual-use admin commands (benign.ADMIN_TRAIN, each row weighted 40: 40 rows against ~10k background); 20 % of ATT&CK
techniques (with every event of their test windows) are held out as validation, and the threshold is
set on their benign events for the target FPR. OTRF, the admin hold-out and sysmon-modular's
patterns are never trained on: they are the external tests.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.lotl import benign as B
from nightjar.detectors.lotl import data as D
from nightjar.detectors.lotl.attack import Knowledge
from nightjar.detectors.lotl.detector import LotlDetector

VALIDATION_SHARE = 0.2
ADMIN_WEIGHT = 40.0
TRAIN_SOURCES = ["atomic_evtx", "lolbas", "elastic_problemchild"]


def technique_of(events: pd.DataFrame) -> np.ndarray:
    """The ATT&CK technique of each Atomic event ("none" when missing)."""
    return events["technique"].astype("string").fillna("none").to_numpy(dtype=object)


def is_validation(techniques: np.ndarray, share: float = VALIDATION_SHARE) -> np.ndarray:
    """A stable technique-level validation mask (crc32 of the technique id)."""
    return np.array([zlib.crc32(str(t).encode()) % 1000 < 1000 * share for t in techniques])


def training_frame(atomic: pd.DataFrame, admin: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """(events, labels, groups, sample weights) of Atomic rows plus benign admin rows."""
    events = pd.concat([atomic, admin], ignore_index=True)
    y = np.r_[atomic["label"].to_numpy(bool), np.zeros(len(admin), bool)]
    groups = np.r_[atomic["test_dir"].astype("string").fillna("none").to_numpy(dtype=object),
                   np.array([f"admin:{n}" for n in admin["process.name"]], dtype=object)]
    weights = np.r_[np.ones(len(atomic)), np.full(len(admin), ADMIN_WEIGHT)]
    return events, y, groups, weights


def train_detector(data: Path, num_threads: int = 1, **params) -> LotlDetector:
    """Fit the shipped recipe on `data` (the shared datasets folder)."""
    data = Path(data)
    atomic = D.load_atomic(data)
    val = is_validation(technique_of(atomic))
    events, y, groups, weights = training_frame(atomic[~val].reset_index(drop=True), B.admin_events(B.ADMIN_TRAIN))
    det = LotlDetector(num_threads=num_threads, **params)
    v = atomic[val].reset_index(drop=True)
    det.fit(events, y, groups=groups, knowledge=Knowledge.from_catalogues(data), weights=weights,
            validation=(v, v["label"].to_numpy(bool)))
    det.training_rows_ = {"atomic_train": int((~val).sum()), "atomic_validation": int(val.sum()),
                          "admin_train": len(B.ADMIN_TRAIN)}
    return det


def write_model(det: LotlDetector, out: Path, metrics: dict | None = None, name: str = "lotl", version: int = 1) -> Path:
    """Save `det` into `out` (emptied first) with a registry manifest: sources, licences, threshold, metrics."""
    from nightjar.registry.export import export_model

    training_data = D.source_records(TRAIN_SOURCES)
    training_data[0]["notes"] = ("no licence stated upstream: research use; the shipped model learned from it. "
                                 "Techniques held out for the threshold: crc32(technique) % 1000 < 200")
    training_data.append({"name": "admin_dual_use_train", "licence": "project-written", "path": "nightjar.detectors.lotl.benign.ADMIN_TRAIN",
                          "rows": len(B.ADMIN_TRAIN), "notes": "hand-written benign admin commands (training half)"})
    return export_model(
        det, out, name=name, version=version, training_data=training_data,
        feature_schema={"input": "process-creation events (ECS)", "features": det.model_.dense_names,
                        "tokens": len(det.model_.vocab), "excluded": ["user.name", "integrity level"] if not det.context else []},
        metrics={"validation": det.validation_, "rows": getattr(det, "training_rows_", {}), **(metrics or {})},
        params={"model": det.model_.kind},
    )
