"""Training data assembly and the shipped model's recipe (fixed seeds, so figures reproduce)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nightjar.detectors.dga import corpus
from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.detector import DgaDetector, threshold_at_fpr
from nightjar.detectors.dga.model import DgaModel

PER_FAMILY = 6000  # cap per DGA family (generated families have 100k near-identical names)
SEED = 0
TRAIN_SOURCES = ["dgarchive_20k", "andrewaeva_generated", "clicksecurity_dga", "majestic_20k", "alexa_100k", "tranco_part"]


def training_frame(data: Path, exclude_families: tuple[str, ...] = (), per_family: int = PER_FAMILY, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """(events with a `domain` and a `family` column, boolean labels): DGA families + benign training sources."""
    dga = corpus.load_dga(data, per_family=per_family, seed=seed)
    dga = dga[~dga["family"].isin(exclude_families)]
    benign = corpus.load_benign(data)
    benign = benign[benign["role"] == "benign_train"].drop_duplicates("domain")
    benign = benign[~benign["domain"].isin(set(dga["domain"]))]
    events = pd.concat([dga[["domain", "family"]], benign[["domain"]].assign(family="benign")], ignore_index=True)
    labels = (events["family"] != "benign").to_numpy()
    return events, labels


def train_detector(data: Path, model_kind: str = "lgbm", num_threads: int = 2, seed: int = SEED) -> DgaDetector:
    """The shipped recipe: every family + benign training sources, on the evaluation's corpus split
    (the same names, validation split and seed as `nightjar evaluate dga`, so the figures match)."""
    from nightjar.detectors.dga.evaluation import fit_fold, prepare

    c = prepare(data, seed=seed)
    model = fit_fold(c, None, seed, num_threads)
    model.kind = model_kind
    return detector_from_model(c, model, seed)


def detector_from_model(c: Any, model: DgaModel, seed: int = SEED) -> DgaDetector:
    """Wrap a fitted model: threshold at the target FPR on the corpus's benign validation names."""
    det = DgaDetector(model_kind=model.kind, seed=seed)
    det.model_ = model
    val = c.benign.loc[c.benign["val"], "label"].to_numpy(dtype=object)
    scores, _ = model.score(F.encode(val))
    det.threshold_ = threshold_at_fpr(scores, det.target_fpr)
    det.validation_ = {"benign_names": len(val), "fpr": float((scores >= det.threshold_).mean()),
                       "split": "20 % of the benign training labels (Majestic, Alexa, Tranco part) by crc32 of the label"}
    model.params["num_threads"] = 1
    return det


def write_model(det: DgaDetector, out: Path, metrics: dict | None = None, name: str = "dga", version: int = 1) -> Path:
    """Save `det` into `out` (emptied first) with a registry manifest: sources, licences, threshold, metrics."""
    from nightjar.registry import Manifest

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()
    det.save(out)
    training_data = corpus.source_records(TRAIN_SOURCES)
    for rec in training_data:
        if "NON-COMMERCIAL" in rec["licence"]:
            rec["notes"] = "non-commercial licence: the shipped model learned from it; commercial use needs a retrain without it"
    manifest = Manifest.create(
        name, "dga", out, version=version, threshold=det.threshold_, target_fpr=det.target_fpr,
        feature_schema={"input": "domain or dns.question.name", "scored": "registered-domain label", "features": det.model_.feature_names},
        metrics={"validation": det.validation_, **(metrics or {})}, training_data=training_data,
        params={**det.get_params(), "per_family": PER_FAMILY, "model": det.model_.kind},
    )
    return manifest.write(out)
