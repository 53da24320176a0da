"""Ops fixtures: settings built from explicit values (no user config file), recorded retry waits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nightjar.ops.notify import retry
from nightjar.ops.settings import Settings, load_settings

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """`make_settings(environ={...}, **{"email.smtp_host": ...})`: state in tmp_path, small timeouts."""

    def make(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        base = {"notify.state_file": str(tmp_path / "notify.sqlite"), "notify.timeout": 5.0, "notify.retries": 2,
                "notify.backoff": 0.5, "email.security": "none"}
        return load_settings(None, environ=environ or {}, overrides=base | overrides, use_default_path=False)

    return make


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between retries, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    return waits


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing touches the user's home: registry, config and state live in tmp_path."""
    monkeypatch.setenv("NIGHTJAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.delenv("NIGHTJAR_CONFIG", raising=False)
    for name in ("NIGHTJAR_SMTP_USER", "NIGHTJAR_SMTP_PASSWORD", "NIGHTJAR_WEBHOOK_SECRET", "NIGHTJAR_SMTP_HOST",
                 "NIGHTJAR_SLACK_WEBHOOK", "NIGHTJAR_WEBHOOK_URL", "NIGHTJAR_EMAIL_TO"):
        monkeypatch.delenv(name, raising=False)
