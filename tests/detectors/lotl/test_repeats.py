"""Work done once per distinct value, row or branch key gives what event-by-event work gives."""

from __future__ import annotations

import copy
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.lotl import LotlDetector
from nightjar.detectors.lotl import features as F
from nightjar.detectors.lotl.prepared import RARITY_KEYS, Prepared, encode
from nightjar.detectors.lotl.rarity import RarityState, template_key
from nightjar.detectors.lotl.reasons import model_phrases

from .conftest import BENIGN, MALICIOUS, SHIPPED, events, training_set


def tricky() -> pd.DataFrame:
    return pd.DataFrame({
        "process.name": ["İSTANBUL.EXE", None, "-", "ẞ.exe", "", "Ab", "cmd.exe", "CMD.EXE"],
        "process.executable": ["C:\\X\\ΣΑ.EXE", "C:/a/B.EXE", "-", None, "c:\\Z\\İ.exe", "", "C:\\w\\cmd.exe", "x"],
        "process.parent.name": ["WSMPROVHOST.EXE", "wsmprovhost.exe", None, "", "x", "-", "cmd.exe", "Cmd.exe"],
        "process.entity_id": ["a", "b", "a", "", "c", None, "d", "d"],
        "process.parent.entity_id": ["b", "a", "c", "", "", "a", "d", "b"],
        "process.parent.executable": ["p", None, "q", "C:\\Q\\Wsmprovhost.exe", "r", "s", "t", "u"],
        "process.command_line": ["a", "a", None, "-", "", "b", "a", "a"],
        "host.name": ["H", "h", None, "-", "Ĥ", "h", "H", "h"],
    })


@pytest.mark.parametrize("frame", [tricky(), tricky().astype(object), tricky().iloc[:0], events(BENIGN + MALICIOUS)])
@pytest.mark.parametrize("neutral", [(), ("wsmprovhost.exe",)])
def test_encode_gives_what_prepare_gives(frame: pd.DataFrame, neutral: tuple[str, ...]) -> None:
    expected = F.prepare(frame, neutral)
    got = encode(frame, neutral)
    pd.testing.assert_frame_equal(got.frame().astype(object), expected.astype(object))
    assert all(len(set(v)) == len(v) for v in got.values.values())  # equal strings, equal codes
    some = encode(frame, neutral, RARITY_KEYS)  # only what rarity reads
    pd.testing.assert_frame_equal(some.frame().astype(object), expected[list(RARITY_KEYS)].astype(object))


class EventByEvent(RarityState):
    """The rarity state as it reads: one event at a time, each judged against the events before it and itself."""

    def rarity(self, prep):  # type: ignore[no-untyped-def]
        prep = prep.frame() if isinstance(prep, Prepared) else prep
        hosts = prep["host"].str.lower().tolist()
        pairs = (prep["parent"] + ">" + prep["name"]).tolist()
        temps = [template_key(c) for c in prep["cmd"]]
        history, pair_counts, temp_counts = Counter(self.host_events), Counter(self.pairs), Counter(self.templates)
        fleet = {p: set(hs) for p, hs in self.pair_hosts.items()}
        out, words = np.zeros(len(hosts)), [""] * len(hosts)
        for i, (h, p, t) in enumerate(zip(hosts, pairs, temps)):
            history[h] += 1
            pair_counts[(h, p)] += 1
            temp_counts[(h, t)] += 1
            fleet.setdefault(p, set()).add(h)
            if history[h] < self.min_history:
                continue
            rare_pair = pair_counts[(h, p)] <= self.max_count and len(fleet[p]) <= self.max_hosts
            rare_temp = temp_counts[(h, t)] <= self.max_count
            out[i] = 0.5 * rare_pair + 0.5 * rare_temp
            parent, child = p.split(">", 1)
            words[i] = (f"rare parent {parent or '(none)'} for {child} on this host" if rare_pair
                        else f"command line new for {child} on this host" if rare_temp else "")
        return out, words

    def observe(self, prep):  # type: ignore[no-untyped-def]
        prep = prep.frame() if isinstance(prep, Prepared) else prep
        hosts = prep["host"].str.lower().tolist()
        pairs = (prep["parent"] + ">" + prep["name"]).tolist()
        self.host_events.update(hosts)
        self.pairs.update(zip(hosts, pairs))
        self.templates.update(zip(hosts, [template_key(c) for c in prep["cmd"]]))
        for h, p in zip(hosts, pairs):
            self.pair_hosts.setdefault(p, set()).add(h)


