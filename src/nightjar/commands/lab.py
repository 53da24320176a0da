"""`nightjar lab generate`: write the synthetic lab (telemetry with planted attacks and its ground truth)."""

from __future__ import annotations

from pathlib import Path

import typer

from nightjar.cli import app
from nightjar.console import out
from nightjar.errors import InputError

lab_app = typer.Typer(help="Synthetic telemetry of a small organisation with labelled attacks.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


@lab_app.command("generate")
def generate(
    out_dir: Path = typer.Option(..., "--out", help="Folder for telemetry/, truth.json and lab.json."),
    hosts: int = typer.Option(20, "--hosts", help="Machines in the organisation, two servers included (6..500)."),
    days: int = typer.Option(2, "--days", help="Days from Monday 2026-03-02 (1..31)."),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same files."),
    proxy: bool = typer.Option(False, "--proxy", help="Send the HTTP beacon through the web proxy."),
) -> None:
    """Generate the lab: Sysmon process events, Zeek conn/dns/http logs and a mail URL log, with attacks and truth.json.

    Example:
        nightjar lab generate --out lab --hosts 20 --days 2 --seed 0
        nightjar scan lab/telemetry --alerts alerts.ndjson
    """
    from nightjar.lab import LabConfig, generate_lab

    config = LabConfig(hosts=hosts, days=days, seed=seed, proxy=proxy)
    try:
        config.check()
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    lab = generate_lab(out_dir, config)
    counts = ", ".join(f"{k} {v:,}" for k, v in lab.counts.items() if k != "attacks")
    kinds = ", ".join(f"{k} {len(v)}" for k, v in sorted(lab.truth.by_detector().items()))
    for line in (f"Telemetry: {lab.telemetry} ({counts})", f"Planted attacks: {kinds}", f"Ground truth: {lab.truth_path}"):
        out.print(line, highlight=False, soft_wrap=True)
