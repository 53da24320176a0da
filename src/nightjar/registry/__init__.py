"""The model registry: versioned, checksummed, aliased models with an audit log; no pickle anywhere.

- `Registry(root)`: `register`, `versions`, `aliases`, `promote`, `rollback`, `verify`, `events`.
- `Manifest`: what a model folder holds (sha256 per file, threshold, target FPR, metrics, data, ...).
- `resolve_model("dga@production")` / `resolve_model("./exported/dga-7")`: one resolver for names
  and paths; `load_model(spec)` resolves, verifies checksums and loads the detector.
- `default_registry()`: $NIGHTJAR_REGISTRY, $NIGHTJAR_HOME/registry or ~/.local/share/nightjar/registry,
  seeded with the pretrained models shipped in the package (`builtin_models()`).
"""

from __future__ import annotations

from nightjar.registry.builtin import builtin_models, default_root
from nightjar.registry.manifest import Manifest, check_files, code_version
from nightjar.registry.resolve import LoadedModel, ModelRef, load_detector, load_model, parse_spec, resolve_model, verify_model
from nightjar.registry.store import ALIASES, Registry


def default_registry() -> Registry:
    """The registry at `default_root()` (see the module docstring), seeded with the built-in models."""
    return Registry(default_root())


__all__ = [
    "ALIASES",
    "LoadedModel",
    "Manifest",
    "ModelRef",
    "Registry",
    "builtin_models",
    "check_files",
    "code_version",
    "default_registry",
    "default_root",
    "load_detector",
    "load_model",
    "parse_spec",
    "resolve_model",
    "verify_model",
]