def test_rarity_per_distinct_triple_matches_event_by_event() -> None:
    fast, slow = RarityState(min_history=5), EventByEvent(min_history=5)
    rng = np.random.default_rng(0)
    table = BENIGN + MALICIOUS
    for n, host in enumerate(["WS1", "ws1", "SRV", "WS2", "WS1"]):
        picks = [table[i] for i in rng.integers(0, len(table), 8 + 4 * n)]
        batch = encode(events(picks, host=host, start=100 * n))
        for a, b in zip(fast.rarity(batch), slow.rarity(batch)):
            assert list(a) == list(b)
        fast.observe(batch)
        slow.observe(batch)
        # same counts, and the same key order, so the saved state is byte for byte the same
        assert json.dumps(fast.to_dict()) == json.dumps(slow.to_dict())


def _mixed_stream(seed: int = 1) -> pd.DataFrame:
    """Events of several hosts (one of them in two spellings), interleaved, with repeats."""
    rng = np.random.default_rng(seed)
    table = BENIGN + MALICIOUS
    parts = [events([table[i] for i in rng.integers(0, len(table), 12)], host=h, start=100 * n)
             for n, h in enumerate(rng.choice(["WS1", "ws1", "SRV", "WS2"], 10))]
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("cut", [1, 7, 40, 10_000])
def test_rarity_does_not_depend_on_how_the_stream_is_cut(cut: int) -> None:
    stream = _mixed_stream()
    whole, whole_words = RarityState(min_history=5).rarity(encode(stream))
    state, got, got_words = RarityState(min_history=5), [], []
    for start in range(0, len(stream), cut):
        batch = encode(stream.iloc[start:start + cut])
        r, w = state.rarity(batch)
        got += list(r)
        got_words += w
        state.observe(batch)
    assert got == list(whole) and got_words == whole_words
    assert 0 < (whole > 0).sum() < len(stream)  # some events judged rare, not all


def test_memos_across_batches_do_not_change_scores() -> None:
    ev, _, _ = training_set(n=6)
    ev = pd.concat([ev, ev], ignore_index=True).sample(frac=1.0, random_state=1).reset_index(drop=True)  # repeats
    ev["host.name"] = np.where(np.arange(len(ev)) % 3 == 0, "WS1", "WS2")
    warm = LotlDetector.load(SHIPPED)
    warm.rarity_, warm.threshold_ = RarityState(min_history=20), 0.3
    alerts = 0
    for batch in np.array_split(np.arange(len(ev)), 4):
        part = ev.iloc[batch].reset_index(drop=True)
        cold = LotlDetector.load(SHIPPED)  # no memo: every row featurised, predicted and explained afresh
        cold.rarity_, cold.threshold_ = copy.deepcopy(warm.rarity_), warm.threshold_
        scored = warm.score(part)
        pd.testing.assert_frame_equal(scored, cold.score(part), check_exact=True)
        alerts += int(scored["alert"].sum())
        warm.observe(part)
    assert alerts and len(warm.model_.__dict__["_pattern_shap"]._keys) and warm.__dict__["_probability_cache"]


def test_pattern_contributions_are_within_their_bound_of_lightgbm() -> None:
    det = LotlDetector.load(SHIPPED)
    ev, _, _ = training_set(n=10)
    f = det.featurise(ev)
    rows = np.arange(len(f.first))
    x = det.model_.matrix(f.dense_of(rows), f.tokens_of(rows))
    exact = det.model_.contributions(x)
    for _ in range(2):  # asked from LightGBM, then from the memo
        approx, eps = det.model_.approximate_contributions(x)
        assert np.all(np.abs(approx - exact) <= eps) and eps.max() < 1e-8
        assert np.array_equal(approx[:, eps == 0], exact[:, eps == 0])  # features no tree splits on: exactly 0


