"""The detector lookup: unknown, not built, and broken detectors."""

from __future__ import annotations

import importlib

import pytest

from nightjar.detectors import base
from nightjar.errors import ConfigError


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known detectors: dga, url, lotl, beacon"):
        base.detector_class("nope")


def test_a_detector_that_fails_to_import_is_left_out_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: object) -> object:
        if name == "nightjar.detectors.url":
            raise ImportError("cannot import name 'x'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(base.DetectorImportError, match="'url' cannot be imported"):
        base.detector_class("url")
    assert "url" not in base.available_kinds()
