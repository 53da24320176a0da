"""`nightjar score DETECTOR INPUT... -o OUT`: score records, one output row per input record."""

from __future__ import annotations

from pathlib import Path

import typer

from nightjar.cli import app
from nightjar.console import err, warn
from nightjar.detectors.base import KINDS
from nightjar.errors import InputError


@app.command("score")
def score(
    detector: str = typer.Argument(..., help=f"Detector: {', '.join(KINDS)}."),
    inputs: list[Path] = typer.Argument(..., help="Input files or folders (domain lists, CSV, Zeek dns.log, ECS NDJSON, ...)."),
    out: str = typer.Option(..., "-o", "--out", help="Output file: .csv, .jsonl or .parquet; '-' for CSV on stdout."),
    model: str | None = typer.Option(None, "--model", help="Model: NAME[@ALIAS|@VERSION] in the registry, or a model folder (default: the detector's production model)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Alert threshold in 0..1 (default: the model's, chosen for its target FPR)."),
    hosts: str | None = typer.Option(None, "--hosts", help="dga: also write the per-client host view (needs DNS events with source.ip)."),
    trees: str | None = typer.Option(None, "--trees", help="lotl: also write one row per suspicious process tree (.csv, .jsonl, .parquet)."),
    campaigns: str | None = typer.Option(None, "--campaigns", help="url: also write the alerted URLs grouped into campaigns (one kit on many hosts)."),
    state: Path | None = typer.Option(None, "--state", help="lotl: the stream state to start from (when the file exists) and to save after the run: per-host rarity, and the parents of recent processes for grandparents, so both carry across runs."),
    read_ahead: bool | None = typer.Option(None, "--read-ahead/--no-read-ahead",
                                           help="Parse the input in a second process while the previous batch is scored "
                                                "(default: on for a large EVTX when two CPUs are usable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary on stderr."),
) -> None:
    """Score records with a detector; rows keep input order, one per input record.

    A record that cannot be scored keeps its row with an empty score, alert false and the reason.

    Example:
        nightjar score dga domains.txt -o scored.csv
        nightjar score dga dns.log -o scored.parquet --hosts hosts.csv
        nightjar score lotl Sysmon.evtx -o scored.csv --trees trees.csv
        nightjar score lotl today.ndjson -o scored.csv --state rarity.json
        nightjar score url urls.txt -o scored.csv --campaigns campaigns.csv
    """
    from nightjar.scoring import run_score

    if detector not in KINDS:
        raise InputError(f"unknown detector {detector!r}; known detectors: {', '.join(KINDS)}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must be within 0..1. Got {threshold}.")
    summary = run_score(detector, list(inputs), out, model_spec=model, threshold=threshold,
                        views={k: v for k, v in (("hosts", hosts), ("trees", trees), ("campaigns", campaigns)) if v} or None,
                        show_progress=not quiet and str(out) != "-", state=state, read_ahead=read_ahead)
    for name, why in summary.skipped_files:
        warn(f"skipped {name}: {why}")
    for note in summary.notes:
        warn(note)
    if not quiet:
        host_text = "".join(f", {name}: {v['rows']:,} rows ({v['alerts']:,} alerting)" for name, v in summary.views.items())
        err.print(f"{detector}: read {summary.read:,}, scored {summary.scored:,}, rejected {summary.rejected:,}, "
                  f"alerts {summary.alerts:,} (model {summary.model}, threshold {summary.threshold:.4f}){host_text}", highlight=False)
