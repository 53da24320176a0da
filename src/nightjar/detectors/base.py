"""The detector contract shared by every kind, and the lookup of detectors by kind.

A detector is an estimator in the scikit-learn sense: `__init__` only stores hyperparameters,
`fit(events, labels)` learns and returns `self`, fitted state ends in `_`, and `score(events)`
returns a copy of the events with `score` (0..1, higher is more malicious), `alert` (score at or
above the operating threshold `threshold_`) and `reasons` (words a person can act on). Models are
saved as plain files (JSON, LightGBM text, ONNX) by `save(dir)`, never pickled, and read back by the
class method `load(dir)`.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from nightjar.errors import ConfigError, NightjarError

SCORE, ALERT, REASONS = "score", "alert", "reasons"
SETTINGS_FILE = "detector.json"  # hyperparameters, threshold, target FPR and validation summary of a saved detector
KINDS = ("dga", "url", "lotl", "beacon")


class NotFittedError(NightjarError):
    """`score` or `save` was called on a detector that has not been fitted or loaded."""


class Detector:
    """Base class: hyperparameter handling, fitted-state checks and the contract's signatures."""

    kind: ClassVar[str] = ""
    #: event kinds (see nightjar.schema) this detector reads, e.g. ("domain", "dns")
    reads: ClassVar[tuple[str, ...]] = ()
    #: the columns `score` output keeps, in order, before score/alert/reasons (the CLI contract)
    output_columns: ClassVar[tuple[str, ...]] = ()
    #: True when `score` turns many events into one row per entity (beacon: one row per pair): batch
    #: scoring (`nightjar scan`) then calls `score` once with every event of its `reads` kinds, with
    #: `event.dataset` (e.g. "zeek.conn") telling the kinds apart, instead of batch by batch
    aggregates: ClassVar[bool] = False
    #: per event kind it reads, the ECS fields the detector uses (readers may then skip the others, see
    #: `nightjar.io.Reading(fields=...)`); None: it may use any field (e.g. it keeps the input's columns)
    input_fields: ClassVar[Mapping[str, frozenset[str]] | None] = None

    def fit(self, events: pd.DataFrame, labels: pd.Series | np.ndarray) -> Self:
        """Learn from `events` with boolean `labels` (True = malicious); returns self."""
        raise NotImplementedError

    def score(self, events: pd.DataFrame) -> pd.DataFrame:
        """A copy of `events` with `score`, `alert` and `reasons` added; rows keep their order."""
        raise NotImplementedError

    #: the class of `model_` (`save(directory) -> list[Path]`, `load(directory)`) for detectors whose files
    #: are that model, `detector.json` and what `save_extra` writes: `save` and `load` then need no override
    model_class: ClassVar[Any] = None

    def save(self, directory: Path) -> list[Path]:
        """Write the fitted model as plain files into `directory`; returns the files written."""
        if self.model_class is None:
            raise NotImplementedError
        self.check_fitted()  # type: ignore[attr-defined]
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = [*self.model_.save(directory), *self.save_extra(directory)]  # type: ignore[attr-defined]
        return [*paths, self.save_settings(directory)]

    def save_extra(self, directory: Path) -> list[Path]:
        """Optional: files beside the model (lotl: its knowledge and rarity state)."""
        return []

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read a model written by `save`."""
        if cls.model_class is None:
            raise NotImplementedError
        det = cls.from_settings(directory)
        det.model_ = cls.model_class.load(directory)  # type: ignore[attr-defined]
        if hasattr(det, "num_threads"):
            det.model_.params["num_threads"] = det.num_threads  # type: ignore[attr-defined]
        det.load_extra(Path(directory))
        return det

    def load_extra(self, directory: Path) -> None:
        """Optional: read what `save_extra` wrote."""

    def monitor_features(self, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, np.ndarray]:
        """Optional: a few cheap numeric features per scored row, for feature-drift monitoring.

        At most 4, vectorised, without model inference and without fitted state (the scan calls it on
        an unfitted instance): e.g. label length and entropy. Arrays align with the rows of `scored`
        (NaN = not applicable); `events` is None for an aggregating detector. Default: none.
        See `nightjar.ops.features`.
        """
        return {}

    # Optional hooks, found with hasattr by the scoring code:
    #   summary_view(name, scored) -> DataFrame   for the names in `summary_views` (score --hosts/--trees/...)
    #   entity_accumulator() -> object with add(scored) and finish() -> DataFrame with score/alert/reasons:
    #       alerts about an entity seen across many records (dga: a host resolving many DGA-like names);
    #       `scan` feeds it every scored batch and stores its alerting rows as alerts
    #   aggregator() -> add(kind, table, source) / finish(state)   for `aggregates` detectors (beacon)
    #   monitor_features(events, scored) -> {name: values}   cheap numbers for drift monitoring
    #   observe(events)   learn stream state after scoring (lotl rarity)

    # --- the settings file every saved detector has ---------------------------------------------
    def save_settings(self, directory: Path) -> Path:
        """Write `detector.json`: hyperparameters (tuples as lists), threshold_, target_fpr, validation_."""
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        doc = {"params": params, "threshold": self.threshold_,  # type: ignore[attr-defined]
               "target_fpr": getattr(self, "target_fpr", None), "validation": getattr(self, "validation_", {})}
        path = Path(directory) / SETTINGS_FILE
        path.write_text(json.dumps(doc, indent=1))
        return path

    @classmethod
    def from_settings(cls, directory: Path) -> Self:
        """A detector built from `detector.json`'s hyperparameters, with threshold_ and validation_ set.

        Parameters whose default is a tuple come back as tuples; unknown names are ignored.
        """
        doc: dict[str, Any] = json.loads((Path(directory) / SETTINGS_FILE).read_text())
        defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()}
        params = {k: tuple(v) if isinstance(v, list) and isinstance(defaults.get(k), tuple) else v
                  for k, v in doc["params"].items() if k in cls._param_names()}
        detector = cls(**params)
        detector.threshold_ = float(doc["threshold"])  # type: ignore[attr-defined]
        detector.validation_ = doc.get("validation", {})  # type: ignore[attr-defined]
        return detector

    # --- estimator plumbing ------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD]

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to `__init__` (they feed the registry manifest)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters; unknown names are a ConfigError."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {name!r}; known: {', '.join(sorted(valid))}")
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """An unfitted detector with the same hyperparameters."""
        return type(self)(**self.get_params())

    @property
    def is_fitted(self) -> bool:
        """True once `fit` or `load` has set the fitted state."""
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def check_fitted(self) -> None:
        """Raise NotFittedError unless fitted."""
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() or load() first")


def detector_class(kind: str) -> type[Detector]:
    """The detector class for `kind` (imports nightjar.detectors.<kind> on first use)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown detector {kind!r}; known detectors: {', '.join(KINDS)}")
    try:
        module = importlib.import_module(f"nightjar.detectors.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"nightjar.detectors.{kind}"):
            raise ConfigError(f"detector {kind!r} is not built yet") from exc
        raise DetectorImportError(f"detector {kind!r} needs a module that is not installed: {exc}") from exc
    except ImportError as exc:
        raise DetectorImportError(f"detector {kind!r} cannot be imported: {exc}") from exc
    cls: type[Detector] = module.DETECTOR
    return cls


class DetectorImportError(ConfigError):
    """A detector is installed but cannot be imported (a missing optional dependency, a broken install)."""


def available_kinds() -> list[str]:
    """The detector kinds that are installed; one that fails to import is left out with a warning."""
    found = []
    for kind in KINDS:
        try:
            detector_class(kind)
        except DetectorImportError as exc:
            from nightjar.console import warn

            warn(f"{exc}; running without it")
            continue
        except ConfigError:
            continue
        found.append(kind)
    return found
