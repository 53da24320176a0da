"""Operations settings, declared once as a table: `Setting(name, default, constraint, help)`.

Values come, lowest priority first, from the defaults below, a TOML config file, the environment
(`NIGHTJAR_<SECTION>_<KEY>`, e.g. `NIGHTJAR_EMAIL_SMTP_HOST`, plus the short aliases in `env`), and
command-line flags. Secrets come only from the environment (`SECRETS`); a config file that holds one is
refused. The shipped `default_config.toml` is rendered from this table and fully commented.

Example:
    >>> s = load_settings(path=None, environ={}, overrides={"email.smtp_port": 2525})
    >>> s["email.smtp_port"], s.source("email.smtp_port")
    (2525, 'flag')
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nightjar.errors import ConfigError, InputError, Location
from nightjar.ops.constraints import Constraint, Duration, Flag, Interval, OneOf, Text, TextList


@dataclass(frozen=True)
class Setting:
    """One setting: dotted name (`section.key`), default, constraint, help, optional extra env name."""

    name: str
    default: Any
    constraint: Constraint
    help: str
    env: str = ""

    @property
    def env_names(self) -> tuple[str, ...]:
        """`NIGHTJAR_EMAIL_SMTP_HOST` and the short alias, if any."""
        full = "NIGHTJAR_" + self.name.replace(".", "_").upper()
        return (full, self.env) if self.env else (full,)


#: secrets: environment variable -> what it is; never read from a file, never printed
SECRETS = {
    "NIGHTJAR_SMTP_USER": "SMTP login name",
    "NIGHTJAR_SMTP_PASSWORD": "SMTP password",
    "NIGHTJAR_WEBHOOK_SECRET": "key for the HMAC-SHA256 signature of webhook posts",
}
SECRET_WORDS = ("password", "secret", "token", "user")

SETTINGS: tuple[Setting, ...] = (
    Setting("notify.sinks", [], TextList(), "Sinks to send to (email, slack, webhook); empty = every sink whose destination is set."),
    Setting("notify.dedupe_window", "1d", Duration(), "The same report (same key) is not sent twice to a sink within this window."),
    Setting("notify.max_per_hour", 20, Interval(int, 1, None), "At most this many messages per sink per hour; later ones are skipped and reported."),
    Setting("notify.state_file", "", Text(), "SQLite file for dedupe and rate-limit state (default: $NIGHTJAR_HOME or ~/.local/share/nightjar, notify-state.sqlite)."),
    Setting("notify.timeout", 10.0, Interval(float, 0, 300, open_low=True), "Seconds to wait for a server before giving up on one attempt."),
    Setting("notify.retries", 3, Interval(int, 0, 10), "Attempts after the first one failed (429, 5xx, connection errors, SMTP 4xx)."),
    Setting("notify.backoff", 1.0, Interval(float, 0, 60), "Seconds before the first retry; doubled for each further retry."),
    Setting("notify.max_wait", 60.0, Interval(float, 0, 3600), "Longest wait honoured from a Retry-After header (seconds)."),
    Setting("email.smtp_host", "", Text(), "SMTP server; empty = no email.", env="NIGHTJAR_SMTP_HOST"),
    Setting("email.smtp_port", 587, Interval(int, 1, 65535), "SMTP port: 587 for STARTTLS, 465 for implicit TLS.", env="NIGHTJAR_SMTP_PORT"),
    Setting("email.security", "starttls", OneOf(("starttls", "tls", "none")),
            "starttls (upgrade a plain connection), tls (implicit TLS) or none (plain; credentials are then refused)."),
    Setting("email.ca_file", "", Text(), "Extra CA certificates (PEM) to trust, for a private SMTP relay."),
    Setting("email.from", "nightjar@localhost", Text(), "The From address."),
    Setting("email.to", [], TextList(), "Recipients; empty = no email.", env="NIGHTJAR_EMAIL_TO"),
    Setting("email.subject_prefix", "[nightjar]", Text(), "Put before every subject."),
    Setting("email.attach_json", True, Flag(), "Attach the report as JSON."),
    Setting("slack.webhook_url", "", Text(url=True),
            "Slack incoming-webhook URL (it is a credential: prefer the environment); empty = no Slack.", env="NIGHTJAR_SLACK_WEBHOOK"),
    Setting("webhook.url", "", Text(url=True), "URL receiving the report as signed JSON; empty = no webhook.", env="NIGHTJAR_WEBHOOK_URL"),
    Setting("webhook.tolerance", "5m", Duration(), "Receivers reject a signature whose timestamp is further than this from now."),
    Setting("monitor.since", "1d", Duration(), "Default window of `nightjar monitor report`."),
    Setting("monitor.min_events", 500, Interval(int, 1, None), "Drift is judged only with at least this many scored events in the window."),
    Setting("monitor.psi_max", 0.2, Interval(float, 0, None, open_low=True), "Trip when the PSI of the score distribution exceeds this."),
    Setting("monitor.ks_max", 0.15, Interval(float, 0, 1, open_low=True), "Trip when the KS statistic of the scores exceeds this."),
    Setting("monitor.js_max", 0.15, Interval(float, 0, 1, open_low=True), "Trip when the Jensen-Shannon distance (base 2) exceeds this."),
    Setting("monitor.feature_psi_max", 0.2, Interval(float, 0, None, open_low=True),
            "Trip when the PSI of a monitoring feature (label length, entropy, sub-scores, ...) exceeds this."),
    Setting("monitor.alert_rate_max", 20.0, Interval(float, 0, 1000), "Trip when a model raises more alerts per 1,000 events than this."),
    Setting("monitor.precision_min", 0.5, Interval(float, 0, 1), "Trip when the precision of labelled alerts falls below this ..."),
    Setting("monitor.min_labelled", 20, Interval(int, 1, None), "... once at least this many alerts are labelled."),
    Setting("monitor.rejected_max", 0.05, Interval(float, 0, 1), "Trip when more than this share of records read were rejected."),
    Setting("monitor.errors_max", 0, Interval(int, 0, None), "Trip when more job runs than this failed in the window."),
    Setting("monitor.latency_max", 2.0, Interval(float, 0, None, open_low=True),
            "Trip when the p95 scoring time per 1,000 events exceeds this many seconds."),
    Setting("gate.min_events", 10000, Interval(int, 0, None), "Promotion gate: shadow-scored events needed."),
    Setting("gate.min_days", 7.0, Interval(float, 0, None), "Promotion gate: days between the first and last shadow pair."),
    Setting("gate.min_reviewed", 10, Interval(int, 0, None), "Promotion gate: additional detections that analysts must have labelled."),
    Setting("gate.min_true_share", 0.5, Interval(float, 0, 1), "Promotion gate: share of reviewed additional detections that are true positives."),
    Setting("gate.max_lost_share", 0.05, Interval(float, 0, 1),
            "Promotion gate: lost detections (not labelled false) as a share of production alerts on the sample."),
    Setting("gate.max_alert_increase", 0.25, Interval(float, 0, None),
            "Promotion gate: largest relative increase of alerts per 1,000 events (0.25 = +25 %)."),
    Setting("gate.max_latency_regression", 0.5, Interval(float, 0, None),
            "Promotion gate: largest relative increase of p95 latency per 1,000 events (0.5 = +50 %) ..."),
    Setting("gate.latency_slack", 0.05, Interval(float, 0, None),
            "... unless the candidate's p95 is within this many seconds per 1,000 events of production's (1 ms against 3 ms is no regression)."),
)
BY_NAME = {s.name: s for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """Resolved values by dotted name, with where each came from (`default`, `file`, `env`, `flag`)."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], path: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self._values, self._sources, self.path = values, sources, path
        self._environ = dict(os.environ if environ is None else environ)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, name: str) -> str:
        """Where the value of `name` came from."""
        return self._sources[name]

    def secret(self, env_name: str) -> str:
        """A secret from the environment the settings were loaded with ('' when unset)."""
        if env_name not in SECRETS:
            raise KeyError(env_name)
        return self._environ.get(env_name, "")

    def section(self, prefix: str) -> dict[str, Any]:
        """`{"smtp_host": ..., ...}` for `prefix="email"`."""
        return {k.split(".", 1)[1]: v for k, v in self._values.items() if k.startswith(prefix + ".")}


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$NIGHTJAR_CONFIG, else $NIGHTJAR_HOME/config.toml, else ~/.config/nightjar/config.toml."""
    env = os.environ if environ is None else environ
    if env.get("NIGHTJAR_CONFIG"):
        return Path(env["NIGHTJAR_CONFIG"]).expanduser()
    if env.get("NIGHTJAR_HOME"):
        return Path(env["NIGHTJAR_HOME"]).expanduser() / "config.toml"
    return Path.home() / ".config" / "nightjar" / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """A TOML file flattened to `{"section.key": value}`; InputError when unreadable, ConfigError when unknown."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("config file does not exist", Location(str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"config file cannot be read: {exc}", Location(str(path))) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file is not valid TOML: {exc}", Location(str(path))) from None
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"top-level key {section!r} must be a [section]; sections: {_sections()}", Location(str(path)))
        for key, value in table.items():
            name = f"{section}.{key}"
            if any(word in key.lower() for word in SECRET_WORDS):
                raise ConfigError(f"{name!r} looks like a secret: secrets come only from the environment "
                                  f"({', '.join(SECRETS)})", Location(str(path)))
            if name not in BY_NAME:
                raise ConfigError(f"unknown setting {name!r}; see `nightjar monitor config --default`", Location(str(path)))
            flat[name] = value
    return flat


