"""Plain functions behind `nightjar models ...`: summaries and bulk verification (tested without the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nightjar.errors import ModelIntegrityError
from nightjar.registry import builtin
from nightjar.registry.manifest import Manifest
from nightjar.registry.resolve import parse_spec, verify_model
from nightjar.registry.store import ALIASES, Registry

#: a promotion gate: raises a NightjarError when `manifest` may not be promoted (see `promote`)
Gate = Callable[[Registry, Manifest], None]


@dataclass(frozen=True)
class ModelSummary:
    """One row of `nightjar models list`."""

    name: str
    kind: str
    versions: list[int]
    aliases: dict[str, int]
    builtin: bool

    def row(self) -> list[object]:
        """Cells for the table: name, kind, versions, production, candidate, previous, built-in."""
        versions = ", ".join(map(str, self.versions))
        return [self.name, self.kind, versions, *(self.aliases.get(a) for a in ALIASES), "yes" if self.builtin else "no"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class VerifyResult:
    """One checked version (`dga@3`, or a folder path): `error` is empty when every file matched."""

    ref: str
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the version passed."""
        return not self.error


@dataclass
class VerifyReport:
    """The outcome of `verify_all`."""

    results: list[VerifyResult] = field(default_factory=list)

    @property
    def failures(self) -> list[VerifyResult]:
        """The versions that failed."""
        return [r for r in self.results if not r.ok]

    def raise_for_failures(self) -> None:
        """ModelIntegrityError listing every failed version and its file, if any failed."""
        if self.failures:
            lines = [f"{r.ref}: {r.error}" for r in self.failures]
            raise ModelIntegrityError(f"{len(lines)} model version(s) failed verification:\n  " + "\n  ".join(lines))


def summarise(registry: Registry) -> list[ModelSummary]:
    """A summary of every model in the registry (built-in models are seeded on the way)."""
    shipped = builtin.builtin_models() if registry.seed_builtins else {}
    rows = []
    for name in registry.models():
        versions = registry.versions(name)
        kind = versions[-1].kind if versions else ""
        rows.append(ModelSummary(name, kind, [m.version for m in versions], registry.aliases(name), name in shipped))
    return rows


def verify_all(registry: Registry, spec: str | None = None) -> VerifyReport:
    """Verify one spec (`dga@3`, `./exported`), every version of a name (`dga`), or everything (None)."""
    report = VerifyReport()
    if spec is not None and ("@" in spec or isinstance(parse_spec(spec), Path)):
        try:
            _, manifest = verify_model(spec, registry)
            report.results.append(VerifyResult(manifest.ref))
        except ModelIntegrityError as exc:
            report.results.append(VerifyResult(spec, str(exc)))
        return report
    for name in registry.models() if spec is None else [spec.strip()]:
        for number in registry.version_numbers(name):
            try:
                registry.verify(name, number)
                report.results.append(VerifyResult(f"{name}@{number}"))
            except ModelIntegrityError as exc:
                report.results.append(VerifyResult(f"{name}@{number}", str(exc)))
    return report


def promote(registry: Registry, name: str, version: int, alias: str = "production", reason: str = "",
            gate: Gate | None = None) -> int | None:
    """Promote after the optional `gate` passes; returns the version the alias pointed at before.

    `gate` is the hook for the future `--if-gate` flag (metric thresholds, shadow-test results): it
    receives the registry and the manifest, and raises to refuse the promotion.
    """
    manifest = registry.manifest(name, version)
    if gate is not None:
        gate(registry, manifest)
    before = registry.aliases(name).get(alias)
    registry.promote(name, manifest.version, alias=alias, reason=reason)
    return before
