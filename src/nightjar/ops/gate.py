"""The promotion gate behind `nightjar models promote --if-gate`: a `registry.summary.Gate` from shadow results.

`ShadowGate(store_path, settings)` evaluates the `gate.*` rules on the shadow pairs of the version to
promote. Passing, its summary goes into the promotion's audit reason; failing, it appends a
`promote-refused` record with every rule to the model's audit log and raises `GateError` (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nightjar.errors import NightjarError
from nightjar.ops.settings import Settings
from nightjar.ops.shadow_report import ShadowReport, build_shadow_report


class GateError(NightjarError):
    """The promotion gate refused a version."""


class ShadowGate:
    """Callable `(registry, manifest) -> None` that raises GateError unless the shadow test passed."""

    def __init__(self, store_path: str | Path, settings: Settings) -> None:
        self.store_path, self.settings = Path(store_path), settings
        self.report: ShadowReport | None = None

    def evaluate(self, ref: str) -> ShadowReport:
        """The shadow report (with the gate rules) of `ref` = `name@version`."""
        from nightjar.scoring.store import AlertStore

        with AlertStore(self.store_path, create=False) as store:
            has = store.db.execute("SELECT COUNT(*) FROM shadow_pairs WHERE candidate = ?", (ref,)).fetchone()[0]
            if not has:
                self.report = None
                raise GateError(f"gate: {ref} has no shadow pairs in {self.store_path}; "
                                f"run `nightjar scan ... --shadow {ref} --fraction F` first")
            self.report = build_shadow_report(store, ref.split("@", 1)[0], self.settings, candidate=ref)
        return self.report

    def summary(self) -> str:
        """One line: `gate passed: events=... (needs >= ...): pass; ...`."""
        if self.report is None:
            return "gate not evaluated"
        state = "passed" if self.report.gate_passed else "failed"
        return f"gate {state} on shadow test vs {', '.join(self.report.production) or '?'}: " + "; ".join(map(str, self.report.gate))

    def __call__(self, registry: Any, manifest: Any) -> None:
        try:
            if self.report is None or self.report.candidate != manifest.ref:
                self.evaluate(manifest.ref)
        except GateError as exc:
            self._refuse(registry, manifest, exc.message)
            raise
        if not self.report or not self.report.gate_passed:
            failed = [str(c) for c in (self.report.gate if self.report else []) if not c.passed]
            why = self.summary()
            self._refuse(registry, manifest, why)
            raise GateError(f"{manifest.ref} not promoted: the gate failed:\n  " + "\n  ".join(failed))

    @staticmethod
    def _refuse(registry: Any, manifest: Any, why: str) -> None:
        from nightjar.registry.audit import log_event

        log_event(Path(registry.root) / manifest.name / "events.jsonl", "promote-refused", manifest.name, manifest.version,
                  None, None, why)
