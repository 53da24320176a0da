"""Write the shipped beacon model (`src/nightjar/models/beacon/`): parameters, allowlist, manifest.

Run: `python -m nightjar.detectors.beacon.ship [--threshold T] [--metrics metrics.json]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nightjar.detectors.beacon.detector import ALLOWLIST_FILE, BeaconDetector
from nightjar.detectors.beacon.model import BeaconModel
from nightjar.registry.builtin import BUILTIN_DIR
from nightjar.registry.manifest import Manifest

SOURCES = [
    {"name": "rita_missing_host", "licence": "GPL-3.0", "url": "https://github.com/activecm/rita (test_data/missing_host @ a3c51501)",
     "notes": "background for the synthetic set and end-to-end check; nothing learned from it but the threshold"},
    {"name": "nickg24_c2_capstone", "licence": "none stated (research use)", "url": "https://github.com/nickg-24/c2-ms-capstone @ b32d9c2c",
     "notes": "real C2 call-back timing shaping the synthetic beacons"},
]


def ship(out: Path, threshold: float, metrics: dict | None = None) -> Manifest:
    """Write the model files and manifest into `out`."""
    allow = (out / ALLOWLIST_FILE).read_text(encoding="utf-8") if (out / ALLOWLIST_FILE).is_file() else ""
    det = BeaconDetector().fit(model=BeaconModel(threshold=threshold), allowlist_text=allow)
    det.save(out)
    manifest = Manifest.create("beacon", "beacon", out, threshold=threshold, target_fpr=1e-4,
                               metrics=metrics or {}, training_data=SOURCES, params=det.get_params() | {"weights": det.model_.weights},
                               feature_schema={"input": "Zeek conn (+http, ssl, dns)", "entity": "pair",
                                               "subscores": list(det.model_.weights)})
    manifest.params["internal_ranges"] = list(manifest.params["internal_ranges"])
    manifest.params["allowlist"] = list(manifest.params["allowlist"])
    manifest.write(out)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--metrics", type=Path)
    args = parser.parse_args()
    metrics = json.loads(args.metrics.read_text()) if args.metrics else None
    print(ship(BUILTIN_DIR / "beacon", args.threshold, metrics).ref)


if __name__ == "__main__":
    main()
