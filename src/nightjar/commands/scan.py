"""`nightjar scan PATH...`: run every detector that applies, store the alerts, write them as ECS NDJSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from nightjar.cli import app
from nightjar.console import err, print_table, warn
from nightjar.detectors.base import KINDS
from nightjar.errors import InputError

STORE_HELP = "Alert database (SQLite; default: $NIGHTJAR_STORE, $NIGHTJAR_HOME/alerts.db or ~/.local/share/nightjar/alerts.db)."


def parse_detectors(text: str | None) -> list[str] | None:
    """`lotl,dga` -> ["lotl", "dga"]; None = every installed detector; InputError for unknown names."""
    if text is None:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"--detectors: unknown detector {', '.join(unknown) or '(none given)'}; known detectors: {', '.join(KINDS)}")
    return list(dict.fromkeys(kinds))


def parse_models(specs: list[str]) -> dict[str, str]:
    """`--model dga=dga@2` (repeatable) -> {"dga": "dga@2"}."""
    models = {}
    for spec in specs:
        kind, sep, model = spec.partition("=")
        if not sep or kind not in KINDS or not model:
            raise InputError(f"--model {spec!r}: use DETECTOR=MODEL, e.g. dga=dga@candidate or url=./exported/url-3")
        models[kind] = model
    return models


@app.command("scan")
def scan(
    paths: list[Path] = typer.Argument(..., help="Files and folders to scan (any mix of formats; archives and .gz are read)."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    alerts: Path | None = typer.Option(None, "--alerts", help="Also write this scan's alerts as ECS NDJSON to this file."),
    detectors: str | None = typer.Option(None, "--detectors", help=f"Comma-separated detectors to run (default: every installed one with a model): {','.join(KINDS)}."),
    model: list[str] = typer.Option([], "--model", help="DETECTOR=MODEL to use another model, e.g. dga=dga@candidate (repeatable)."),
    summary_json: Path | None = typer.Option(None, "--json", help="Write the summary (read, scored, rejected, alerts, per detector and input, skipped) as JSON; '-' for stdout."),
    fail_on_error: bool = typer.Option(False, "--fail-on-error/--pass-on-error", help="Exit 2 when any file was skipped or incomplete (default: only when a file named on the command line could not be read)."),
    state: Path | None = typer.Option(None, "--state", help="Folder of stream states (lotl's per-host rarity and recent parents, lotl.json): read when present, saved after the scan, so they carry across scans."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary table."),
    shadow: str | None = typer.Option(None, "--shadow", help="Shadow-test a candidate, DETECTOR@VERSION: it scores the sampled events too; its verdicts are stored as shadow pairs, never as alerts."),
    fraction: float | None = typer.Option(None, "--fraction", help="With --shadow: the share of events to shadow, in (0, 1]."),
    key: str = typer.Option("host.name", "--key", help="With --shadow: the field whose hash selects events (host.name, user.name, ...); without it in a batch, the detector's entity (domain, URL, command line)."),
) -> None:
    """Scan telemetry with every detector that applies; store the alerts and print a summary.

    lotl reads process events, dga DNS logs and domain lists, url URL lists, Zeek http logs and proxy logs (Squid, W3C),
    beacon Zeek conn logs. Files that cannot be read are reported and skipped; the scan goes on.
    Re-scanning the same input adds no duplicate alert.

    Example:
        nightjar scan ./logs --alerts alerts.ndjson
        nightjar scan conn.log dns.log --detectors beacon,dga --json summary.json
        nightjar scan dns.log --shadow dga@2 --fraction 0.1 --key source.ip
        nightjar scan ./today --state ~/.local/share/nightjar/state
    """
    from nightjar.scoring.scan import run_scan

    hooks = []
    if shadow is not None or fraction is not None:
        from nightjar.ops.shadow import shadow_runner

        if shadow is None or fraction is None:
            raise InputError("--shadow DETECTOR@VERSION and --fraction F go together")
        hooks.append(shadow_runner(shadow, fraction, key))
        if (kinds := parse_detectors(detectors)) is not None and hooks[0].kind not in kinds:
            raise InputError(f"--shadow {shadow} is a {hooks[0].kind} model, but --detectors leaves {hooks[0].kind} out")
    result = run_scan(list(paths), store=store, alerts_out=alerts, detectors=parse_detectors(detectors),
                      models=parse_models(model), show_progress=not quiet, hooks=hooks, state=state)
    for item in result.skipped:
        warn(f"skipped {item['path']}: {item['reason']}")
    for item in result.incomplete:
        warn(f"incomplete {item['path']}: {item['reason']}")
    for note in result.notes:
        warn(note)
    if summary_json is not None:
        text = json.dumps(result.as_dict(), indent=2, ensure_ascii=False)
        if str(summary_json) == "-":
            typer.echo(text)
        else:
            summary_json.parent.mkdir(parents=True, exist_ok=True)
            summary_json.write_text(text + "\n")
    if not quiet and str(summary_json) != "-":
        _print_summary(result)
    named = {str(p) for p in paths if p.is_file()}
    bad_named = [i for i in result.skipped if i["path"] in named]
    if bad_named:
        raise InputError(f"could not read {', '.join(i['path'] for i in bad_named)} ({bad_named[0]['reason']})")
    if fail_on_error and (result.skipped or result.incomplete):
        raise InputError(f"{len(result.skipped)} file(s) skipped and {len(result.incomplete)} incomplete (--fail-on-error)")
    if result.read == 0 and result.skipped:
        raise InputError("nothing could be read: every input was skipped")


def _print_summary(result: object) -> None:
    from nightjar.scoring.scan_summary import ScanSummary

    assert isinstance(result, ScanSummary)
    rows = [[path, ",".join(c.formats), ", ".join(f"{k} {v:,}" for k, v in c.kinds.items()), f"{c.read:,}", f"{c.scored:,}",
             f"{c.rejected:,}", f"{c.alerts:,}"] for path, c in result.inputs.items()]
    rows += [[i["path"], "skipped", "", "", "", "", ""] for i in result.skipped]
    rows.append(["total", "", "", f"{result.read:,}", f"{result.scored:,}", f"{result.rejected:,}", f"{result.alerts:,}"])
    print_table("Inputs", ["input", "format", "events", "read", "scored", "rejected", "alerts"], rows)
    det_rows = [[kind, c.model, "" if c.threshold is None else f"{c.threshold:.4f}", f"{c.records:,}",
                 f"{c.scored:,}" + (" pairs" if c.entities is not None else ""), f"{c.rejected:,}", f"{c.alerts:,}", f"{c.new_alerts:,}"]
                for kind, c in result.detectors.items()]
    print_table("Detectors", ["detector", "model", "threshold", "records", "scored", "rejected", "alerts", "new in store"], det_rows)
    err.print(f"{result.alerts:,} alerts ({result.new_alerts:,} new) in {result.store}"
              + (f"; written to {result.alerts_file}" if result.alerts_file else ""), highlight=False)
