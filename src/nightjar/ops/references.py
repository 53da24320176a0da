"""Score references of the shipped models: `python -m nightjar.ops.references [--data DIR] [--kinds dga,url]`.

Monitoring compares the scores a model gives in production with the scores it gave on data it was
validated on (`nightjar.ops.monitor`). This script (re)computes that reference for every shipped model
under `src/nightjar/models/<kind>/`, writes it as `reference.json` beside the model files and rewrites
the manifest with `Manifest.create`, so the new file is listed with its checksum. Only
`reference.json` and the manifest's `files`/`sizes` change; every other manifest field is kept.
Re-run it whenever a model folder changes.

What each reference holds (benign traffic only: a deployed model mostly sees benign events, so a
reference with positives at their training share would make every ordinary day look drifted):
- dga: the validation benign names (20 % of the Majestic / Alexa / Tranco-part training labels by
  crc32 of the label, the split the threshold was chosen on), scored as domains;
- url: the benign URLs of the validation role (labelled sources + synthetic benign), scored as URLs;
- lotl: the benign events of the validation techniques (20 % of the Atomic techniques by crc32);
- beacon: the background pairs of the rita capture (every pair but the documented beacon).

Each reference also holds, under `features`, grid histograms of the detector's monitoring features
(`Detector.monitor_features`, `nightjar.ops.features`) on the same events, for feature drift.

Use `write_reference(folder, scores, source, features)` for a model being trained (before it is registered).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from nightjar.ops import features as FX
from nightjar.ops.drift import reference_from_scores

REFERENCE = "reference.json"


def write_reference(folder: Path, scores: Any, source: str, features: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `reference.json` (see `drift.reference_from_scores`, plus the monitoring `features` by name) into a
    model folder; returns it."""
    ref = reference_from_scores(np.asarray(scores, dtype=float), source=source)
    if features:
        ref["features"] = FX.reference_features(features)
    (Path(folder) / REFERENCE).write_bytes(orjson.dumps(ref, option=orjson.OPT_INDENT_2) + b"\n")
    return ref


Scored = tuple[np.ndarray, dict[str, np.ndarray]]  # scores, monitoring features


def _scores(det: Any, frame: pd.DataFrame) -> Scored:
    scored = det.score(frame)
    return pd.to_numeric(scored["score"], errors="coerce").to_numpy(dtype=float), FX.monitor_features(det, frame, scored)


def dga_scores(det: Any, data: Path) -> tuple[Scored, str]:
    """Scores of the DGA validation benign names."""
    from nightjar.detectors.dga.evaluation import prepare

    c = prepare(data)
    names = c.benign.loc[c.benign["val"], "domain"].to_numpy(dtype=object)
    return _scores(det, pd.DataFrame({"domain": names})), (
        f"{len(names):,} validation benign names (20 % of the Majestic/Alexa/Tranco-part training labels by crc32)")


def url_scores(det: Any, data: Path) -> tuple[Scored, str]:
    """Scores of the URL validation role's benign URLs."""
    from nightjar.detectors.url.training import corpus

    df = corpus(data)
    val = df[(df["role"] == "validation") & ~df["label"].astype(bool)]
    return _scores(det, pd.DataFrame({"url": val["url"].to_numpy(dtype=object)})), (
        f"{len(val):,} benign URLs of the validation role ({', '.join(sorted(val['source'].unique()))})")


def lotl_scores(det: Any, data: Path) -> tuple[Scored, str]:
    """Scores of the benign events of the LotL validation techniques."""
    from nightjar.detectors.lotl import data as D
    from nightjar.detectors.lotl.training import is_validation, technique_of

    atomic = D.load_atomic(data)
    val = atomic[is_validation(technique_of(atomic)) & ~atomic["label"].astype(bool)].reset_index(drop=True)
    return _scores(det, val), f"{len(val):,} benign events of the validation techniques (20 % of Atomic techniques by crc32)"


