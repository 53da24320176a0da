"""Thresholds at a fixed FPR: exact on hand-made data, chosen on validation, applied to test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightjar.errors import ConfigError
from nightjar.training.metrics import evaluate, threshold_at_fpr

Y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=bool)
S = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.85, 0.95, 0.65])


def _fpr(y, s, t):
    y = np.asarray(y, dtype=bool)
    return float((np.asarray(s)[~y] >= t).mean())


@pytest.mark.parametrize(("fpr", "boundary", "realised"), [
    (0.0, 0.9, 0.0),     # nothing may alert: just above the top negative
    (0.1, 0.8, 0.1),     # one negative (0.9) may alert
    (0.15, 0.8, 0.1),    # floor(1.5) = 1
    (0.2, 0.7, 0.2),
    (0.29, 0.7, 0.2),    # 0.29 * 10 is 2.9 in floating point too: still 2
    (0.3, 0.6, 0.3),
])
def test_threshold_sits_just_above_the_boundary_negative(fpr, boundary, realised):
    t = threshold_at_fpr(Y, S, fpr)
    assert t > boundary and t == np.nextafter(boundary, np.inf)
    assert _fpr(Y, S, t) == pytest.approx(realised)


def test_ties_never_let_extra_negatives_through():
    y = np.array([0, 0, 0, 0, 1], dtype=bool)
    s = np.array([0.5, 0.5, 0.5, 0.1, 0.5])
    # one false positive is allowed, but three negatives share 0.5: none of them may alert
    t = threshold_at_fpr(y, s, 0.25)
    assert t > 0.5 and _fpr(y, s, t) == 0.0
    # three allowed: the tied block fits, the threshold drops to just above 0.1
    t = threshold_at_fpr(y, s, 0.75)
    assert 0.1 < t <= 0.5 and _fpr(y, s, t) == 0.75
    assert threshold_at_fpr(y, s, 1.0) == 0.1


def test_threshold_keeps_float32_precision():
    y = np.array([0, 0, 1], dtype=bool)
    s = np.array([0.2, 0.7, 0.9], dtype=np.float32)
    t = threshold_at_fpr(y, s, 0.0)
    assert np.float32(t) > s[1]  # still above the negative after a round-trip through float32


@pytest.mark.parametrize("bad", [
    {"y_true": [1, 1], "scores": [0.1, 0.2], "fpr": 0.1},          # no negatives
    {"y_true": [0, 1], "scores": [0.1, np.nan], "fpr": 0.1},
    {"y_true": [0, 1], "scores": [0.1], "fpr": 0.1},
    {"y_true": [0, 2], "scores": [0.1, 0.2], "fpr": 0.1},
    {"y_true": [0, 1], "scores": [0.1, 0.2], "fpr": 1.5},
])
def test_threshold_rejects_bad_input(bad):
    with pytest.raises(ConfigError):
        threshold_at_fpr(**bad)


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 2))),
                min_size=1, max_size=300),
       st.sampled_from([0.0, 1e-3, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0]))
@settings(max_examples=300, deadline=None)
def test_realised_fpr_on_the_same_data_never_exceeds_the_target(rows, fpr):
    y = np.array([r[0] for r in rows], dtype=bool)
    s = np.array([r[1] for r in rows])
    if y.all():
        return
    t = threshold_at_fpr(y, s, fpr)
    assert _fpr(y, s, t) <= fpr + 1e-12
    # and it is the lowest: any lower distinct score would break the target
    lower = s[s < t]
    if len(lower):
        assert _fpr(y, s, lower.max()) > fpr


def test_threshold_comes_from_validation_not_test():
    y_val = np.array([0] * 10 + [1] * 2, dtype=bool)
    s_val = np.array([0.1 * i for i in range(10)] + [0.95, 0.99])
    y_test = np.array([0] * 10 + [1] * 4, dtype=bool)
    s_test = np.array([0.05 * i for i in range(10)] + [0.5, 0.6, 0.92, 0.97])
    m = evaluate(y_test, s_test, validation=(y_val, s_val), fprs=(0.1,), operating_fpr=0.1)
    point = m.operating_point(0.1)
    assert point.threshold == threshold_at_fpr(y_val, s_val, 0.1)  # just above 0.8
    assert point.threshold != threshold_at_fpr(y_test, s_test, 0.1)  # test would say just above 0.4
    assert point.tpr == 0.5 and point.fpr == 0.0  # 0.92 and 0.97 alert; no test negative does
    assert m.threshold_source.startswith("validation")
    given_thresholds = evaluate(y_test, s_test, thresholds={0.1: 0.55}, fprs=(0.1,), operating_fpr=0.1)
    assert given_thresholds.operating_point().tpr == 0.75 and given_thresholds.threshold_source == "given"


def test_evaluate_refuses_to_pick_thresholds_on_test():
    with pytest.raises(ConfigError, match="never chosen on the test"):
        evaluate([0, 1], [0.2, 0.8])
    with pytest.raises(ConfigError, match="operating_fpr"):
        evaluate([0, 1], [0.2, 0.8], thresholds={0.01: 0.5}, operating_fpr=1e-3)


def test_evaluate_reports_measurability_groups_and_json():
    rng = np.random.default_rng(1)
    y = rng.random(5000) < 0.2
    s = np.clip(rng.normal(0.3 + 0.4 * y, 0.15), 0, 1)
    groups = np.where(y, rng.choice(["conficker", "necurs"], len(y)), "benign")
    m = evaluate(y, s, validation=(y, s), groups=groups, split="demo split")
    assert [p.target_fpr for p in m.operating_points] == [1e-4, 1e-3, 1e-2]
    assert {p.target_fpr: p.measurable for p in m.operating_points} == {1e-4: False, 1e-3: True, 1e-2: True}
    assert "10,000" in m.operating_point(1e-4).note
    assert set(m.group_recall) == {"conficker", "necurs"}  # recall is over positives only
    assert sum(m.group_counts.values()) == m.n_pos
    assert 0.5 < m.roc_auc <= 1 and 0 < m.pr_auc <= 1 and 0 < m.brier < 1
    d = json.loads(json.dumps(m.as_dict(), allow_nan=False))
    assert {"roc_auc", "pr_auc", "brier", "n_pos", "n_neg", "operating_points", "group_recall",
            "group_counts", "split"} <= set(d)


def test_single_class_test_data_is_reported_not_fatal():
    m = evaluate([True, True, True], [0.2, 0.7, 0.9], thresholds={1e-3: 0.5})
    assert m.roc_auc is None and m.pr_auc is None and any("undefined" in n for n in m.notes)
    point = m.operating_point()
    assert point.tpr == pytest.approx(2 / 3) and point.fpr is None and not point.measurable
    assert m.as_dict()["roc_auc"] is None
