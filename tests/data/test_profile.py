"""Data profiling: counts, duplicates, time, labels and leakage, batch by batch and from files."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from nightjar.data import profile_batches, profile_paths
from nightjar.data.columns import ColumnStats, row_hashes
from nightjar.data.leakage import find_leaks, positive_label
from nightjar.data.profile_report import flags, profile_html, write_json
from nightjar.errors import InputError
from nightjar.io import Batch, Source, detect
from nightjar.lab import write_sample

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def sample(tmp_path: Path) -> Path:
    """The lab sample, or a skip while the Zeek reader it needs has not landed."""
    write_sample(tmp_path / "sample")
    try:
        detect(Source(tmp_path / "sample" / "zeek" / "conn.log"))
    except InputError:
        pytest.skip("no reader recognises Zeek TSV yet")
    return tmp_path / "sample"


def column(kind_profile, name: str) -> dict:
    return next(c for c in kind_profile.columns if c["name"] == name)


def process_table(n: int = 120) -> pa.Table:
    return pa.table({
        "@timestamp": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "host.name": ["ws1" if i % 2 else "ws2" for i in range(n)],
        "process.command_line": [None if i % 10 == 0 else "" if i % 10 == 1 else f"cmd /c {i % 4}" for i in range(n)],
        "event.code": ["4688" if i == 0 else "1" for i in range(n)] if n >= 100 else ["1"] * n,
        "const": ["x"] * n,
    })


def test_counts_missing_blank_constant_and_top_values() -> None:
    kind = profile_batches([Batch(process_table(), "process", "a")])["process"]
    assert kind.rows == 120
    cmd = column(kind, "process.command_line")
    assert (cmd["null"], cmd["blank"], cmd["missing"]) == (12, 12, 24)
    assert cmd["missing_share"] == pytest.approx(0.2)
    assert cmd["distinct"] == 4 and len(cmd["top"]) == 4 and sum(t["count"] for t in cmd["top"]) == 96
    assert column(kind, "const")["constant"] and flags(column(kind, "const")) == ["constant"]
    code = column(kind, "event.code")
    assert code["near_constant"] and not code["constant"] and code["top"][0] == {"value": "1", "count": 119}
    assert column(kind, "host.name")["top_share"] == pytest.approx(0.5)


def test_time_range_and_events_per_hour() -> None:
    kind = profile_batches([Batch(process_table(150), "process", "a")])["process"]
    assert kind.time is not None
    assert kind.time["first"].startswith("2024-01-01T00:00:00") and kind.time["last"].startswith("2024-01-01T02:29:00")
    assert kind.time["per_hour"] == [["2024-01-01T00:00:00Z", 60], ["2024-01-01T01:00:00Z", 60], ["2024-01-01T02:00:00Z", 30]]


def test_text_timestamps_are_parsed_for_events_per_hour() -> None:
    table = pa.table({"@timestamp": ["2024-01-01T00:10:00Z", "2024-01-01T01:10:00Z", "not a time", None]})
    kind = profile_batches([Batch(table, "domain", "a")])["domain"]
    assert kind.time is not None and kind.time["hours"] == 2


def test_duplicates_across_batches_with_different_schemas() -> None:
    a = pa.table({"domain": ["a.com", "b.com", "a.com"], "rank": [1, 2, 1]})
    b = pa.table({"rank": [2, 9], "domain": ["b.com", "a.com"], "note": [None, None]})  # other order, all-null column
    kind = profile_batches([Batch(a, "domain", "x"), Batch(b, "domain", "y")])["domain"]
    assert kind.rows == 5
    assert kind.duplicates["exact"] == 2  # a.com/1 twice, b.com/2 in both batches
    assert kind.duplicates["keys"] == [{"fields": ["domain"], "rows": 5, "duplicates": 3, "share": 0.6}]
    assert column(kind, "note")["missing"] == 5 and column(kind, "note")["null"] == 5  # absent rows count as missing


def test_row_hashes_ignore_column_order_and_treat_null_as_absent() -> None:
    a = pa.table({"x": ["1", "2"], "y": [None, "b"]})
    b = pa.table({"y": [None, "b"], "x": ["1", "2"]})
    c = pa.table({"x": ["1", "2"]})
    assert list(row_hashes(a)) == list(row_hashes(b))
    assert row_hashes(a)[0] == row_hashes(c)[0] and row_hashes(a)[1] != row_hashes(c)[1]
    swapped = pa.table({"x": ["b"], "y": ["2"]})
    assert row_hashes(pa.table({"x": ["2"], "y": ["b"]}))[0] != row_hashes(swapped)[0]


def test_value_counts_stay_bounded() -> None:
    stats = ColumnStats("id", max_tracked=100)
    for start in range(0, 1000, 100):
        stats.update(pa.chunked_array([pa.array([str(i) for i in range(start, start + 100)] + ["hot"] * 5)]))
    result = stats.result(1050)
    assert len(stats.counts) <= 100 and not result["distinct_exact"]
    assert result["distinct"] == 1001  # fewer distinct values than the sketch holds: still exact
    assert result["top"][0] == {"value": "hot", "count": 50}
    assert "approx. counts" in flags(result)


def test_list_columns_are_counted_as_text() -> None:
    table = pa.table({"dns.answers.data": pa.array([["1.1.1.1", "8.8.8.8"], [], None], pa.list_(pa.string()))})
    col = column(profile_batches([Batch(table, "dns", "a")])["dns"], "dns.answers.data")
    assert col["top"] == [{"value": "1.1.1.1,8.8.8.8", "count": 1}] and col["missing"] == 2


@pytest.mark.parametrize(("values", "positives"), [
    ([True, False, False], [True, False, False]),
    ([1, 0, 0], [True, False, False]),
    (["malicious", "benign", "benign"], [True, False, False]),
    (["zeus", "legit", "conficker"], [True, False, True]),
    (["b", "a", "a"], [True, False, False]),  # no known word: the most common value is negative
])
def test_positive_label(values: list, positives: list[bool]) -> None:
    import pandas as pd

    assert positive_label(pd.Series(values)).tolist() == positives


def labelled_frame(n: int = 600, seed: int = 1):
    import pandas as pd

    rng = random.Random(seed)
    y = [i % 4 == 0 for i in range(n)]
    tests = [f"test{i % 30}" for i in range(n)]
    return pd.DataFrame({
        "label": y,
        "test": tests,
        "verdict": ["bad" if v else "good" for v in y],  # a renamed copy
        "tool": ["mimikatz" if v else rng.choice(["chrome", "outlook", "teams"]) for v in y],  # separates it alone
        "event.id": [f"id-{i}" for i in range(n)],  # unique per row
        "noise": [rng.random() for _ in range(n)],
        "score_like": [rng.uniform(0.9, 1.0) if v else rng.uniform(0.0, 0.1) for v in y],
        "host": [rng.choice(["a", "b", "c"]) for _ in range(n)],
    })


def test_leakage_flags_copies_and_separating_columns_not_ids_or_noise() -> None:
    leaks = {lk.column: lk for lk in find_leaks(labelled_frame(), "label")}
    assert leaks["verdict"].flagged and leaks["verdict"].method == "copy"
    assert leaks["tool"].flagged and leaks["tool"].method == "category (out-of-fold)"
    assert leaks["score_like"].flagged and leaks["score_like"].method == "value"
    for name in ("event.id", "noise", "host"):
        assert not leaks[name].flagged, leaks[name]
    assert leaks["event.id"].auc == pytest.approx(0.5, abs=0.05)


def test_leakage_with_groups_judges_a_group_identifier_on_unseen_groups() -> None:
    frame = labelled_frame()
    frame["capture"] = [f"cap-{t}" for t in frame["test"]]  # one value per test group
    frame["label"] = [int(t[4:]) % 3 == 0 for t in frame["test"]]  # groups are label-pure
    grouped = {lk.column: lk for lk in find_leaks(frame, "label", group="test")}
    ungrouped = {lk.column: lk for lk in find_leaks(frame, "label")}
    assert ungrouped["capture"].flagged  # memorises the groups
    assert not grouped["capture"].flagged  # but says nothing about a new capture
    assert "test" not in grouped


def test_label_balance_per_group_and_leakage_in_profile() -> None:
    table = pa.Table.from_pandas(labelled_frame(), preserve_index=False)
    kind = profile_batches([Batch(table.slice(0, 300), "process", "a"), Batch(table.slice(300), "process", "b")],
                           label="label", group="host")["process"]
    assert kind.labels is not None and kind.labels["counts"] == {"false": 450, "true": 150}
    assert sum(sum(c.values()) for c in kind.labels["groups"].values()) == 600 and kind.labels["groups_total"] == 3
    flagged = {lk["column"] for lk in kind.leakage or [] if lk["flagged"]}
    assert {"verdict", "tool", "score_like"} <= flagged and "event.id" not in flagged


def test_profile_paths_on_the_sample(tmp_path: Path) -> None:
    profile = profile_paths([sample(tmp_path)])
    data = orjson.loads(orjson.dumps(profile.as_dict(), default=str))
    assert {"rows", "rejected", "columns", "kinds", "sources"} <= set(data)
    assert {"conn", "dns"} <= set(data["kinds"])
    assert data["rows"] == sum(k["rows"] for k in data["kinds"].values()) > 3000
    assert data["rejected"] >= 2  # the malformed Zeek lines at least
    assert all(r["read"] == r["parsed"] + r["rejected"] for r in data["sources"])
    conn = profile.kinds["conn"]
    assert conn.time is not None and conn.time["hours"] == 6
    assert column(conn, "zeek.conn.duration")["missing"] > 0  # the `-` values


def test_profile_paths_with_a_labelled_csv(tmp_path: Path) -> None:
    rows = ["domain,label,family"] + [f"site{i}.com,0,benign" for i in range(40)] + [f"x{i}q.biz,1,zeus" for i in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    profile = profile_paths([tmp_path / "d.csv"], label="label")
    kind = next(iter(profile.kinds.values()))
    assert kind.labels is not None and sum(kind.labels["counts"].values()) == 60
    assert any(lk["column"] == "family" and lk["flagged"] for lk in kind.leakage or [])


def test_missing_input_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.log"):
        profile_paths([tmp_path / "nope.log"])


def test_unknown_label_column_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("example.com\nexample.org\n")
    assert profile_paths([tmp_path / "d.txt"], label="nope").warnings == ["column 'nope' is in none of the tables"]


def test_html_is_self_contained_and_json_round_trips(tmp_path: Path) -> None:
    profile = profile_paths([sample(tmp_path)])
    html = profile_html(profile)
    assert html.count("<svg") >= 3 and "Events per hour" in html and "Missing values" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert orjson.loads(write_json(profile, tmp_path / "p.json").read_bytes())["rows"] == profile.rows


def test_distinct_is_estimated_beyond_the_sketch() -> None:
    stats = ColumnStats("id", max_tracked=1000)
    for start in range(0, 50_000, 10_000):
        stats.update(pa.chunked_array([pa.array([f"v{i}" for i in range(start, start + 10_000)] * 2)]))
    assert stats.result(100_000)["distinct"] == pytest.approx(50_000, rel=0.1)
