"""`nightjar train DETECTOR` and `nightjar evaluate DETECTOR`: fit, evaluate, write reports, register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nightjar.cli import app
from nightjar.console import err
from nightjar.errors import InputError

DATA_HELP = "The shared datasets folder (holds dga/, url/, ...)."
DEFAULT_DATA = Path("../shared/data")


def _check(detector: str) -> None:
    if detector != "dga":
        raise InputError(f"training and evaluation are built for: dga (got {detector!r})")


def _hooks(detector: str) -> Any | None:
    """The `nightjar.detectors.<kind>.report` module when it provides `train_command` and `evaluate_command`.

    A detector plugs into `nightjar train|evaluate` by defining, in its report module,
    `train_command(data, out, threads, log) -> model folder` and `evaluate_command(model, data, out, threads, log)`;
    the command then writes the model's monitoring reference and registers it (`--register`) in one place.
    """
    import importlib

    from nightjar.detectors.base import KINDS

    if detector == "dga" or detector not in KINDS:
        return None
    try:
        module = importlib.import_module(f"nightjar.detectors.{detector}.report")
    except ModuleNotFoundError:
        return None
    return module if hasattr(module, "train_command") and hasattr(module, "evaluate_command") else None


def _say(text: str) -> None:
    err.print(text, highlight=False)


def _figures(summary: dict[str, Any]) -> None:
    m, t = summary["mean_recall@1e-3"], summary["tpr_at_fpr"][summary["model_kind"]]
    _say(f"mean leave-one-family-out recall at FPR 1e-3: LightGBM {m['lgbm']:.3f}, LR baseline {m['lr']:.3f}, "
         f"blend {m['blend']:.3f}; best {summary['chosen']}, model scores with {summary['model_kind']}")
    _say(f"TPR at FPR 1e-2 / 1e-3 / 1e-4: {t['0.01']:.3f} / {t['0.001']:.3f} / {t['0.0001']:.3f}")
    _say(f"realised FPR on unseen benign sources: {summary['unseen_pooled_fpr']:.4f} ({summary['unseen_pooled_names']:,} names); "
         f"CDN/telemetry alerts: {summary['cdn_alerts']} of {len(summary['cdn'])}")


@app.command("train")
def train(
    detector: str = typer.Argument(..., help="Detector to train: dga, or any detector with train/evaluate hooks (lotl)."),
    data: Path = typer.Option(DEFAULT_DATA, "--data", help=DATA_HELP),
    out: Path = typer.Option(Path("nightjar-train-dga"), "--out", help="Folder for the model files and the reports."),
    register: bool = typer.Option(False, "--register", help="Register the model in the registry as a candidate."),
    registry: Path | None = typer.Option(None, "--registry", help="Registry folder (default: the default registry)."),
    threads: int = typer.Option(2, "--threads", help="Threads for LightGBM while training."),
    families: str | None = typer.Option(None, "--families", help="Comma-separated families for leave-one-family-out (default: all; for quick runs)."),
) -> None:
    """Train with fixed seeds, evaluate (JSON + HTML model card) and optionally register a candidate.

    Example:
        nightjar train dga --data ../shared/data --out runs/dga --register
    """
    hooks = _hooks(detector)
    if hooks is not None:
        _reference_and_register(detector, hooks.train_command(data, out, threads, _say), data, register, registry)
        return
    from nightjar.detectors.dga.report import evaluate_all
    from nightjar.detectors.dga.training import write_model

    _check(detector)
    _say(f"training dga on {data}")
    summary, det = evaluate_all(data, out, families=_families(families), num_threads=threads, log=_say)
    manifest = write_model(det, out / "model", metrics=_manifest_metrics(summary))
    _figures(summary)
    _say(f"model: {manifest.parent}; report: {out / 'dga_evaluation.json'}, card: {out / 'dga_model_card.html'}")
    _reference_and_register("dga", out / "model", data, register, registry)


def _reference_and_register(kind: str, folder: Path, data: Path, register: bool, registry: Path | None) -> None:
    """Write the model's monitoring reference (`reference.json`, listed in its manifest: the scores it gives
    on the benign data it was validated on), then register it as a candidate when asked."""
    from nightjar.ops.references import update_model

    ref = update_model(folder, data)
    _say(f"monitoring reference: {ref['n']:,} scores ({ref['source']})")
    if register:
        from nightjar.registry import Registry, default_registry

        reg = default_registry() if registry is None else Registry(registry)
        registered = reg.register(kind, kind, folder, alias="candidate", reason=f"nightjar train {kind}")
        _say(f"registered {registered.ref} as candidate")


@app.command("evaluate")
def evaluate(
    detector: str = typer.Argument(..., help="Detector to evaluate: dga, or any detector with train/evaluate hooks (lotl)."),
    model: str | None = typer.Option(None, "--model", help="Model spec or folder (default: the production model)."),
    data: Path = typer.Option(DEFAULT_DATA, "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", help="Folder for dga_evaluation.json and dga_model_card.html."),
    threads: int = typer.Option(2, "--threads", help="Threads for LightGBM in the leave-one-family-out refits."),
    families: str | None = typer.Option(None, "--families", help="Comma-separated families for leave-one-family-out (default: all)."),
) -> None:
    """Leave-one-family-out (refits of the recipe) + the model's own figures: JSON report and HTML card.

    Example:
        nightjar evaluate dga --model dga --out reports/dga
    """
    hooks = _hooks(detector)
    if hooks is not None:
        hooks.evaluate_command(model, data, out, threads, _say)
        return
    from nightjar.detectors.dga.report import evaluate_all
    from nightjar.scoring import load_scoring_detector

    _check(detector)
    det, ref = load_scoring_detector("dga", model)
    _say(f"evaluating {ref} on {data}")
    summary, _ = evaluate_all(data, out, families=_families(families), det=det, num_threads=threads, log=_say)  # type: ignore[arg-type]
    _figures(summary)
    _say(f"report: {out / 'dga_evaluation.json'}, card: {out / 'dga_model_card.html'}")


def _families(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def _manifest_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures a manifest keeps (no raw tables)."""
    keep = ("split", "mean_recall@1e-3", "tpr_at_fpr", "mean_auc", "families_below_0.5", "unseen_pooled_fpr",
            "unseen_pooled_names", "cdn_alerts", "adversarial", "chosen", "model_kind")
    metrics = {k: summary[k] for k in keep}
    kind = summary["model_kind"]
    metrics["recall@1e-3_per_family"] = {r["family"]: round(r[f"{kind}_recall@0.001"], 4) for r in summary["per_family"]}
    metrics["unseen_benign_fpr"] = {r["source"]: round(r["fpr"], 5) for r in summary["unseen_benign"]}
    return metrics
