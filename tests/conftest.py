"""Shared fixtures: the location of ../shared/data (tests that need it skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public datasets folder; skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA} (set NIGHTJAR_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress bars inside tests."""
    monkeypatch.setenv("NIGHTJAR_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or write the user's registry, alert store or settings: one fresh home per session."""
    home = tmp_path_factory.getbasetemp() / "nightjar-home"
    monkeypatch.setenv("NIGHTJAR_HOME", str(home))
    for name in ("NIGHTJAR_REGISTRY", "NIGHTJAR_STORE", "NIGHTJAR_CONFIG"):
        monkeypatch.delenv(name, raising=False)
