"""The settings table: precedence, validation messages, secrets only from the environment, shipped defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nightjar.errors import ConfigError, InputError
from nightjar.ops.settings import SETTINGS, load_settings, render_default_config, shipped_default_config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, '[email]\nsmtp_host = "file.example"\nsmtp_port = 25\nto = ["a@x"]\n[monitor]\nsince = "6h"\n')
    s = load_settings(path, environ={"NIGHTJAR_SMTP_PORT": "2525", "NIGHTJAR_EMAIL_TO": "b@x, c@x"},
                      overrides={"email.smtp_host": "flag.example", "email.smtp_port": None})
    assert (s["email.smtp_host"], s.source("email.smtp_host")) == ("flag.example", "flag")
    assert (s["email.smtp_port"], s.source("email.smtp_port")) == (2525, "env")
    assert s["email.to"] == ["b@x", "c@x"]
    assert (s["monitor.since"], s.source("monitor.since")) == (21600.0, "file")
    assert s["gate.min_events"] == 10000 and s.source("gate.min_events") == "default"


def test_long_environment_names_work_too() -> None:
    s = load_settings(None, environ={"NIGHTJAR_MONITOR_PSI_MAX": "0.3"}, use_default_path=False)
    assert s["monitor.psi_max"] == 0.3


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_constraint_rejects_an_invalid_value_with_one_message_shape(setting) -> None:  # type: ignore[no-untyped-def]
    bad = {"TextList": 7, "Text": 7, "Interval": -5 if setting.constraint.__dict__.get("low") is not None else "x",
           "OneOf": "nope", "Duration": "soon", "Flag": "maybe"}[type(setting.constraint).__name__]
    with pytest.raises(ConfigError, match=rf"^The '{setting.name}' setting must be .+\. Got .+\.$"):
        load_settings(None, environ={}, overrides={setting.name: bad}, use_default_path=False)


def test_secrets_in_a_config_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secrets come only from the environment"):
        load_settings(write(tmp_path, '[email]\npassword = "hunter2"\n'))


def test_unknown_setting_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.toml: unknown setting 'email.smtp_hots'"):
        load_settings(write(tmp_path, '[email]\nsmtp_hots = "x"\n'))


def test_bad_value_in_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.toml: The 'email.smtp_port' setting must be an int in 1..65535. Got 0."):
        load_settings(write(tmp_path, "[email]\nsmtp_port = 0\n"))


def test_missing_or_broken_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings(write(tmp_path, "[email\n"))


def test_shipped_default_config_is_the_rendered_table_and_loads_to_the_defaults(tmp_path: Path) -> None:
    text = shipped_default_config()
    assert text == render_default_config(), "re-render src/nightjar/ops/default_config.toml from SETTINGS"
    uncommented = "\n".join(line[2:] if re.match(r"^# [a-z_]+ = ", line) else line for line in text.splitlines())
    s = load_settings(write(tmp_path, uncommented), environ={})
    assert all(s.source(x.name) == "file" for x in SETTINGS)
    assert dict(s) == dict(load_settings(None, environ={}, use_default_path=False))


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in docs]
    assert not missing, f"undocumented settings in docs/operations.md: {missing}"


def test_every_ops_command_and_sink_is_documented() -> None:
    from nightjar.ops.notify import SINKS

    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    commands = ["nightjar monitor report", "nightjar monitor daily", "nightjar monitor config", "nightjar shadow report",
                "nightjar shadow label", "--shadow DETECTOR@VERSION", "--if-gate", "--smtp-host", "--smtp-port",
                "--email-to", "--slack-webhook", "--webhook-url", "X-Nightjar-Signature", "OnCalendar=", "# /etc/cron.d/nightjar"]
    assert not [c for c in commands if c not in docs]
    assert not [f"`{k}`" for k in SINKS if f"`{k}`" not in docs]