def load_settings(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None, use_default_path: bool = True) -> Settings:
    """Defaults < config file < environment < `overrides` (flags; None values are ignored).

    `path` must exist when given; otherwise the default path is read when it exists.
    """
    env = os.environ if environ is None else environ
    if path is None and use_default_path and default_config_path(env).is_file():
        path = default_config_path(env)
    values = {s.name: s.constraint.check(s.name, s.default) for s in SETTINGS}
    sources = dict.fromkeys(values, "default")
    layers: list[tuple[str, dict[str, Any], Location | None]] = []
    if path is not None:
        layers.append(("file", read_config_file(Path(path)), Location(str(path))))
    from_env = {s.name: env[n] for s in SETTINGS for n in reversed(s.env_names) if env.get(n, "") != ""}
    layers.append(("env", {k: _from_text(BY_NAME[k].constraint, v) for k, v in from_env.items()}, None))
    layers.append(("flag", {k: v for k, v in (overrides or {}).items() if v is not None}, None))
    for source, layer, where in layers:
        for name, raw in layer.items():
            if name not in BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            try:
                values[name] = BY_NAME[name].constraint.check(name, raw)
            except ConfigError as exc:
                raise ConfigError(exc.message, where) from None
            sources[name] = source
    return Settings(values, sources, Path(path) if path is not None else None, env)


