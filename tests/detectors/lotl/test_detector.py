"""The LotL detector contract: fit/score, reasons, techniques, save/load, rarity state, trees, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.base import NotFittedError, detector_class
from nightjar.detectors.lotl import LotlDetector
from nightjar.detectors.lotl.detector import OUTPUT_COLUMNS, TECHNIQUE
from nightjar.detectors.lotl.rarity import RarityState
from nightjar.detectors.lotl.trees import build_trees
from nightjar.errors import ConfigError

from .conftest import BENIGN, MALICIOUS, events, knowledge, training_set


def test_lookup_by_kind() -> None:
    assert detector_class("lotl") is LotlDetector


def test_score_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        LotlDetector().score(events(BENIGN))


def test_bad_model_kind() -> None:
    ev, y, g = training_set(4)
    with pytest.raises(ConfigError, match="model_kind"):
        LotlDetector(model_kind="svm").fit(ev, y, groups=g, knowledge=knowledge())


def test_scores_separate_and_contract_columns(small_detector: LotlDetector) -> None:
    out = small_detector.score(events(BENIGN + MALICIOUS))
    assert list(out.columns[: len(OUTPUT_COLUMNS) + 4]) == [*OUTPUT_COLUMNS, "score", "alert", "reasons", TECHNIQUE]
    s = out["score"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all()
    assert s[len(BENIGN):].min() > s[: len(BENIGN)].max()


def test_reasons_and_techniques_in_words(small_detector: LotlDetector) -> None:
    small_detector.threshold_, saved = 0.5, small_detector.threshold_
    try:
        out = small_detector.score(events(MALICIOUS)).set_index("process.name")
    finally:
        small_detector.threshold_ = saved
    assert "certutil.exe used to download" in out.loc["certutil.exe", "reasons"]
    assert "T1105" in out.loc["certutil.exe", TECHNIQUE]
    assert "encoded PowerShell command" in out.loc["powershell.exe", "reasons"]
    assert "Office parent winword.exe" in out.loc["powershell.exe", "reasons"]
    assert "dump" in out.loc["rundll32.exe", "reasons"]


def test_both_models_score(small_detector: LotlDetector) -> None:
    ev = events(BENIGN + MALICIOUS)
    for kind in ("lr", "lgbm"):
        s = small_detector.model_scores(ev, kind)
        assert s[len(BENIGN):].mean() > s[: len(BENIGN)].mean()


def test_save_load_round_trip_without_pickle(small_detector: LotlDetector, tmp_path: Path) -> None:
    paths = small_detector.save(tmp_path)
    assert all(p.suffix in (".json", ".txt") for p in paths)
    again = LotlDetector.load(tmp_path)
    ev = events(BENIGN + MALICIOUS)
    pd.testing.assert_frame_equal(small_detector.score(ev), again.score(ev))


def test_input_not_mutated_and_column_order_irrelevant(small_detector: LotlDetector) -> None:
    ev = events(BENIGN + MALICIOUS)
    before = ev.copy()
    a = small_detector.score(ev)
    pd.testing.assert_frame_equal(ev, before)
    b = small_detector.score(ev[ev.columns[::-1]])
    np.testing.assert_allclose(a["score"], b["score"])


def test_fixed_seed_identical() -> None:
    ev, y, g = training_set(6)
    a = LotlDetector(n_trees=10, seed=3).fit(ev, y, groups=g, knowledge=knowledge())
    b = LotlDetector(n_trees=10, seed=3).fit(ev, y, groups=g, knowledge=knowledge())
    np.testing.assert_array_equal(a.model_scores(ev), b.model_scores(ev))


def test_bad_input_scored_or_rejected_never_crash(small_detector: LotlDetector) -> None:
    ev = events([("cmd.exe", "powershell.exe", "powershell -c " + "A" * 32_000), ("", "cmd.exe", "cmd /c echo ünïcödé ✓ 漢字")])
    ev = pd.concat([ev, pd.DataFrame({"host.name": ["x"], "process.name": [None], "process.command_line": [None]})], ignore_index=True)
    out = small_detector.score(ev)
    assert len(out) == 3
    assert out["score"].iloc[:2].notna().all() and np.isnan(out["score"].iloc[2]) and not out["alert"].iloc[2]
    assert "not scored" in out["reasons"].iloc[2]
    assert small_detector.score(ev.iloc[:0]).empty


def test_rarity_lifts_a_new_pair_on_a_busy_host_and_state_round_trips(small_detector: LotlDetector, tmp_path: Path) -> None:
    history = events(BENIGN * 10, host="H1")
    det = LotlDetector.load(_saved(small_detector, tmp_path / "m"))
    det.observe(history)
    new = events([("excel.exe", "cmd.exe", "cmd.exe /c echo hi")], host="H1", start=999)
    lifted = det.score(new)
    plain = det.score(new, rarity=False)
    assert lifted["score"].iloc[0] > plain["score"].iloc[0]
    assert "rare parent excel.exe for cmd.exe on this host" in lifted["reasons"].iloc[0] or lifted["score"].iloc[0] < det.explain_above
    seen = det.score(events(BENIGN[:1], host="H1", start=500))
    assert seen["score"].iloc[0] == pytest.approx(det.score(events(BENIGN[:1], host="H1", start=500), rarity=False)["score"].iloc[0])
    path = det.rarity_.save(tmp_path / "state.json")
    again = RarityState.load(path)
    assert again.to_dict() == det.rarity_.to_dict()
    assert json.loads(path.read_text())["host_events"]["h1"] == len(history)


def test_rarity_ignores_hosts_with_little_history() -> None:
    state = RarityState(min_history=50)
    from nightjar.detectors.lotl.features import prepare

    r, _ = state.rarity(prepare(events(BENIGN, host="NEW")))
    assert (r == 0).all()


def test_trees_group_alerts_by_parent_chain() -> None:
    ev = events([("explorer.exe", "winword.exe", "winword.exe doc.docx"), ("winword.exe", "cmd.exe", "cmd /c x"),
                 ("cmd.exe", "certutil.exe", "certutil -urlcache -f http://a b"), ("services.exe", "svchost.exe", "svchost -k x")])
    ev["process.entity_id"] = ["w", "c", "u", "s"]
    ev["process.parent.entity_id"] = ["e", "w", "c", "srv"]
    ev["score"], ev["alert"] = [0.1, 0.8, 0.99, 0.0], [False, True, True, False]
    ev["reasons"], ev[TECHNIQUE] = ["", "a", "certutil", ""], [None, None, "T1105", None]
    trees = build_trees(ev)
    assert len(trees) == 1
    row = trees.iloc[0]
    assert row["events"] == 3 and row["alerts"] == 2 and row["tree.chain"] == "explorer.exe > winword.exe > cmd.exe > certutil.exe"
    assert row["threat.technique.id"] == "T1105" and json.loads(row["alert.entity_ids"]) == ["c", "u"]
    assert build_trees(ev.assign(alert=False)).empty


def _saved(det: LotlDetector, path: Path) -> Path:
    det.save(path)
    return path


def test_score_state_carries_rarity_across_runs(small_detector: LotlDetector, tmp_path: Path) -> None:
    """`run_score(..., state=PATH)` (`nightjar score lotl --state`) starts from the saved per-host counts and
    saves what it learnt: the second run knows the first run's events; a bad state file is an input error."""
    from nightjar.errors import InputError
    from nightjar.scoring import run_score

    model = _saved(small_detector, tmp_path / "m")
    day1 = tmp_path / "day1.csv"
    events(BENIGN * 10, host="H1").to_csv(day1, index=False)
    state = tmp_path / "rarity.json"
    run_score("lotl", [day1], tmp_path / "out1.csv", detector=LotlDetector.load(model), state=state)
    assert json.loads(state.read_text())["host_events"]["h1"] == 10 * len(BENIGN)
    run_score("lotl", [day1], tmp_path / "out2.csv", detector=LotlDetector.load(model), state=state)
    assert json.loads(state.read_text())["host_events"]["h1"] == 20 * len(BENIGN)
    state.write_text("{not json")
    with pytest.raises(InputError, match="rarity state"):
        run_score("lotl", [day1], tmp_path / "out3.csv", detector=LotlDetector.load(model), state=state)
    with pytest.raises(InputError, match="keeps no stream state"):
        run_score("dga", [day1], tmp_path / "out4.csv", state=state)


