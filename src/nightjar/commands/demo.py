"""`nightjar demo`: generate the lab, scan it with the shipped models, score the alerts against the truth, write a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nightjar.cli import app
from nightjar.console import out, warn
from nightjar.errors import InputError


@app.command("demo")
def demo(
    out_dir: Path = typer.Option(Path("nightjar-demo"), "--out", help="Folder for the lab, the alerts and the report."),
    seed: int = typer.Option(0, "--seed", help="Seed of the lab (same seed, same telemetry)."),
    hosts: int = typer.Option(20, "--hosts", help="Machines in the lab's organisation (6..500)."),
    days: int = typer.Option(2, "--days", help="Days of telemetry from Monday 2026-03-02 (1..31)."),
    no_profile: bool = typer.Option(False, "--no-profile", help="Leave the telemetry profile out of the report (faster)."),
    shadow_fraction: float = typer.Option(1.0, "--shadow-fraction", help="Share of the DNS clients (by source.ip) whose day-2 "
                                          "events the retrained candidate shadows, in (0, 1]. The lab has only ~20 clients, so "
                                          "the demo shadows them all; on a real network a share such as 0.1 is usual."),
) -> None:
    """Generate a synthetic office with planted attacks (cached after the first run), scan it with every shipped
    detector, show what was found against the ground truth, and write a self-contained HTML report.

    With two days or more, a DGA candidate retrained on day 1 (the shipped model with the local DNS
    added as benign) is shadowed on day 2, and the shadow report and the monitoring summary are printed.
    The demo keeps its own registry and alert store under --out.

    Example:
        nightjar demo --out /tmp/nightjar-demo
    """
    from nightjar.lab import LabConfig
    from nightjar.lab.demo import run_demo
    from nightjar.lab.demo_report import summary_rows

    from nightjar.ops.shadow import check_fraction

    config = LabConfig(hosts=hosts, days=days, seed=seed)
    check_fraction(shadow_fraction)
    try:
        config.check()
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    result = run_demo(out_dir, config, show_progress=True, profile=not no_profile, shadow_fraction=shadow_fraction)
    scan = result.scan
    out.print(f"Lab: {config.hosts} hosts x {config.days} days, seed {config.seed}, "
              f"{'reused from' if result.cached else 'generated in'} {result.lab_dir}", highlight=False, soft_wrap=True)
    out.print(f"Scanned {scan['read']:,} records ({scan['scored']:,} scored, {scan['rejected']:,} rejected), "
              f"{scan['alerts']:,} alerts", highlight=False, soft_wrap=True)
    for skipped in scan.get("skipped") or []:
        warn(f"skipped {skipped['path']}: {skipped['reason']}")
    table = Table(title="Found against the ground truth", caption="TP: alerts on a planted attack; other: on another detector's "
                  "attack infrastructure; FP: the rest (FP ent.: distinct entities)")
    for name in ("detector", "planted", "found", "missed", "alerts", "TP", "other", "FP", "FP ent."):
        table.add_column(name, justify="left" if name == "detector" else "right", no_wrap=True)
    for r in summary_rows(result):
        if not r["ran"]:
            table.add_row(r["detector"], str(r["planted"]), "-", "-", "not run", "", "", "", "")
            continue
        table.add_row(r["detector"], str(r["planted"]), str(r["found"]), str(r["missed"]), f"{r['alerts']:,}", f"{r['tp']:,}",
                      f"{r['other']:,}", f"{r['fp']:,}", f"{r['fp_entities']:,}")
    out.print(table)
    for kind, r in sorted(result.results.items()):
        if r.ran and r.missed:
            out.print(f"{kind} missed: " + "; ".join(f"{a.id} {a.name}" for a in r.missed), highlight=False, soft_wrap=True)
    if result.ops is not None:
        _print_ops(result.ops, result.truth)
    elif config.days < 2:
        out.print("Shadow test and monitoring: skipped (they need a second day: --days 2 or more)", highlight=False)
    total = sum(result.seconds.values())
    out.print(f"Report: {result.html}", highlight=False, soft_wrap=True)
    out.print(f"JSON:   {result.json}", highlight=False, soft_wrap=True)
    out.print(f"Done in {total:.1f} s", highlight=False, soft_wrap=True)


def _print_ops(ops: object, truth: object) -> None:
    """The shadow report of the retrained candidate and the monitoring summary."""
    from nightjar.commands.shadow import report_text
    from nightjar.ops.monitor_render import to_text

    t = ops.training  # type: ignore[attr-defined]
    out.print(f"\nRetrained candidate {ops.candidate}: {ops.production} refitted with day 1's DNS as benign "  # type: ignore[attr-defined]
              f"({t['trained_labels']} labels of {t['local_events']:,} queries; {t['left_out_alerted']} alerted labels left out), "
              f"shadowed from {ops.since[:10]} on {ops.fraction:g} of the events by {ops.key}",  # type: ignore[attr-defined]
              highlight=False, soft_wrap=True)
    infected = sorted({a.entity.get("source.ip") for a in truth.attacks if a.detector == "dga"} - {None})  # type: ignore[attr-defined]
    caught = [ip for ip in infected if ip in set(ops.sampled_keys)]  # type: ignore[attr-defined]
    out.print(f"The sample holds {len(ops.sampled_keys)} DNS clients, {len(caught)} of the {len(infected)} with a planted "  # type: ignore[attr-defined]
              f"DGA bot{' (' + ', '.join(caught) + ')' if caught else ''}" + ("" if caught else "; try --shadow-fraction 1"),
              highlight=False, soft_wrap=True)
    if ops.shadow is not None:  # type: ignore[attr-defined]
        out.print("\n".join(report_text(ops.shadow)), highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
    for note in ops.notes:  # type: ignore[attr-defined]
        warn(note)
    if ops.monitor is not None:  # type: ignore[attr-defined]
        out.print("\nMonitoring summary\n" + to_text(ops.monitor), highlight=False, soft_wrap=True, end="")  # type: ignore[attr-defined]
