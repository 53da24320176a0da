"""`nightjar monitor report|daily|config`: monitoring reports of the models, sent through the notification sinks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from nightjar.cli import app
from nightjar.console import err, out, warn

monitor_app = typer.Typer(help="Monitor the models: volumes, alert rates, drift, precision, errors, latency.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")

STORE_HELP = "Alert database (default: $NIGHTJAR_STORE, $NIGHTJAR_HOME/alerts.db or ~/.local/share/nightjar/alerts.db)."
CONFIG_HELP = "Config file (TOML; default: $NIGHTJAR_CONFIG, $NIGHTJAR_HOME/config.toml or ~/.config/nightjar/config.toml)."
REGISTRY_HELP = "Model registry holding the references (default: $NIGHTJAR_REGISTRY or $NIGHTJAR_HOME/registry)."


def _settings(config: Path | None, **flags: Any) -> Any:
    from nightjar.ops.settings import load_settings

    return load_settings(config, overrides=flags)


def _notify_flags(smtp_host: str | None, smtp_port: int | None, email_to: str | None, slack_webhook: str | None,
                  webhook_url: str | None) -> dict[str, Any]:
    return {"email.smtp_host": smtp_host, "email.smtp_port": smtp_port, "email.to": email_to,
            "slack.webhook_url": slack_webhook, "webhook.url": webhook_url}


def _build(store: Path | None, settings: Any, since: str | None, registry: Path | None) -> Any:
    from nightjar.ops.monitor import build_report
    from nightjar.registry import Registry, default_registry
    from nightjar.scoring.store import AlertStore, default_store_path

    with AlertStore(store or default_store_path(), create=False) as db:
        return build_report(db, settings, since=since, registry=default_registry() if registry is None else Registry(registry))


def _write(report: Any, json_out: Path | None, html_out: Path | None) -> None:
    from nightjar.ops.monitor_render import to_html
    from nightjar.report_html import write_html

    if json_out is not None:
        text = json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str)
        if str(json_out) == "-":
            typer.echo(text)
        else:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(text + "\n", encoding="utf-8")
    if html_out is not None:
        write_html(html_out, to_html(report))


def _finish(report: Any, quiet: bool, json_out: Path | None) -> None:
    from nightjar.ops.monitor_render import to_text

    if not quiet and str(json_out) != "-":
        out.print(to_text(report), highlight=False, end="")
    if report.tripped:
        raise typer.Exit(1)


@monitor_app.command("report")
def report(
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    since: str | None = typer.Option(None, "--since", help="Window: a duration before now (1d, 6h, 30m) or an ISO time (default: monitor.since)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the report as JSON; '-' for stdout."),
    html_out: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No text report on stdout."),
) -> None:
    """Per model: events scored, alerts per 1,000 (by source), score drift against the reference, precision
    from analyst labels, share labelled, time to label, rejected records, failed jobs and latency.

    Exits 1 when a threshold of the config (monitor.*) trips, so cron or CI can act on it.

    Example:
        nightjar monitor report --since 1d --html monitor.html
        nightjar monitor report --store /srv/nightjar/alerts.db --json - --quiet
    """
    settings = _settings(config)
    result = _build(store, settings, since, registry)
    _write(result, json_out, html_out)
    _finish(result, quiet, json_out)


@monitor_app.command("daily")
def daily(
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write the HTML report."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    smtp_host: str | None = typer.Option(None, "--smtp-host", help="SMTP server (email.smtp_host)."),
    smtp_port: int | None = typer.Option(None, "--smtp-port", help="SMTP port (email.smtp_port)."),
    email_to: str | None = typer.Option(None, "--email-to", help="Recipients, comma-separated (email.to)."),
    slack_webhook: str | None = typer.Option(None, "--slack-webhook", help="Slack incoming-webhook URL (slack.webhook_url; prefer $NIGHTJAR_SLACK_WEBHOOK)."),
    webhook_url: str | None = typer.Option(None, "--webhook-url", help="URL for the signed JSON webhook (webhook.url)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No text report on stdout."),
) -> None:
    """The report for the last day, sent to every configured sink (email, Slack, webhook).

    A notification that fails is retried, then reported on stderr; it never changes the exit code,
    which is 1 when a check tripped and 0 otherwise. Credentials come from the environment only
    (NIGHTJAR_SMTP_USER, NIGHTJAR_SMTP_PASSWORD, NIGHTJAR_WEBHOOK_SECRET).

    Example:
        nightjar monitor daily --smtp-host smtp.example.org --email-to soc@example.org
        NIGHTJAR_SLACK_WEBHOOK=https://hooks.slack.com/services/... nightjar monitor daily -q
    """
    from nightjar.ops.monitor_render import message
    from nightjar.ops.notify import notify, selected_sinks

    settings = _settings(config, **_notify_flags(smtp_host, smtp_port, email_to, slack_webhook, webhook_url))
    selected_sinks(settings)  # an unknown sink name is a config error before any work
    result = _build(store, settings, "1d", registry)
    _write(result, json_out, html_out)
    deliveries = notify(message(result), settings)
    if not deliveries:
        warn("no notification sink configured (email.smtp_host + email.to, slack.webhook_url or webhook.url)")
    for d in deliveries:
        (warn if d.status == "failed" else lambda text: err.print(text, highlight=False))(f"notification {d}")
    _finish(result, quiet, json_out)


@monitor_app.command("config")
def config_cmd(
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    default: bool = typer.Option(False, "--default", help="Print the fully commented default config file and exit."),
) -> None:
    """Validate the config (file, environment) and print every effective setting and where it came from.

    Example:
        nightjar monitor config --default > ~/.config/nightjar/config.toml
        nightjar monitor config --config /etc/nightjar/config.toml
    """
    from nightjar.console import print_table
    from nightjar.ops.settings import SECRETS, SETTINGS, shipped_default_config

    if default:
        typer.echo(shipped_default_config(), nl=False)
        return
    settings = _settings(config)
    rows = [(s.name, json.dumps(settings[s.name]), settings.source(s.name)) for s in SETTINGS]
    rows += [(name, "(set)" if settings.secret(name) else "(not set)", "env") for name in SECRETS]
    print_table(f"Settings ({settings.path or 'no config file'})", ["setting", "value", "from"], rows)
