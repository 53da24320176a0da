"""The lab generator: determinism, a working day's shape, readable files, and attacks that are really there."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from nightjar.lab import Lab, LabConfig, generate_lab, read_truth
from nightjar.lab.dga import FAMILIES, WORDS, generate
from tests.lab.conftest import rel


def _hour_counts(table) -> np.ndarray:
    ts = pd.to_datetime(table.column("@timestamp").to_pandas(), utc=True)
    return np.bincount(ts.dt.hour.to_numpy(), minlength=24)


def test_same_seed_gives_the_same_files_and_another_seed_does_not(tmp_path: Path) -> None:
    config = LabConfig(hosts=6, days=1, seed=5)
    a, b = generate_lab(tmp_path / "a", config), generate_lab(tmp_path / "b", config)
    c = generate_lab(tmp_path / "c", LabConfig(hosts=6, days=1, seed=6))
    files = lambda lab: orjson.loads(lab.manifest_path.read_bytes())["files"]  # noqa: E731
    assert files(a) == files(b)
    assert a.truth_path.read_bytes() == b.truth_path.read_bytes()
    assert files(a).keys() == files(c).keys()
    assert all(files(a)[k]["sha256"] != files(c)[k]["sha256"] for k in files(a) if "dirty" not in k)


def test_sizes_outside_the_lab_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'hosts' parameter of the lab must be an int in 6..500. Got 3"):
        generate_lab(tmp_path, LabConfig(hosts=3))


def test_the_background_looks_like_a_working_day(lab_tables) -> None:
    tables, _ = lab_tables
    for kind in ("dns", "conn", "process"):
        hours = _hour_counts(tables[kind])
        office, night = hours[9:16].mean(), hours[0:6].mean()
        assert office > 4 * night, (kind, hours.tolist())
        assert night > 0, f"{kind}: machines left on make some noise at night"
        assert hours[12] < hours[10], f"{kind}: lunch is quieter than the morning"


def test_weekends_are_quiet(tmp_path: Path) -> None:
    from nightjar.io import read_table

    lab = generate_lab(tmp_path, LabConfig(hosts=6, days=7, seed=2))
    dns, _ = read_table(lab.telemetry / "zeek" / "dns.log")
    days = pd.to_datetime(dns.column("@timestamp").to_pandas(), utc=True).dt.day_of_week.value_counts()
    assert days[[5, 6]].max() < 0.5 * days[[0, 1, 2, 3, 4]].min(), days.to_dict()


def test_readers_reject_nothing_but_the_deliberately_dirty_files(small_lab: Lab, lab_tables) -> None:
    tables, reading = lab_tables
    dirty = {d["path"] for d in small_lab.truth.dirty}
    by_file = {rel(small_lab, r.source): r for r in reading.reports}
    for name, report in by_file.items():
        if name not in dirty:
            assert report.rejected == 0 and report.read > 0, (name, report.rejections[:3])
    assert by_file["telemetry/dirty/guest-wifi-conn.log"].rejected == 1
    assert [rel(small_lab, s[0]) for s in reading.skipped] == ["telemetry/dirty/capture-0001.pcap"]
    assert set(tables) == {"process", "dns", "conn", "http", "url"}
    assert tables["process"].num_rows == small_lab.counts["process"]


def test_truth_round_trips_and_names_every_kind(small_lab: Lab) -> None:
    truth = read_truth(small_lab.truth_path)
    assert [a.as_dict() for a in truth.attacks] == [a.as_dict() for a in small_lab.truth.attacks]
    kinds = truth.by_detector()
    assert set(kinds) == {"dga", "url", "lotl", "beacon"}
    assert len(kinds["dga"]) == 3 and len(kinds["beacon"]) == 2 and len(kinds["lotl"]) == 11
    assert {a.entity["family"] for a in kinds["dga"]} == set(FAMILIES)
    assert {a.technique for a in kinds["lotl"]} >= {"T1204.002", "T1059.001", "T1105", "T1053.005", "T1547.001"}


def test_planted_attacks_are_in_the_telemetry(small_lab: Lab, lab_tables) -> None:
    tables, _ = lab_tables
    kinds = small_lab.truth.by_detector()
    dns = tables["dns"].to_pandas()
    for attack in kinds["dga"]:
        mine = dns[dns["source.ip"] == attack.entity["source.ip"]]
        names = set(mine["dns.question.name"])
        assert set(attack.entity["domains"]) <= names
        dga_rows = mine[mine["dns.question.name"].isin(attack.entity["domains"])]
        assert (dga_rows["dns.response_code"] == "NXDOMAIN").mean() > 0.8  # most DGA names do not exist
    processes = tables["process"].to_pandas().set_index("process.entity_id")
    for attack in kinds["lotl"]:
        row = processes.loc[attack.entity["process.entity_id"]]
        assert row["process.command_line"] == attack.entity["process.command_line"]
        assert row["host.name"] == attack.entity["host.name"]
    assert any("-enc " in a.entity["process.command_line"] for a in kinds["lotl"])
    conn, http = tables["conn"].to_pandas(), tables["http"].to_pandas()
    for attack in kinds["beacon"]:
        e = attack.entity
        pair = conn[(conn["source.ip"] == e["source.ip"]) & (conn["destination.ip"] == e["destination.ip"])
                    & (conn["destination.port"] == e["destination.port"])].sort_values("@timestamp")
        gaps = pair["@timestamp"].diff().dt.total_seconds().dropna()
        gaps = gaps[gaps < 2 * e["interval"]]  # nights off break the series
        assert len(pair) > 20 and abs(gaps.median() - e["interval"]) < 0.1 * e["interval"]
        assert gaps.std() > 0.02 * e["interval"], "jitter"
    urls = set(tables["url"].column("url").to_pylist())
    for attack in kinds["url"]:
        if attack.entity["where"] == "mail":
            assert attack.entity["url"] in urls
        else:
            fetched = "http://" + http["url.domain"] + http["url.original"]
            assert attack.entity["url"] in set(fetched[http["source.ip"] == attack.entity["source.ip"]])


def test_admins_use_dual_use_tools_for_real_work(small_lab: Lab, lab_tables) -> None:
    tables, _ = lab_tables
    process = tables["process"].to_pandas()
    planted = {a.entity["process.entity_id"] for a in small_lab.truth.attacks if a.detector == "lotl"}
    benign = process[~process["process.entity_id"].isin(planted)]["process.command_line"]
    for pattern in ("certutil -hashfile", "schtasks /query", "Get-Service", "-ExecutionPolicy Bypass -File"):
        assert benign.str.contains(pattern, regex=False).any(), pattern


def test_process_trees_hold_together(lab_tables) -> None:
    process = lab_tables[0]["process"].to_pandas()
    known = set(process["process.entity_id"])
    share = process["process.parent.entity_id"].isin(known).mean()
    assert share > 0.5, share  # the rest hang off processes started before the lab (services, explorer)
    assert process["process.entity_id"].is_unique


def test_cdn_names_look_random_and_are_benign(small_lab: Lab, lab_tables) -> None:
    names = set(lab_tables[0]["dns"].column("dns.question.name").to_pylist())
    assert any(re.fullmatch(r"d[a-z0-9]{13}\.cloudfront\.net", n) for n in names)
    dga_names = {n for a in small_lab.truth.attacks if a.detector == "dga" for n in a.entity["domains"]}
    assert not any(n.endswith(("cloudfront.net", "akamaiedge.net")) for n in dga_names)


def test_the_three_dgas_have_their_styles() -> None:
    hexes, cv, words = (generate(f, "2026-03-02", 50, seed=1) for f in FAMILIES)
    assert all(re.fullmatch(r"[0-9a-f]{16,24}\.(info|org|biz)", n) for n in hexes)
    assert all(re.fullmatch(r"([bcdfghjklmnprstvwxz][aeiou])+[bcdfghjklmnprstvwxz]?\.(com|net|biz|ru)", n) for n in cv)
    assert all(any(n.startswith(w) and n.split(".")[0][len(w):] in WORDS for w in WORDS) for n in words)
    assert generate("cv", "2026-03-02", 5, seed=1) == cv[:5] != generate("cv", "2026-03-03", 5, seed=1)
    assert len(set(hexes)) == 50
