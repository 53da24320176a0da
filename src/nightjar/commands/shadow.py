"""`nightjar shadow report|label`: how a shadow-tested candidate compares with production."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from nightjar.cli import app
from nightjar.console import out, print_table
from nightjar.errors import InputError

shadow_app = typer.Typer(help="Shadow tests: compare a candidate with production on sampled live events.", no_args_is_help=True)
app.add_typer(shadow_app, name="shadow")

STORE_HELP = "Alert database (default: $NIGHTJAR_STORE, $NIGHTJAR_HOME/alerts.db or ~/.local/share/nightjar/alerts.db)."
CONFIG_HELP = "Config file holding the gate.* settings (default: $NIGHTJAR_CONFIG, $NIGHTJAR_HOME/config.toml, ...)."


def _num(x: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def report_text(r: Any) -> list[str]:
    """The report as lines of text."""
    prod = ", ".join(r.production) or "?"
    lines = [f"shadow test {r.candidate} vs {prod}: {r.sampled:,} events sampled over {r.days:.1f} days "
             f"(of {r.events_seen:,} scored by production; {r.missing_key:,} without the sampling key)",
             f"alerts per 1,000 events: production {_num(r.per_1000(r.production_alerts), '{:.2f}')}, "
             f"candidate {_num(r.per_1000(r.candidate_alerts), '{:.2f}')}",
             f"additional detections (candidate only): {r.additional_detections:,} {_labels(r.additional_labels)}",
             f"lost detections (production only): {r.lost_detections:,} {_labels(r.lost_labels)}",
             f"agreement {_num(r.agreement, '{:.4f}')}, Cohen's kappa {_num(r.kappa)}"]
    for name, lat in r.latency.items():
        lines.append(f"latency {name} per 1,000 events: p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s, p99 {lat['p99']:.3f} s")
    lines.append("gate " + ("PASSED" if r.gate_passed else "FAILED") + ":")
    lines += [f"  {c}" for c in r.gate]
    return lines


def _labels(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) + ")" if counts else ""


@shadow_app.command("report")
def report(
    detector: str = typer.Argument(..., help="Detector or model name, e.g. dga."),
    candidate: str | None = typer.Option(None, "--candidate", help="The candidate version (default: the most recently shadowed)."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    json_out: Path | None = typer.Option(None, "--json", help="Write the report as JSON ('-' for stdout)."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    top: int = typer.Option(20, "--top", min=0, help="How many additional detections to list for triage."),
) -> None:
    """Events sampled, alerts per 1,000 per model, additional and lost detections, agreement, Cohen's
    kappa, latency, the top additional detections to triage, their labels, and the promotion gate.

    Example:
        nightjar shadow report dga
        nightjar shadow report dga --candidate 2 --json shadow.json
    """
    from nightjar.ops.settings import load_settings
    from nightjar.ops.shadow_report import build_shadow_report
    from nightjar.scoring.store import AlertStore, default_store_path

    settings = load_settings(config)
    with AlertStore(store or default_store_path(), create=False) as db:
        r = build_shadow_report(db, detector, settings, candidate=candidate, top=top)
    if json_out is not None:
        text = json.dumps(r.to_dict(), indent=2, sort_keys=True, default=str)
        if str(json_out) == "-":
            typer.echo(text)
            return
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n", encoding="utf-8")
    out.print("\n".join(report_text(r)), highlight=False)
    if r.top_additional:
        rows = [(p["id"], p["entity"], p["pairs"], p["hosts"], _num(p["candidate_score"], "{:.6f}"),
                 _num(p["production_score"], "{:.6f}"), p["label"] or "") for p in r.top_additional]
        print_table("Top additional detections by entity (label with `nightjar shadow label PAIR tp|fp|benign`)",
                    ["pair", "entity", "events", "hosts", "candidate", "production", "label"], rows)


@shadow_app.command("label")
def label(
    pair_id: int = typer.Argument(..., help="The pair id from `nightjar shadow report`."),
    verdict: str = typer.Argument(..., help="tp, fp or benign."),
    note: str | None = typer.Option(None, "--note", help="Why, for the record."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Label a shadow pair (typically an additional detection, which is not an alert) for the gate.

    A candidate-only pair's label goes to every candidate-only pair of the same candidate and entity.

    Example:
        nightjar shadow label 1234 tp --note "confirmed C2 domain"
    """
    from nightjar.ops.shadow_report import label_pairs
    from nightjar.ops.stats import iso
    from nightjar.scoring.store import LABELS, AlertStore, default_store_path

    if verdict not in LABELS:
        raise InputError(f"label must be one of {', '.join(LABELS)}. Got {verdict!r}.")
    from datetime import UTC, datetime

    with AlertStore(store or default_store_path(), create=False) as db:
        done = label_pairs(db.db, pair_id, verdict, note, iso(datetime.now(UTC)))
    if not done:
        raise InputError(f"no shadow pair with id {pair_id} in {store or default_store_path()}")
    out.print(f"shadow pair {pair_id}: {verdict} ({done} pair(s) of the same entity labelled)", highlight=False)
