"""Registry fixtures: a private registry and built-in folder per test, and a tiny JSON-saving detector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors import base
from nightjar.registry import Registry, builtin


class ToyDetector(base.Detector):
    """Test-only detector: score = weight * len(domain), clipped; saved as params.json + vocab.txt."""

    kind = "toy"
    reads = ("domain",)

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight

    def fit(self, events: pd.DataFrame, labels: pd.Series | np.ndarray) -> Self:
        self.weight_ = float(self.weight)
        return self

    def score(self, events: pd.DataFrame) -> pd.DataFrame:
        self.check_fitted()
        scored = events.copy()
        scored["score"] = (scored["domain"].str.len() * self.weight_).clip(0, 1)
        scored["alert"] = scored["score"] >= 0.5
        scored["reasons"] = "length"
        return scored

    def save(self, directory: Path) -> list[Path]:
        self.check_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        params = directory / "params.json"
        params.write_text(json.dumps({"weight": self.weight_}), encoding="utf-8")
        vocab = directory / "vocab.txt"
        vocab.write_text("com\nnet\norg\n", encoding="utf-8")
        return [params, vocab]

    @classmethod
    def load(cls, directory: Path) -> Self:
        weight = json.loads((directory / "params.json").read_text(encoding="utf-8"))["weight"]
        detector = cls(weight=weight)
        detector.weight_ = weight
        return detector


@pytest.fixture(autouse=True)
def _private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own registry folder and an empty built-in folder; nothing touches ~."""
    monkeypatch.setenv("NIGHTJAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NIGHTJAR_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setattr(builtin, "BUILTIN_DIR", tmp_path / "builtin")


@pytest.fixture(autouse=True)
def _toy_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """`detector_class("toy")` returns ToyDetector; other kinds go to the real lookup."""
    real = base.detector_class
    monkeypatch.setattr(base, "detector_class", lambda kind: ToyDetector if kind == "toy" else real(kind))


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


@pytest.fixture
def make_model(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make_model(weight)` saves a fitted ToyDetector into a fresh folder and returns the folder."""
    counter = iter(range(1000))

    def make(weight: float = 0.1) -> Path:
        folder = tmp_path / "models" / f"m{next(counter)}"
        ToyDetector(weight=weight).fit(pd.DataFrame({"domain": ["a.com"]}), [False]).save(folder)
        return folder

    return make


@pytest.fixture
def populated(registry: Registry, make_model) -> Registry:  # type: ignore[no-untyped-def]
    """`toy` with versions 1..3: production=2, previous=1, candidate=3."""
    for weight in (0.1, 0.2, 0.3):
        registry.register("toy", "toy", make_model(weight), threshold=0.5, target_fpr=0.01)
    registry.promote("toy", 1)
    registry.promote("toy", 2)
    registry.promote("toy", 3, alias="candidate")
    return registry
