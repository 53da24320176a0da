"""The shipped model's recipe pieces: constants, wrapping a fitted model with its threshold, writing it.

The recipe itself runs in `report.evaluate_all` (what `nightjar train dga` calls): leave-one-family-out
first, then the full model on every family, scoring with the model kind that did best.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nightjar.detectors.dga import corpus
from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.detector import DgaDetector, threshold_at_fpr
from nightjar.detectors.dga.model import DgaModel
from nightjar.detectors.dga.synthetic import RECIPE

PER_FAMILY = 6000  # cap per DGA family (generated families have 100k near-identical names)
SEED = 0
VET_RANK = 20_000  # benign training names: top-N of their list, or in >= 2 lists (evaluation.mark_unvetted)
TRAIN_SOURCES = ["dgarchive_20k", "andrewaeva_generated", "clicksecurity_dga", "majestic_20k", "alexa_100k", "tranco_part"]


def detector_from_model(c: Any, model: DgaModel, seed: int = SEED) -> DgaDetector:
    """Wrap a fitted model: threshold at the target FPR on the corpus's benign validation names."""
    det = DgaDetector(model_kind=model.kind, seed=seed)
    det.model_ = model
    val = c.benign.loc[c.benign["val"], "label"].to_numpy(dtype=object)
    scores, _ = model.score(F.encode(val))
    det.threshold_ = threshold_at_fpr(scores, det.target_fpr)
    det.validation_ = {"benign_names": len(val), "fpr": float((scores >= det.threshold_).mean()),
                       "split": "20 % of the vetted benign training labels (Majestic, Alexa, Tranco part; top 20,000 of its list "
                                "or in >= 2 lists) by crc32 of the label"}
    model.params["num_threads"] = 1
    return det


def write_model(det: DgaDetector, out: Path, metrics: dict | None = None, name: str = "dga", version: int = 1) -> Path:
    """Save `det` into `out` (emptied first) with a registry manifest: sources, licences, threshold, metrics."""
    from nightjar.registry.export import export_model

    return export_model(
        det, out, name=name, version=version, training_data=corpus.source_records(TRAIN_SOURCES),
        feature_schema={"input": "domain or dns.question.name", "scored": "registered-domain label", "features": det.model_.feature_names},
        metrics={"validation": det.validation_, **(metrics or {})},
        params={"per_family": PER_FAMILY, "model": det.model_.kind,
                "benign_vetting": f"top {VET_RANK} of its list or in >= 2 of Majestic/Alexa/Tranco",
                "synthetic_positives": [{"alphabet": k, "names": n, "lengths": [lo, hi]} for k, n, lo, hi in RECIPE]},
    )
