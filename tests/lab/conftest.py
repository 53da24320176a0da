"""A small lab, generated once per test session (8 hosts, 2 days)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightjar.lab import Lab, LabConfig, generate_lab

SMALL = LabConfig(hosts=8, days=2, seed=11)


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return generate_lab(tmp_path_factory.mktemp("lab"), SMALL)


@pytest.fixture(scope="session")
def lab_tables(small_lab: Lab):
    """The small lab's telemetry read by nightjar's readers: (tables by kind, the Reading)."""
    from nightjar.io import read_tables

    return read_tables([small_lab.telemetry])


def rel(lab: Lab, path: str | Path) -> str:
    return str(Path(path).resolve().relative_to(lab.out.resolve()))
