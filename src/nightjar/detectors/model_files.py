"""The two plain files behind every linear + gradient-boosted model: a compact JSON document and,
when there is a booster, LightGBM's own text format. No pickle; `load` reads exactly what `save` wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb


def write_model_files(directory: Path, doc: dict[str, Any], model_file: str, booster: lgb.Booster | None, booster_file: str) -> list[Path]:
    """Write `doc` as compact JSON and the booster (if any) as LightGBM text; returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / model_file]
    paths[0].write_text(json.dumps(doc, separators=(",", ":")))
    if booster is not None:
        paths.append(directory / booster_file)
        paths[-1].write_text(booster.model_to_string())
    return paths


def read_model_files(directory: Path, model_file: str, booster_file: str) -> tuple[dict[str, Any], lgb.Booster | None]:
    """The JSON document and the booster (None when the folder has no booster file)."""
    directory = Path(directory)
    doc: dict[str, Any] = json.loads((directory / model_file).read_text())
    path = directory / booster_file
    return doc, (lgb.Booster(model_str=path.read_text()) if path.exists() else None)