def test_pattern_contributions_from_a_partly_filled_memo() -> None:
    from nightjar.detectors.lotl.treeshap import ZERO, PatternShap

    det = LotlDetector.load(SHIPPED)
    ev, _, _ = training_set(n=10)
    f = det.featurise(ev)
    rows = np.arange(len(f.first))
    x = det.model_.matrix(f.dense_of(rows), f.tokens_of(rows))
    shap = PatternShap.from_booster(det.model_.booster, x.shape[1])
    half = shap.contributions(x[::2])  # some patterns known, the others asked in the next call
    both = shap.contributions(x)
    assert np.array_equal(both[::2], half)
    assert np.all(np.abs(both - det.model_.contributions(x)) <= shap.eps)
    compact = x[:, shap.split_features].toarray()
    values = np.where(np.abs(compact) > ZERO, compact, 0.0)
    left = values[:, np.searchsorted(shap.split_features, shap.node_feature)] <= shap.node_threshold  # node by node
    bit = shap.node_slot % shap.bits
    expected = np.stack([(left[:, shap.node_slot // shap.bits == t] << bit[shap.node_slot // shap.bits == t]).sum(axis=1)
                         for t in range(len(shap.columns))], axis=1)
    assert np.array_equal(shap.patterns(compact), expected)


def test_model_phrases_are_refused_when_the_bound_leaves_the_ranking_in_doubt() -> None:
    names = ["cmd_len", "urls", "pipe", "quotes"]
    values = np.ones(4)
    contrib = np.array([0.5, 0.3, 0.3 + 1e-12, -0.1])
    assert model_phrases(contrib, values, names, "a.exe", "b.exe", eps=np.zeros(4)) == model_phrases(contrib, values, names, "a.exe", "b.exe")
    assert model_phrases(contrib, values, names, "a.exe", "b.exe", eps=np.full(4, 1e-9)) is None  # 2nd and 3rd may swap
    assert model_phrases(np.array([0.5, 1e-12, 0, 0]), values, names, "a", "b", eps=np.full(4, 1e-9)) is None  # sign unsure
    sure = np.array([1e-9, 1e-9, 0, 0])  # features no tree splits on are exactly 0
    assert model_phrases(np.array([0.5, -0.2, 0, 0]), values, names, "a", "b", eps=sure) == ["long command line"]


def test_rows_in_doubt_get_lightgbms_exact_contributions() -> None:
    ev, _, _ = training_set(n=10)
    ref = LotlDetector.load(SHIPPED)
    ref.threshold_ = 0.3
    doubt = LotlDetector.load(SHIPPED)
    doubt.threshold_ = 0.3
    doubt.model_.approximate_contributions(doubt.model_.matrix(np.zeros((1, len(doubt.featurise(ev.iloc[:1]).names))), [[]]))
    doubt.model_.__dict__["_pattern_shap"].eps = np.full(len(doubt.model_.feature_names), 1.0)  # nothing is certain
    scored = doubt.score(ev)
    pd.testing.assert_frame_equal(scored, ref.score(ev), check_exact=True)
    assert scored["alert"].any() and doubt.__dict__["_exact_asked"] > ref.__dict__["_exact_asked"]


@pytest.mark.parametrize("kind", ["lgbm", "lr"])
def test_contributions_once_per_branch_key_are_bit_identical(kind: str) -> None:
    det = LotlDetector.load(SHIPPED)
    det.model_.kind = kind
    ev, _, _ = training_set(n=10)
    f = det.featurise(ev)
    rows = np.arange(len(f.first))
    x = det.model_.matrix(f.dense_of(rows), f.tokens_of(rows))
    keys = det.model_.branch_keys(x)
    assert len(set(keys)) < len(keys)  # rows that differ only off the trees' split points share a key
    assert np.array_equal(det._contributions(x), det.model_.contributions(x))
    assert np.array_equal(det._contributions(x), det.model_.contributions(x))  # again, from the memo


def test_model_memos_follow_the_model(small_detector: LotlDetector) -> None:
    ev = events(BENIGN + MALICIOUS)
    det = LotlDetector.load(SHIPPED)
    det.score(ev)
    det.model_, det.knowledge_ = small_detector.model_, small_detector.knowledge_  # another model: memos must not leak
    det.neutral_parents, det.parent_tokens = small_detector.neutral_parents, small_detector.parent_tokens
    fresh = copy.copy(small_detector)
    fresh.__dict__ = {k: v for k, v in small_detector.__dict__.items() if not k.endswith("_cache")}
    fresh.rarity_, fresh.threshold_ = det.rarity_, det.threshold_
    pd.testing.assert_frame_equal(det.score(ev, rarity=False), fresh.score(ev, rarity=False), check_exact=True)