def beacon_scores(det: Any, data: Path) -> tuple[Scored, str]:
    """Scores of the rita capture's background pairs."""
    from nightjar.detectors.beacon.evaluation import RITA_BEACON, score_paths

    out = score_paths(det, [data / "beacon" / "rita_missing_host"])
    known = (out["source.ip"] == RITA_BEACON[0]) & (out["destination.ip"] == RITA_BEACON[1])
    bg = out.loc[~known].reset_index(drop=True)
    scores = pd.to_numeric(bg["score"], errors="coerce").to_numpy(dtype=float)
    return (scores, FX.monitor_features(det, None, bg)), f"{len(bg):,} background pairs of the rita capture (its beacon left out)"


SCORERS: dict[str, Callable[[Any, Path], tuple[Scored, str]]] = {
    "dga": dga_scores, "url": url_scores, "lotl": lotl_scores, "beacon": beacon_scores}


def update_model(folder: Path, data: Path) -> dict[str, Any]:
    """Recompute the reference of the model in `folder` (shipped, or just trained by `nightjar train`) and rewrite its
    manifest; returns a summary."""
    from nightjar.detectors.base import detector_class
    from nightjar.registry.manifest import Manifest, check_files

    before = Manifest.read(folder)
    (folder / REFERENCE).unlink(missing_ok=True)
    listed = {k: v for k, v in before.files.items() if k != REFERENCE}
    check_files(folder, Manifest(before.name, before.version, before.kind, files=listed,
                                 sizes={k: v for k, v in before.sizes.items() if k != REFERENCE}))
    det = detector_class(before.kind).load(folder)
    started = time.perf_counter()
    (scores, feats), how = SCORERS[before.kind](det, data)
    ref = write_reference(folder, scores, f"{before.ref}: {how}", feats)
    current = Manifest.read(folder)  # re-read: another engineer may have rewritten it meanwhile
    if {k: v for k, v in current.files.items() if k != REFERENCE} != listed:
        raise RuntimeError(f"{folder}: the model files changed while the reference was computed; run again")
    keep = {k: getattr(current, k) for k in ("feature_schema", "threshold", "target_fpr", "metrics", "training_data",
                                              "params", "code_version", "created_at")}
    Manifest.create(current.name, current.kind, folder, version=current.version, **keep).write(folder)
    return {"model": current.ref, "n": ref["n"], "median": ref["quantiles"].get("0.5"), "p99": ref["quantiles"].get("0.99"),
            "features": {k: v.get("0.5") for k, v in ref.get("features", {}).get("quantiles", {}).items()},
            "seconds": round(time.perf_counter() - started, 1), "source": how}


def main(argv: list[str] | None = None) -> int:
    """(Re)compute reference.json for the shipped models."""
    from nightjar.registry.builtin import builtin_models

    parser = argparse.ArgumentParser(prog="python -m nightjar.ops.references", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("NIGHTJAR_DATA", "../shared/data")),
                        help="The shared datasets folder (default: $NIGHTJAR_DATA or ../shared/data).")
    parser.add_argument("--kinds", default="", help="Comma-separated model names (default: every shipped model).")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data}: no such folder (the shared datasets are needed to score validation data)", file=sys.stderr)
        return 2
    wanted = [k for k in args.kinds.split(",") if k] or list(builtin_models())
    for name in wanted:
        folder = builtin_models().get(name)
        if folder is None or _kind_of(folder) not in SCORERS:
            print(f"{name}: no shipped model with a known reference recipe; skipped", file=sys.stderr)
            continue
        print(orjson.dumps(update_model(folder, args.data)).decode(), flush=True)
    return 0


def _kind_of(folder: Path) -> str:
    """The kind named by a model folder's manifest."""
    from nightjar.registry.manifest import Manifest

    return Manifest.read(folder).kind


if __name__ == "__main__":
    raise SystemExit(main())
