"""`nightjar alerts list|show|label`: read the alert store and record analyst feedback."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from nightjar.cli import app
from nightjar.commands.scan import STORE_HELP
from nightjar.console import err, out, print_table
from nightjar.errors import InputError

alerts_app = typer.Typer(help="List, show and label the alerts in the alert store.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def _open(store: Path | None) -> Any:
    from nightjar.scoring.store import AlertStore, default_store_path

    return AlertStore(store or default_store_path(), create=False)


def parse_time(text: str | None, option: str) -> str | None:
    """An ISO 8601 date or time (naive = UTC) as the store's UTC string; InputError otherwise."""
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{option} must be an ISO 8601 date or time such as 2024-04-19 or 2024-04-19T13:00:00Z. Got {text!r}.") from exc
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@alerts_app.command("list")
def list_alerts(
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    detector: str | None = typer.Option(None, "--detector", help="Only this detector's alerts (lotl, dga, url, beacon)."),
    host: str | None = typer.Option(None, "--host", help="Only alerts on this host.name."),
    since: str | None = typer.Option(None, "--since", help="Only events at or after this time (ISO 8601, UTC when no zone)."),
    until: str | None = typer.Option(None, "--until", help="Only events before this time."),
    min_score: float | None = typer.Option(None, "--min-score", help="Only alerts scoring at least this (0..1)."),
    label: str | None = typer.Option(None, "--label", help="Only alerts whose latest label is tp, fp or benign."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many alerts, highest score first."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
) -> None:
    """List stored alerts, highest score first.

    Example:
        nightjar alerts list --detector dga --since 2024-04-19 --min-score 0.99
        nightjar alerts list --host WS-042 --json
    """
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise InputError(f"--min-score must be within 0..1. Got {min_score}.")
    with _open(store) as db:
        rows = db.list_alerts(detector=detector, host=host, since=parse_time(since, "--since"), until=parse_time(until, "--until"),
                              min_score=min_score, label=label, limit=limit)
    if as_json:
        _echo_json([r.as_dict() for r in rows])
        return
    print_table("Alerts", ["id", "detector", "time", "host", "entity", "score", "label"],
                [[r.id[:12], r.detector, r.timestamp or "", r.host_name or "", _short(r.entity), f"{r.score:.4f}", r.label or ""]
                 for r in rows])


@alerts_app.command("show")
def show(
    alert_id: str = typer.Argument(..., help="Alert id (event.id; an unambiguous prefix is enough)."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the ECS document and the feedback as JSON."),
) -> None:
    """Show one alert: its fields, reasons, ECS document and analyst feedback.

    Example:
        nightjar alerts show 3f9a1c2b
    """
    with _open(store) as db:
        row = db.get(alert_id)
        feedback = db.feedback(row.id)
    if as_json:
        _echo_json({**row.as_dict(), "feedback": feedback})
        return
    for key, value in row.as_dict().items():
        if key != "document" and value is not None:
            out.print(f"[bold]{key}[/]: {value}" if out.is_terminal else f"{key}: {value}", highlight=False)
    for fb in feedback:
        out.print(f"feedback: {fb['label']} by {fb['analyst'] or '?'} at {fb['created_at']}" + (f": {fb['note']}" if fb["note"] else ""),
                  highlight=False)
    out.print(json.dumps(row.document, indent=2, ensure_ascii=False), highlight=False)


@alerts_app.command("label")
def label(
    alert_id: str = typer.Argument(..., help="Alert id (event.id; an unambiguous prefix is enough)."),
    verdict: str = typer.Argument(..., help="tp (true positive), fp (false positive) or benign (true but expected)."),
    note: str | None = typer.Option(None, "--note", help="Why: what the analyst found."),
    analyst: str | None = typer.Option(None, "--analyst", help="Who labels (default: $USER)."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Record an analyst's verdict on an alert (feeds monitoring and retraining).

    Example:
        nightjar alerts label 3f9a1c2b fp --note "backup job, runs nightly"
    """
    from nightjar.scoring.store import LABELS

    if verdict not in LABELS:
        raise InputError(f"label must be one of {', '.join(LABELS)}. Got {verdict!r}.")
    who = analyst or os.environ.get("USER") or _login()
    with _open(store) as db:
        row = db.label(alert_id, verdict, note=note, analyst=who)
    err.print(f"labelled {row['alert_id']} as {verdict} ({who})", highlight=False)


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def _short(text: str | None, width: int = 80) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"
