"""Train / validation / test splits that keep related rows together.

A random row split flatters a detector: domains of one DGA family, commands from one host or URLs
from one feed land on both sides and the model is graded on what it memorised. These splits hold out
whole groups (families, sources, hosts), or everything after a point in time, and every `Split`
carries a one-line `description` that reports quote verbatim. Indices are sorted row positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nightjar.errors import ConfigError


@dataclass
class Split:
    """Row positions for training, testing and (optionally) validation, with a description."""

    name: str
    description: str
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray | None = None

    def as_dict(self) -> dict[str, Any]:
        """Name, description and row counts (no indices), for JSON reports."""
        return {
            "name": self.name,
            "description": self.description,
            "n_train": int(len(self.train)),
            "n_validation": None if self.validation is None else int(len(self.validation)),
            "n_test": int(len(self.test)),
        }


def grouped_split(
    groups: Sequence[Any] | np.ndarray | pd.Series,
    test_size: float = 0.25,
    validation_size: float = 0.0,
    seed: int = 0,
    by: str = "group",
) -> Split:
    """Hold out whole groups: `test_size` and `validation_size` are shares of the distinct groups.

    No group has rows on two sides. At least one group stays in training and, when asked for, one
    goes to each held-out side.

    Examples:
        >>> s = grouped_split(["a", "a", "b", "c", "c", "d"], test_size=0.25, by="family")
        >>> s.description
        'grouped by family: 3 train groups (4 rows) / 1 test groups (2 rows), seed 0'
        >>> sorted(set(s.train) | set(s.test)) == list(range(6))
        True
    """
    values = _labels(groups, "groups")
    _check_share("test_size", test_size, allow_zero=False)
    _check_share("validation_size", validation_size, allow_zero=True)
    unique = np.unique(values)
    n_test = max(1, int(round(test_size * len(unique))))
    n_val = max(1, int(round(validation_size * len(unique)))) if validation_size > 0 else 0
    if n_test + n_val >= len(unique):
        raise ConfigError(
            f"grouped_split by {by} needs more groups: {len(unique)} distinct {by} values cannot give "
            f"{n_test} test and {n_val} validation groups and still leave one for training"
        )
    order = np.random.default_rng(seed).permutation(len(unique))
    test_groups, val_groups = unique[order[:n_test]], unique[order[n_test : n_test + n_val]]
    test = np.flatnonzero(np.isin(values, test_groups))
    validation = np.flatnonzero(np.isin(values, val_groups)) if n_val else None
    held = np.isin(values, test_groups) | np.isin(values, val_groups)
    train = np.flatnonzero(~held)
    parts = [f"{len(unique) - n_test - n_val} train groups ({len(train)} rows)"]
    if validation is not None:
        parts.append(f"{n_val} validation groups ({len(validation)} rows)")
    parts.append(f"{n_test} test groups ({len(test)} rows)")
    description = f"grouped by {by}: {' / '.join(parts)}, seed {seed}"
    return Split(f"grouped-{by}", description, train, test, validation)


def leave_one_group_out(groups: Sequence[Any] | np.ndarray | pd.Series, by: str = "family") -> Iterator[Split]:
    """One split per distinct group, in sorted order: test = that group's rows, train = all others.

    Callers that test a detector on one held-out family add the benign test rows themselves.
    """
    values = _labels(groups, "groups")
    unique = np.unique(values)
    if len(unique) < 2:
        raise ConfigError(f"leave_one_group_out by {by} needs at least 2 distinct groups; got {len(unique)}")
    for group in unique:
        mask = values == group
        test, train = np.flatnonzero(mask), np.flatnonzero(~mask)
        description = (f"leave one {by} out: test = {by} {group!s} ({len(test)} rows), "
                       f"train = the other {len(unique) - 1} {by} groups ({len(train)} rows)")
        yield Split(f"leave-one-{by}-out:{group}", description, train, test)


def out_of_time_split(
    times: Sequence[Any] | np.ndarray | pd.Series,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    cutoff: Any = None,
) -> Split:
    """Train on the past, validate and test on later rows; rows with equal times stay on one side.

    Without `cutoff`, the latest `test_fraction` of rows (rounded up to the end of a timestamp) is
    the test set. With `cutoff`, every row at or after it is test. `validation_fraction` takes the
    latest share of the remaining rows. `times` are datetimes (or strings pandas parses) or numbers.
    """
    stamps = _times(times)
    _check_share("validation_fraction", validation_fraction, allow_zero=True)
    ordered = np.sort(stamps)
    n = len(ordered)
    if cutoff is None:
        _check_share("test_fraction", test_fraction, allow_zero=False)
        test_from = ordered[n - max(1, int(np.ceil(test_fraction * n)))]
    else:
        test_from = cutoff if stamps.dtype.kind in "iuf" else _times([cutoff])[0]
    test_mask = stamps >= test_from
    before = np.sort(stamps[~test_mask])
    if len(before) == 0:
        raise ConfigError(f"out_of_time_split: no rows before the test cut-off {_fmt(test_from)}; nothing to train on")
    val_mask = np.zeros(n, dtype=bool)
    if validation_fraction > 0:
        val_from = before[len(before) - max(1, int(np.ceil(validation_fraction * len(before))))]
        val_mask = (stamps >= val_from) & ~test_mask
    train_mask = ~(test_mask | val_mask)
    if not train_mask.any() or not test_mask.any():
        raise ConfigError("out_of_time_split: the cut-offs leave an empty train or test side; "
                          "lower validation_fraction or move the cutoff")
    parts = [f"train {_span(stamps[train_mask])} ({train_mask.sum()} rows)"]
    if validation_fraction > 0:
        parts.append(f"validation {_span(stamps[val_mask])} ({val_mask.sum()} rows)")
    parts.append(f"test {_span(stamps[test_mask])} ({test_mask.sum()} rows)")
    description = f"out of time, test cut-off {_fmt(test_from)}: " + "; ".join(parts)
    validation = np.flatnonzero(val_mask) if validation_fraction > 0 else None
    return Split("out-of-time", description, np.flatnonzero(train_mask), np.flatnonzero(test_mask), validation)


def source_split(
    sources: Sequence[Any] | np.ndarray | pd.Series,
    test_sources: Sequence[Any],
    validation_sources: Sequence[Any] = (),
) -> Split:
    """Hold out whole data sources, e.g. train on Majestic and Alexa, test on an OpenDNS list."""
    values = _labels(sources, "sources")
    known = set(np.unique(values).tolist())
    test_set, val_set = set(_as_list(test_sources)), set(_as_list(validation_sources))
    if not test_set:
        raise ConfigError("source_split needs at least one test source")
    for name, chosen in (("test_sources", test_set), ("validation_sources", val_set)):
        unknown = chosen - known
        if unknown:
            raise ConfigError(f"source_split: {name} {sorted(map(str, unknown))} not in the data; "
                              f"known sources: {', '.join(sorted(map(str, known)))}")
    if test_set & val_set:
        raise ConfigError(f"source_split: sources {sorted(map(str, test_set & val_set))} are both test and validation")
    test_mask, val_mask = np.isin(values, list(test_set)), np.isin(values, list(val_set))
    train_mask = ~(test_mask | val_mask)
    if not train_mask.any():
        raise ConfigError("source_split: every source is held out; nothing is left to train on")
    train_names = sorted(map(str, known - test_set - val_set))
    parts = [f"train on {', '.join(train_names)} ({train_mask.sum()} rows)"]
    if val_set:
        parts.append(f"validate on {', '.join(sorted(map(str, val_set)))} ({val_mask.sum()} rows)")
    parts.append(f"test on {', '.join(sorted(map(str, test_set)))} ({test_mask.sum()} rows)")
    validation = np.flatnonzero(val_mask) if val_set else None
    return Split("by-source", "held-out sources: " + "; ".join(parts), np.flatnonzero(train_mask),
                 np.flatnonzero(test_mask), validation)


def _labels(values: Any, what: str) -> np.ndarray:
    """A 1-D array of group labels without missing values."""
    array = np.asarray(pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object))
    if array.ndim != 1 or len(array) == 0:
        raise ConfigError(f"{what} must be a non-empty 1-D sequence; got shape {array.shape}")
    missing = pd.isna(array)
    if missing.any():
        raise ConfigError(f"{what} has {int(missing.sum())} missing values (first at row {int(np.argmax(missing))}); "
                          "give every row a group, e.g. the source name for benign rows")
    return array.astype(str)


def _times(values: Any) -> np.ndarray:
    """Numbers as they are; anything else as naive UTC datetime64."""
    series = pd.Series(values)
    if len(series) == 0:
        raise ConfigError("times must be a non-empty sequence")
    if not pd.api.types.is_numeric_dtype(series):
        try:
            series = pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"times could not be read as datetimes: {str(exc).splitlines()[0]}") from exc
    if series.isna().any():
        raise ConfigError(f"times has {int(series.isna().sum())} missing values (first at row {int(series.isna().argmax())})")
    return series.to_numpy()


def _check_share(name: str, value: float, *, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (isinstance(value, (int, float)) and low_ok and value < 1):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"The {name!r} parameter must be a float {bound} and < 1. Got {value!r}.")


def _as_list(values: Any) -> list[str]:
    return [str(values)] if isinstance(values, str) else [str(v) for v in values]


def _fmt(value: Any) -> str:
    """A timestamp in ISO form; a number as it is."""
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value).isoformat()) + "Z"
    return str(value)


def _span(values: np.ndarray) -> str:
    return f"{_fmt(values.min())} .. {_fmt(values.max())}"
