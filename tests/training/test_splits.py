"""Splits keep groups apart, respect time and validate their inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightjar.errors import ConfigError
from nightjar.training.splits import grouped_split, leave_one_group_out, out_of_time_split, source_split


def _sides(split):
    sides = [split.train, split.test] + ([split.validation] if split.validation is not None else [])
    return sides


@given(st.lists(st.sampled_from("abcdefghij"), min_size=4, max_size=200), st.integers(0, 50),
       st.sampled_from([0.0, 0.2]))
@settings(max_examples=100, deadline=None)
def test_grouped_split_never_shares_a_group(groups, seed, validation_size):
    if len(set(groups)) < 3:
        with pytest.raises(ConfigError):
            grouped_split(groups, test_size=0.3, validation_size=0.2, seed=seed)
        return
    split = grouped_split(groups, test_size=0.3, validation_size=validation_size, seed=seed)
    values = np.asarray(groups)
    sides = _sides(split)
    seen = [set(values[idx]) for idx in sides]
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            assert not seen[i] & seen[j]
    assert sorted(np.concatenate(sides).tolist()) == list(range(len(groups)))
    assert all(len(idx) for idx in sides)


def test_grouped_split_is_seeded_and_described():
    groups = [f"fam{i % 11}" for i in range(110)]
    a, b = grouped_split(groups, seed=3, by="family"), grouped_split(groups, seed=3, by="family")
    assert np.array_equal(a.test, b.test)
    assert a.description == "grouped by family: 8 train groups (80 rows) / 3 test groups (30 rows), seed 3"
    assert not np.array_equal(a.test, grouped_split(groups, seed=4).test)


@pytest.mark.parametrize("kwargs", [{"test_size": 0}, {"test_size": 1.0}, {"validation_size": -0.1},
                                    {"test_size": 0.9, "validation_size": 0.5}])
def test_grouped_split_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError):
        grouped_split(list("aabbccdd"), **kwargs)


def test_grouped_split_rejects_missing_groups():
    with pytest.raises(ConfigError, match="missing"):
        grouped_split(["a", None, "b", "c"])


def test_leave_one_group_out_gives_one_split_per_group():
    groups = np.array(["x", "y", "x", "z", "y", "x"])
    splits = list(leave_one_group_out(groups, by="family"))
    assert len(splits) == 3
    for split, name in zip(splits, ["x", "y", "z"], strict=True):
        assert set(groups[split.test]) == {name}
        assert name not in set(groups[split.train])
        assert len(split.train) + len(split.test) == len(groups)
        assert f"family {name}" in split.description
    with pytest.raises(ConfigError):
        list(leave_one_group_out(["only", "only"]))


def test_out_of_time_keeps_the_future_out_of_training():
    rng = np.random.default_rng(0)
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, 500), unit="D")
    split = out_of_time_split(pd.Series(times), test_fraction=0.2, validation_fraction=0.25)
    t = np.asarray(times)
    assert t[split.train].max() < t[split.validation].min()
    assert t[split.validation].max() < t[split.test].min()
    assert len(split.train) + len(split.validation) + len(split.test) == 500
    assert 0.2 <= len(split.test) / 500 < 0.25  # rounded up to the end of a day, never split
    assert "test cut-off" in split.description and "2024-" in split.description


def test_out_of_time_with_cutoff_and_numbers():
    split = out_of_time_split(np.array([5, 1, 9, 3, 7]), cutoff=6)
    assert sorted(split.test.tolist()) == [2, 4] and sorted(split.train.tolist()) == [0, 1, 3]
    assert split.validation is None
    with pytest.raises(ConfigError, match="nothing to train on"):
        out_of_time_split([1, 2, 3], cutoff=0)
    with pytest.raises(ConfigError, match="datetimes"):
        out_of_time_split(["yesterday-ish", "2024-01-01"])


def test_source_split_holds_out_whole_sources():
    sources = ["majestic", "alexa", "opendns", "majestic", "opendns", "tranco"]
    split = source_split(sources, test_sources=["opendns"], validation_sources=["tranco"])
    assert split.test.tolist() == [2, 4] and split.validation.tolist() == [5]
    assert split.train.tolist() == [0, 1, 3]
    assert "train on alexa, majestic" in split.description and "test on opendns" in split.description
    with pytest.raises(ConfigError, match="known sources"):
        source_split(sources, test_sources=["umbrella"])
    with pytest.raises(ConfigError, match="both"):
        source_split(sources, test_sources=["opendns"], validation_sources=["opendns"])
    with pytest.raises(ConfigError, match="nothing is left"):
        source_split(["a", "b"], test_sources=["a"], validation_sources=["b"])