def _from_text(constraint: Constraint, text: str) -> Any:
    """Environment values are text: numbers are parsed for numeric settings."""
    if isinstance(constraint, Interval):
        try:
            return float(text) if constraint.kind is float else int(text)
        except ValueError:
            return text
    return text


def _sections() -> str:
    return ", ".join(sorted({s.name.split(".")[0] for s in SETTINGS}))


def render_default_config() -> str:
    """The fully commented default config file, generated from `SETTINGS`."""
    lines = ["# Nightjar operations settings (notifications, monitoring thresholds, promotion gate).",
             "# Every setting is shown with its default, commented out. Priority, lowest first: these defaults,",
             "# this file, the environment (NIGHTJAR_<SECTION>_<KEY>), command-line flags.",
             "# Secrets are never read from this file; set them in the environment:"]
    lines += [f"#   {name}: {what}" for name, what in SECRETS.items()]
    section = ""
    for s in SETTINGS:
        head, key = s.name.split(".", 1)
        if head != section:
            section = head
            lines += ["", f"[{section}]"]
        envs = " or ".join(s.env_names)
        lines += [f"# {s.help}", f"# ({s.constraint.describe()}; environment: {envs})", f"# {key} = {_toml(s.default)}"]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def shipped_default_config() -> str:
    """The text of the `default_config.toml` shipped in the package."""
    return resources.files("nightjar.ops").joinpath("default_config.toml").read_text(encoding="utf-8")
