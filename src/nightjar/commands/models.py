"""`nightjar models ...`: list, show, promote, roll back and verify registered models."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from nightjar.cli import app
from nightjar.console import out, print_table

models_app = typer.Typer(help="List, show, promote, roll back and verify registered models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

REGISTRY_HELP = "Registry folder (default: $NIGHTJAR_REGISTRY, $NIGHTJAR_HOME/registry or ~/.local/share/nightjar/registry)."


class PromoteAlias(str, Enum):
    """Aliases a version can be promoted to (`previous` is managed by promote and rollback)."""

    production = "production"
    candidate = "candidate"


def _registry(path: Path | None) -> Any:
    from nightjar.registry import Registry, default_registry

    return default_registry() if path is None else Registry(path)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


@models_app.command("list")
def list_models(
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List models: kind, versions, aliases and whether the model ships with Nightjar.

    Example:
        nightjar models list
        nightjar models list --registry /srv/nightjar/registry --json
    """
    from nightjar.registry.summary import summarise

    rows = summarise(_registry(registry))
    if as_json:
        _echo_json([r.to_dict() for r in rows])
        return
    columns = ["model", "kind", "versions", "production", "candidate", "previous", "built-in"]
    print_table("Models", columns, [r.row() for r in rows])


@models_app.command("show")
def show(
    spec: str = typer.Argument(..., help="NAME, NAME@ALIAS, NAME@VERSION or an exported model folder."),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Show a model version's manifest: files and checksums, threshold, metrics, training data.

    Example:
        nightjar models show dga
        nightjar models show dga@candidate --json
    """
    from nightjar.registry import resolve_model

    path, manifest = resolve_model(spec, _registry(registry))
    data = manifest.to_dict()
    if as_json:
        _echo_json(data)
        return
    rows = [(key, value if isinstance(value, str | int | float) or value is None else json.dumps(value, sort_keys=True))
            for key, value in data.items()]
    print_table(f"{manifest.ref} ({path})", ["field", "value"], [*rows, ("path", str(path))])


@models_app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Model name, e.g. dga."),
    version: int = typer.Option(..., "--version", min=1, help="The version number to promote."),
    alias: PromoteAlias = typer.Option(PromoteAlias.production, "--alias", help="The alias to point at it."),
    reason: str = typer.Option("", "--reason", help="Why, for the audit log."),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    if_gate: bool = typer.Option(False, "--if-gate", help="Promote only when the version passed its shadow test (gate.* settings); the verdict goes to the audit log."),
    store: Path | None = typer.Option(None, "--store", help="With --if-gate: the alert database holding the shadow pairs (default: $NIGHTJAR_STORE, $NIGHTJAR_HOME/alerts.db, ...)."),
    config: Path | None = typer.Option(None, "--config", help="With --if-gate: config file with the gate.* settings."),
) -> None:
    """Point an alias at a version (verified first); the old production becomes `previous`.

    Example:
        nightjar models promote dga --version 4 --reason "better recall at 0.1% FPR"
        nightjar models promote dga --version 5 --alias candidate
        nightjar models promote dga --version 5 --if-gate
    """
    from nightjar.registry import summary

    gate = None
    if if_gate:
        from nightjar.errors import NightjarError
        from nightjar.ops.gate import ShadowGate
        from nightjar.ops.settings import load_settings
        from nightjar.scoring.store import default_store_path

        gate = ShadowGate(store or default_store_path(), load_settings(config))
        try:
            gate.evaluate(f"{name}@{version}")
        except NightjarError:  # no shadow pairs: the gate call inside promote logs the refusal and raises
            pass
        reason = "; ".join(x for x in (reason, gate.summary()) if x and x != "gate not evaluated")
    before = summary.promote(_registry(registry), name, version, alias=alias.value, reason=reason, gate=gate)
    if before == version:
        out.print(f"{name}@{version} is already {alias.value}", highlight=False)
    else:
        was = f" (was {before})" if before is not None else ""
        out.print(f"{name}@{alias.value} -> {version}{was}", highlight=False)


@models_app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="Model name, e.g. dga."),
    reason: str = typer.Option("", "--reason", help="Why, for the audit log."),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
) -> None:
    """Put the previous production version back into production.

    Example:
        nightjar models rollback dga --reason "false positives on CDN names"
    """
    version = _registry(registry).rollback(name, reason=reason)
    out.print(f"{name}@production -> {version}", highlight=False)


@models_app.command("verify")
def verify(
    spec: str | None = typer.Argument(None, help="NAME (every version), NAME@VERSION, NAME@ALIAS or a folder; all models when omitted."),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
) -> None:
    """Check model files against their manifest checksums; exit 1 naming each file that fails.

    Example:
        nightjar models verify
        nightjar models verify dga@3
    """
    from nightjar.registry.summary import verify_all

    report = verify_all(_registry(registry), spec)
    print_table("Verification", ["model", "status"], [(r.ref, "ok" if r.ok else "FAILED") for r in report.results])
    report.raise_for_failures()
