"""Where models live: the pretrained models shipped in the package, and the default registry folder.

A built-in model is a folder `src/nightjar/models/<name>/` with the model files and a
`manifest.json` written by `Manifest.create(...).write(...)` with version 1. The registry copies it
in as version 1, alias production, the first time the name is asked for (after checking it).
"""

from __future__ import annotations

import os
from pathlib import Path

from nightjar.errors import Location, ModelIntegrityError
from nightjar.registry.manifest import MANIFEST, Manifest, check_files

#: the folder holding the built-in models (tests point this elsewhere)
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "models"


def builtin_models() -> dict[str, Path]:
    """`{name: folder}` for every built-in model (a folder under BUILTIN_DIR with a manifest.json)."""
    if not BUILTIN_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(BUILTIN_DIR.iterdir()) if (p / MANIFEST).is_file()}


def read_builtin(name: str, folder: Path) -> Manifest:
    """The manifest of a built-in model, after checking its name and every file's checksum."""
    manifest = Manifest.read(folder)
    if manifest.name != name:
        raise ModelIntegrityError(f"built-in model folder {name!r} holds a manifest for {manifest.name!r}", Location(str(folder)))
    check_files(folder, manifest)
    return manifest


def default_root() -> Path:
    """$NIGHTJAR_REGISTRY, else $NIGHTJAR_HOME/registry, else $XDG_DATA_HOME (~/.local/share)/nightjar/registry."""
    if explicit := os.environ.get("NIGHTJAR_REGISTRY"):
        return Path(explicit).expanduser()
    if home := os.environ.get("NIGHTJAR_HOME"):
        return Path(home).expanduser() / "registry"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "nightjar" / "registry"
