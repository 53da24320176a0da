"""Write a fitted detector as a model folder the registry can take: files plus a manifest.

One function for every detector's `nightjar train`: the folder is emptied first (no stale file can
ride along under a new manifest), the detector saves its plain files, and the manifest records
threshold, target FPR, feature schema, metrics and the training data with licences. A source under
a non-commercial licence gets a note saying so, since the shipped model learned from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nightjar.detectors.base import Detector
from nightjar.registry.manifest import Manifest

NON_COMMERCIAL_NOTE = "non-commercial licence: the shipped model learned from it; commercial use needs a retrain without it"


def export_model(
    detector: Detector,
    out: Path,
    *,
    name: str,
    training_data: list[dict[str, Any]],
    feature_schema: dict[str, Any] | list[Any] | None = None,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    version: int = 1,
) -> Path:
    """Save `detector` into `out` with its manifest; returns the manifest path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()
    detector.save(out)
    for record in training_data:
        if "NON-COMMERCIAL" in str(record.get("licence", "")).upper() and not record.get("notes"):
            record["notes"] = NON_COMMERCIAL_NOTE
    manifest = Manifest.create(
        name, detector.kind, out, version=version,
        threshold=float(detector.threshold_),  # type: ignore[attr-defined]
        target_fpr=getattr(detector, "target_fpr", None),
        feature_schema=feature_schema, metrics=metrics or {}, training_data=training_data,
        params={**detector.get_params(), **(params or {})},
    )
    return manifest.write(out)