def test_scan_learns_rarity_and_keeps_it_in_the_state_folder(small_detector: LotlDetector, tmp_path: Path) -> None:
    """`nightjar scan --state DIR`: lotl's rarity learns from the scanned events and is saved as DIR/lotl.json;
    the next scan starts from it."""
    from nightjar.scoring.scan import run_scan

    model = _saved(small_detector, tmp_path / "m")
    day = tmp_path / "day.csv"
    events(BENIGN * 10, host="H1").to_csv(day, index=False)
    for k in (1, 2):
        run_scan([day], store=tmp_path / "a.db", detectors=["lotl"], given={"lotl": LotlDetector.load(model)}, state=tmp_path / "state")
        assert json.loads((tmp_path / "state" / "lotl.json").read_text())["host_events"]["h1"] == k * 10 * len(BENIGN)


def _chained_stream(n: int = 160, seed: int = 3) -> pd.DataFrame:
    """Events of two hosts where most processes were started by an earlier event's process (grandparents to find)."""
    rng = np.random.default_rng(seed)
    table = BENIGN + MALICIOUS
    frame = pd.concat([events([table[i] for i in rng.integers(0, len(table), n // 2)], host=h, start=1000 * k)
                       for k, h in enumerate(["WS1", "SRV"])], ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    earlier = rng.integers(0, np.maximum(np.arange(len(frame)), 1))  # a random earlier event
    frame["process.parent.entity_id"] = np.where(np.arange(len(frame)) > 0, frame["process.entity_id"].to_numpy()[earlier], "none")
    return frame


def test_grandparents_found_in_earlier_batches() -> None:
    from nightjar.detectors.lotl.prepared import STREAM_KEYS, ParentMemory, encode

    stream = _chained_stream()
    whole = encode(stream).column("grandparent")
    memory, cut = ParentMemory(), []
    for start in range(0, len(stream), 9):
        batch = stream.iloc[start:start + 9]
        cut += encode(batch, earlier=memory).column("grandparent").tolist()
        memory.add(encode(batch, keys=STREAM_KEYS))
    assert cut == whole.tolist()
    assert (whole != "").mean() > 0.9


def test_parent_memory_keeps_the_latest_ids() -> None:
    from nightjar.detectors.lotl.prepared import STREAM_KEYS, ParentMemory, encode

    stream, memory = _chained_stream(), ParentMemory(limit=50)
    memory.add(encode(stream.iloc[:100], keys=STREAM_KEYS))
    memory.add(encode(stream.iloc[100:], keys=STREAM_KEYS))
    assert list(memory.parents) == stream["process.entity_id"].iloc[-50:].tolist()
    assert list(memory.parents.values()) == stream["process.parent.name"].str.lower().iloc[-50:].tolist()


@pytest.mark.parametrize("cut", [1, 13, 64])
def test_stream_scores_do_not_depend_on_batch_cuts(small_detector: LotlDetector, cut: int) -> None:
    """`run_score` scores a batch, then observes it: the scores of a stream are the same however it is cut."""
    import copy

    stream = _chained_stream()
    whole = copy.deepcopy(small_detector).score(stream)
    det, parts = copy.deepcopy(small_detector), []
    for start in range(0, len(stream), cut):
        batch = stream.iloc[start:start + cut]
        parts.append(det.score(batch))
        det.observe(batch)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_exact=True, check_dtype=False)
    assert whole["reasons"].str.contains("on this host").any()  # rarity took part


def test_score_state_carries_grandparents_across_runs(small_detector: LotlDetector, tmp_path: Path) -> None:
    """A stream scored in two runs with `state=` (hourly files) scores as in one run: a child in the second file
    whose parent's event is in the first gets its grandparent from the parent memory saved in the state file."""
    from nightjar.scoring import run_score

    model = _saved(small_detector, tmp_path / "m")
    stream = _chained_stream()
    cut = len(stream) // 2
    office = stream.index[(stream.index < cut) & (stream["process.parent.name"] == "winword.exe")][0]
    child = stream.index[(stream.index >= cut) & (stream["process.parent.name"] == "cmd.exe")]
    stream.loc[child, ["process.parent.name", "process.parent.executable"]] = ["powershell.exe", "C:\\Windows\\powershell.exe"]
    stream.loc[child, "process.parent.entity_id"] = stream.at[office, "process.entity_id"]  # grandparent: winword.exe
    assert stream["process.parent.entity_id"].iloc[cut:].isin(stream["process.entity_id"].iloc[:cut]).sum() > 10
    files = {"whole": stream, "first": stream.iloc[:cut], "second": stream.iloc[cut:]}
    for name, frame in files.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    run_score("lotl", [tmp_path / "whole.csv"], tmp_path / "whole_out.csv", detector=LotlDetector.load(model))
    state = tmp_path / "state.json"
    for name in ("first", "second"):
        run_score("lotl", [tmp_path / f"{name}.csv"], tmp_path / f"{name}_out.csv", detector=LotlDetector.load(model), state=state)
    whole = pd.read_csv(tmp_path / "whole_out.csv")
    parts = pd.concat([pd.read_csv(tmp_path / f"{name}_out.csv") for name in ("first", "second")], ignore_index=True)
    assert whole["reasons"].iloc[cut:].str.contains("Office grandparent winword.exe (winword.exe > powershell.exe > ", regex=False).any()  # the grandparent took part
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)


def test_state_file_round_trips_the_parent_memory_in_order(small_detector: LotlDetector, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`save_state`/`load_state` keep the parent memory, oldest first, in one file beside the rarity counts;
    only the latest `ParentMemory.SAVED` ids are written."""
    from nightjar.detectors.lotl.prepared import ParentMemory

    model = _saved(small_detector, tmp_path / "m")
    stream = _chained_stream()
    det = LotlDetector.load(model)
    det.observe(stream.iloc[:100])
    det.observe(stream.iloc[100:])
    assert len(det.lineage_.parents) == len(stream)
    path = det.save_state(tmp_path / "state.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "state.json"]  # one file, no temp left
    doc = json.loads(path.read_text())
    assert doc["format"] == "nightjar-lotl-rarity/1" and doc["lineage"]["format"] == ParentMemory.FORMAT
    again = LotlDetector.load(model)
    assert again.lineage_.parents == {}  # load_extra: the model folder carries no stream memory
    again.load_state(path)
    assert list(again.lineage_.parents.items()) == list(det.lineage_.parents.items())
    assert again.rarity_.to_dict() == det.rarity_.to_dict()
    monkeypatch.setattr(ParentMemory, "SAVED", 50)
    det.save_state(path)
    again.load_state(path)
    assert list(again.lineage_.parents.items()) == list(det.lineage_.parents.items())[-50:]
    again.lineage_.limit = 60  # eviction after a reload: the oldest loaded ids go first
    again.observe(stream.iloc[:20].assign(**{"process.entity_id": [f"new-{i}" for i in range(20)]}))
    assert list(again.lineage_.parents)[:40] == list(det.lineage_.parents)[-40:]


def test_model_folder_and_fit_carry_no_parent_memory(small_detector: LotlDetector, tmp_path: Path) -> None:
    """The model folder's `lotl_rarity.json` (save_extra) holds no parent memory; `load` and `fit` start empty."""
    import copy

    from nightjar.detectors.lotl.rarity import RARITY_FILE

    det = copy.deepcopy(small_detector)
    det.observe(_chained_stream())
    assert det.lineage_.parents
    det.save(tmp_path / "m")
    assert "lineage" not in json.loads((tmp_path / "m" / RARITY_FILE).read_text())
    assert LotlDetector.load(tmp_path / "m").lineage_.parents == {}
    ev, y, groups = training_set()
    assert det.fit(ev, y, groups=groups, knowledge=knowledge()).lineage_.parents == {}


def test_state_file_without_parent_memory_still_loads(small_detector: LotlDetector, tmp_path: Path) -> None:
    """A state file written before the parent memory was saved (rarity counts only) loads with an empty memory."""
    model = _saved(small_detector, tmp_path / "m")
    det = LotlDetector.load(model)
    det.observe(events(BENIGN * 10, host="H1"))
    path = det.save_state(tmp_path / "state.json")
    doc = json.loads(path.read_text())
    doc.pop("lineage", None)
    path.write_text(json.dumps(doc))
    again = LotlDetector.load(model)
    again.observe(_chained_stream())
    again.load_state(path)
    assert again.lineage_.parents == {} and again.rarity_.to_dict() == det.rarity_.to_dict()


@pytest.mark.parametrize("lineage", ["nope", {"format": "nightjar-lotl-lineage/9", "names": [], "ids": [], "parents": []},
                                     {"format": "nightjar-lotl-lineage/1", "names": ["cmd.exe"], "ids": ["a"]},
                                     {"format": "nightjar-lotl-lineage/1", "names": ["cmd.exe"], "ids": ["a", "b"], "parents": [0]},
                                     {"format": "nightjar-lotl-lineage/1", "names": ["cmd.exe"], "ids": ["a"], "parents": [1]},
                                     {"format": "nightjar-lotl-lineage/1", "names": ["cmd.exe"], "ids": [7], "parents": [0]}])
def test_malformed_parent_memory_is_an_input_error_naming_the_file(small_detector: LotlDetector, tmp_path: Path, lineage) -> None:
    from nightjar.errors import InputError

    model = _saved(small_detector, tmp_path / "m")
    det = LotlDetector.load(model)
    path = det.save_state(tmp_path / "state.json")
    doc = json.loads(path.read_text())
    doc["lineage"] = lineage
    path.write_text(json.dumps(doc))
    det.observe(_chained_stream())
    before = dict(det.lineage_.parents)
    with pytest.raises(InputError, match="rarity state") as err:
        det.load_state(path)
    assert str(path) in str(err.value)
    assert det.lineage_.parents == before  # nothing half-loaded
