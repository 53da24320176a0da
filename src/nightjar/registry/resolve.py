"""One resolver for model names and paths, and the loader that refuses tampered files.

A spec is either a registry reference or a folder:
- `dga` (= `dga@production`), `dga@candidate`, `dga@previous`, `dga@3`;
- a path to a folder holding `manifest.json` (an exported model). A spec is read as a path when
  it contains `/` or `\\` or starts with `.` or `~`, so `./dga` means the folder, `dga` the model.

`load_model(spec)` returns a `LoadedModel(detector, manifest, path)`: the manifest stays beside the
detector rather than on it (fitted state belongs to the estimator). `load_detector(spec)` is the thin
wrapper for callers that only need the detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nightjar.detectors import base
from nightjar.errors import InputError, Location, ModelNotFoundError
from nightjar.registry.manifest import MANIFEST, Manifest, check_files
from nightjar.registry.store import Registry, check_name


@dataclass(frozen=True)
class ModelRef:
    """A parsed registry reference: `name` and either a version number or an alias."""

    name: str
    ref: int | str = "production"

    def __str__(self) -> str:
        return f"{self.name}@{self.ref}"


@dataclass(frozen=True)
class LoadedModel:
    """A detector loaded from a verified model folder, with the manifest that describes it."""

    detector: base.Detector
    manifest: Manifest
    path: Path

    @property
    def ref(self) -> str:
        """`name@version`, for the `.model` output field."""
        return self.manifest.ref


def is_path_spec(spec: str) -> bool:
    """True when `spec` names a folder rather than a registry entry."""
    return "/" in spec or "\\" in spec or spec.startswith((".", "~"))


def parse_spec(spec: str) -> ModelRef | Path:
    """`dga@3` -> ModelRef("dga", 3); `./out/dga` -> Path; InputError for a malformed spec."""
    spec = spec.strip()
    if not spec:
        raise InputError("empty model spec; use NAME, NAME@ALIAS, NAME@VERSION or a folder path")
    if is_path_spec(spec):
        return Path(spec).expanduser()
    name, sep, ref = spec.partition("@")
    if sep and not ref:
        raise InputError(f"model spec {spec!r} has nothing after '@'; use e.g. {name}@production or {name}@3")
    check_name(name)
    if not sep:
        return ModelRef(name)
    return ModelRef(name, int(ref) if ref.isdigit() else ref)


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from nightjar.registry import default_registry

    return default_registry()


def resolve_model(spec: str, registry: Registry | None = None) -> tuple[Path, Manifest]:
    """The folder and manifest a spec names (checksums are not checked here: see `load_model`).

    ModelNotFoundError lists the known versions and aliases of the model (or the known models).
    """
    parsed = parse_spec(spec)
    if isinstance(parsed, Path):
        if not (parsed / MANIFEST).is_file():
            what = "does not exist" if not parsed.exists() else "has no manifest.json (not an exported model)"
            raise ModelNotFoundError(f"model folder {what}", Location(str(parsed)))
        return parsed, Manifest.read(parsed)
    reg = _registry(registry)
    manifest = reg.manifest(parsed.name, parsed.ref)
    return reg.path(parsed.name, manifest.version), manifest


def verify_model(spec: str, registry: Registry | None = None) -> tuple[Path, Manifest]:
    """Resolve `spec` and check its files against its manifest; ModelIntegrityError names the bad file."""
    parsed = parse_spec(spec)
    if isinstance(parsed, Path):
        path, manifest = resolve_model(spec)
        check_files(path, manifest)
        return path, manifest
    reg = _registry(registry)
    manifest = reg.manifest(parsed.name, parsed.ref)
    reg.verify(parsed.name, manifest.version)  # logs verify-failed in the audit log
    return reg.path(parsed.name, manifest.version), manifest


def load_model(spec: str, registry: Registry | None = None) -> LoadedModel:
    """Resolve `spec`, verify every checksum, then load it with the detector class of its kind."""
    path, manifest = verify_model(spec, registry)
    detector = base.detector_class(manifest.kind).load(path)
    return LoadedModel(detector, manifest, path)


def load_detector(spec: str, registry: Registry | None = None) -> base.Detector:
    """`load_model(spec, registry).detector`."""
    return load_model(spec, registry).detector
