"""The manifest: what a model folder holds and how it was made (`manifest.json`).

It records the sha256 of every model file, so a loader can refuse a file that was changed or cut
short, plus the feature schema, the operating threshold and the false-positive rate it was chosen
for, evaluation metrics, training data sources with licences, hyperparameters, code version and
creation time.
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Self

from nightjar.errors import Location, ModelIntegrityError
from nightjar.registry.files import atomic_write_json, list_files, sha256_file

MANIFEST = "manifest.json"
FORMAT = 1  # bumped if the manifest layout ever changes incompatibly


@functools.cache
def code_version() -> str:
    """`nightjar.__version__`, plus `+g<commit>` when the package runs from a git checkout."""
    from nightjar import __version__

    try:
        commit = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" if commit else __version__


def utc_now() -> str:
    """The current time as ISO 8601 UTC, seconds precision, e.g. `2026-01-31T12:00:00Z`."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check_relpath(relpath: str, source: Location) -> None:
    """Refuse manifest file names that could escape the model folder."""
    parts = PurePosixPath(relpath).parts
    if not relpath or relpath.startswith("/") or "\\" in relpath or ".." in parts or relpath == MANIFEST:
        raise ModelIntegrityError(f"manifest lists an invalid file name {relpath!r}", source)


@dataclass
class Manifest:
    """The description of one model version (see the module docstring)."""

    name: str
    version: int
    kind: str
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256 hex
    sizes: dict[str, int] = field(default_factory=dict)  # relative path -> bytes (clearer errors)
    feature_schema: dict[str, Any] | list[Any] = field(default_factory=dict)
    threshold: float | None = None
    target_fpr: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training_data: list[dict[str, Any]] = field(default_factory=list)  # name, licence, rows, url/path, notes
    params: dict[str, Any] = field(default_factory=dict)
    code_version: str = field(default_factory=code_version)
    created_at: str = field(default_factory=utc_now)

    @classmethod
    def create(cls, name: str, kind: str, directory: Path, version: int = 1, **meta: Any) -> Self:
        """A manifest for the files now in `directory` (checksums computed; `manifest.json` skipped).

        Example (how a built-in model under `src/nightjar/models/<name>/` gets its manifest):
            Manifest.create("dga", "dga", out, threshold=0.83, target_fpr=0.001).write(out)
        """
        relpaths = [p for p in list_files(directory) if p != MANIFEST]
        files = {p: sha256_file(directory / p) for p in relpaths}
        sizes = {p: (directory / p).stat().st_size for p in relpaths}
        return cls(name=name, version=version, kind=kind, files=files, sizes=sizes, **meta)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, with a `format` number for future layout changes."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Location | None = None) -> Self:
        """Build from `to_dict()` output; unknown keys are ignored, missing required keys are an error."""
        where = source or Location("<manifest>")
        if not isinstance(data, dict):
            raise ModelIntegrityError("manifest is not a JSON object", where)
        missing = [k for k in ("name", "version", "kind", "files") if k not in data]
        if missing:
            raise ModelIntegrityError(f"manifest lacks {', '.join(missing)}", where)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if not isinstance(values["files"], dict) or not isinstance(values["version"], int):
            raise ModelIntegrityError("manifest 'files' must be an object and 'version' an integer", where)
        for relpath in values["files"]:
            _check_relpath(relpath, where)
        return cls(**values)

    def write(self, directory: Path) -> Path:
        """Write `manifest.json` into `directory` atomically; returns its path."""
        path = Path(directory) / MANIFEST
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def read(cls, directory: Path) -> Self:
        """Read `directory/manifest.json`; a missing or unreadable manifest is a ModelIntegrityError."""
        path = Path(directory) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelIntegrityError("manifest.json is missing", Location(str(path))) from None
        except (OSError, ValueError) as exc:
            raise ModelIntegrityError(f"manifest.json cannot be read: {exc}", Location(str(path))) from None
        return cls.from_dict(data, Location(str(path)))

    @property
    def ref(self) -> str:
        """`name@version`, e.g. `dga@3`."""
        return f"{self.name}@{self.version}"


def check_files(directory: Path, manifest: Manifest) -> None:
    """Raise ModelIntegrityError naming the first file that is missing, changed or unexpected.

    Every file the manifest lists must be present with its sha256 (and size, when recorded). Files
    the manifest does not list are refused too: a model folder is written only by the registry or by
    `save()`, and a stray file could be picked up by a loader.
    """
    directory = Path(directory)
    for relpath, expected in sorted(manifest.files.items()):
        path = directory / relpath
        where = Location(str(path))
        if not path.is_file():
            raise ModelIntegrityError(f"model file {relpath!r} of {manifest.ref} is missing", where)
        size = path.stat().st_size
        want_size = manifest.sizes.get(relpath)
        actual = sha256_file(path)
        if actual != expected:
            how = f"truncated or resized ({size} bytes, manifest says {want_size})" if want_size not in (None, size) else "changed"
            raise ModelIntegrityError(
                f"model file {relpath!r} of {manifest.ref} is {how}: sha256 {actual}, manifest says {expected}", where
            )
    extra = [p for p in list_files(directory) if p != MANIFEST and p not in manifest.files]
    if extra:
        raise ModelIntegrityError(
            f"{manifest.ref} holds files its manifest does not list: {', '.join(extra)}", Location(str(directory / extra[0]))
        )
