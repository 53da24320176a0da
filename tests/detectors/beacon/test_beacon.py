"""Beacon detector: combiner table, features, pairs, proxies, allowlist, save/load, shared data end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.beacon import BeaconDetector
import pyarrow as pa

from nightjar.detectors.beacon.addresses import AddressCoder
from nightjar.detectors.beacon.allowlist import Allowlist
from nightjar.detectors.beacon.features import held_open, intervals
from nightjar.detectors.beacon.model import BeaconModel, combine
from nightjar.detectors.beacon.periodicity import null_probability, periodicity
from nightjar.errors import ConfigError

W = {"interval": 0.20, "periodicity": 0.30, "size": 0.10, "coverage": 0.05, "count": 0.05, "answered": 0.30}


@pytest.mark.parametrize("name,subs,low,high", [
    ("all perfect", dict.fromkeys(W, 1.0), 0.999, 1.0),
    ("never answered", {**dict.fromkeys(W, 1.0), "answered": 0.0}, 0.3, 0.32),  # 0.02 ** 0.3
    ("irregular", {**dict.fromkeys(W, 1.0), "interval": 0.0, "periodicity": 0.0}, 0.14, 0.15),  # 0.02 ** 0.5
    ("half everywhere", dict.fromkeys(W, 0.5), 0.499, 0.501),
])
def test_combiner_table(name: str, subs: dict, low: float, high: float) -> None:
    s = combine({k: np.array([v]) for k, v in subs.items()}, W)[0]
    assert low <= s <= high, name


def test_combiner_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="sum to 1"):
        combine({k: np.array([1.0]) for k in W}, {**W, "size": 0.5})
    with pytest.raises(ConfigError, match="within 0..1"):
        combine({**{k: np.array([1.0]) for k in W}, "size": np.array([1.5])}, W)


def test_intervals_jitter_tolerant() -> None:
    rng = np.random.default_rng(0)
    beacon = np.cumsum(270 * (1 - rng.uniform(0, 0.5, 300)))
    poisson = np.cumsum(rng.exponential(270, 300))
    g = np.repeat([0, 1], 300)
    iv = intervals(g, np.concatenate([beacon, poisson]), 2)
    assert iv.concentration[0] > 0.95 and iv.concentration[1] < 0.8
    assert iv.mad[0] / iv.median[0] < 0.25 < iv.mad[1] / iv.median[1]


def test_periodicity_evidence_grows_with_regular_beats_not_with_random_ones() -> None:
    rng = np.random.default_rng(4)
    slow = 3600 * (1 - rng.uniform(0, 0.5, 19))  # a 1-hour beacon, 50 % jitter, 19 gaps
    missed = np.concatenate([slow[:15], slow[15:] * 2])  # the same with 4 missed beats
    poisson = rng.exponential(100, 2000)
    gaps = [slow, missed, poisson]
    ratio = np.concatenate([g / np.median(g) for g in gaps])
    group = np.repeat(np.arange(3), [len(g) for g in gaps])
    evidence, band, share = periodicity(ratio, group, 3)
    assert evidence[0] > 6 and evidence[1] > 4 and evidence[2] < 2
    assert band[0] <= 0.5 and share[0] >= 0.9
    assert 0.6 < null_probability(0.5, True) < 0.75 and 0.3 < null_probability(0.5, False) < 0.4


def test_addresses_round_trip_ipv4_ipv6_and_bad_values() -> None:
    import pyarrow as pa

    coder = AddressCoder()
    text = ["10.0.0.1", "255.255.255.255", "fe80::1", None, "999.1.1.1", "0.0.0.0", "FE80::1"]
    codes = coder.encode(pa.array(text))
    assert codes[0] == (10 << 24) + 1 and codes[1] == 2**32 - 1 and codes[5] == 0
    assert codes[2] >= 2**32 and codes[2] == codes[6] and codes[3] == -1 and codes[4] >= 2**32
    assert coder.decode(codes).to_pylist() == ["10.0.0.1", "255.255.255.255", "fe80::1", None, "999.1.1.1", "0.0.0.0", "fe80::1"]


def test_session_split_across_rotated_files_is_one_long_connection() -> None:
    # Zeek expires an idle session and logs its continuation (same 4-tuple) in the next hourly file:
    # the pair's held-open time is the union of the pieces
    det = BeaconDetector().fit()
    acc = det.aggregator()
    for hour in range(3):
        piece = _conns(np.array([hour * 3600.0 + 1]), "10.0.0.9", "198.51.100.22", port=22)
        piece["zeek.conn.duration"] = 3598.0
        acc.add("conn", pa.Table.from_pandas(piece, preserve_index=False), f"conn.{hour:02d}.log")
    out = det.finish(acc)
    row = out.iloc[0]
    assert row["held_open_s"] == pytest.approx(3 * 3598.0) and row["long_connection"] and row["alert"]
    assert "long connection: held open 3 h (100 % of the window)" in row["reasons"]


def test_icmp_echo_is_scored_down_but_icmp_with_payload_is_not() -> None:
    times = np.arange(0, 86400, 600.0)
    echo = _conns(times, "10.0.0.5", "203.0.113.50", port=0, sent=56.0)
    tunnel = _conns(times, "10.0.0.6", "203.0.113.51", port=0, sent=900.0)
    events = pd.concat([echo, tunnel], ignore_index=True)
    events["network.transport"] = "icmp"
    out = BeaconDetector().fit().score(events).set_index("source.ip")
    assert out.loc["10.0.0.5", "score"] == pytest.approx(0.25 * out.loc["10.0.0.6", "score"], rel=1e-3)
    assert "reachability check" in out.loc["10.0.0.5", "reasons"] and out.loc["10.0.0.6", "alert"]


def test_small_batches_give_the_same_pairs_as_one_batch() -> None:
    rng = np.random.default_rng(5)
    events = pd.concat([_background(rng, 15), _conns(np.arange(0, 40000, 300.0), "10.0.0.5", "198.51.100.7")], ignore_index=True)
    det = BeaconDetector().fit()
    whole = det.score(events)
    acc = det.aggregator()
    shuffled = events.sample(frac=1, random_state=1).reset_index(drop=True)
    for k, part in enumerate(np.array_split(np.arange(len(shuffled)), 37)):
        part = shuffled.iloc[part]
        acc.add("conn", pa.Table.from_pandas(part, preserve_index=False), f"f{k}")
    pd.testing.assert_frame_equal(whole, det.finish(acc))


def test_held_open_union() -> None:
    held, longest = held_open(np.array([0, 0, 0, 1]), np.array([0.0, 5.0, 20.0, 0.0]), np.array([10.0, 10.0, 1.0, 3.0]), 2)
    assert held.tolist() == [16.0, 3.0] and longest.tolist() == [10.0, 3.0]


def _conns(times: np.ndarray, src: str, dst: str, port: int = 443, sent: float = 220.0) -> pd.DataFrame:
    return pd.DataFrame({"@timestamp": pd.to_datetime(times, unit="s", utc=True).astype("datetime64[us, UTC]"),
                         "source.ip": src, "destination.ip": dst, "destination.port": port, "network.transport": "tcp",
                         "zeek.conn.duration": 0.2, "source.bytes": sent, "destination.bytes": 500.0, "zeek.conn.conn_state": "SF"})


def _background(rng: np.random.Generator, n: int = 40) -> pd.DataFrame:
    return pd.concat([_conns(np.sort(rng.uniform(0, 86400, int(rng.integers(5, 200)))), f"10.0.1.{i}", f"203.0.113.{i}",
                             sent=rng.uniform(100, 5000)) for i in range(n)], ignore_index=True)


def test_beacon_ranks_first_with_reasons_and_duplicates_dropped() -> None:
    rng = np.random.default_rng(1)
    beacon = _conns(np.cumsum(300 * (1 - rng.uniform(0, 0.5, 280))), "10.0.0.5", "198.51.100.7")
    events = pd.concat([_background(rng), beacon, beacon.iloc[:10]], ignore_index=True).sample(frac=1, random_state=0)
    before = events.copy()
    out = BeaconDetector().fit().score(events)
    pd.testing.assert_frame_equal(events, before)
    top = out.iloc[0]
    assert (top["source.ip"], top["destination.ip"], top["connections"]) == ("10.0.0.5", "198.51.100.7", 280)
    assert top["alert"] and "every" in top["reasons"] and "identical 220-byte" in top["reasons"]
    assert out["score"].is_monotonic_decreasing and out["score"].between(0, 1).all()
    assert not out.iloc[1:]["alert"].any()


def test_long_connection_is_a_finding() -> None:
    events = pd.concat([_conns(np.array([0.0]), "10.0.0.9", "198.51.100.22", port=22),
                        _conns(np.array([86000.0]), "10.0.0.1", "203.0.113.1")], ignore_index=True)
    events.loc[0, "zeek.conn.duration"] = 85000.0
    out = BeaconDetector().fit().score(events)
    row = out[out["destination.port"] == 22].iloc[0]
    assert row["long_connection"] and row["alert"] and "long connection" in row["reasons"]


def test_allowlist_sinks_ntp_and_reads_user_file(tmp_path) -> None:
    ntp = _conns(np.arange(0, 86400, 1024.0), "10.0.0.5", "91.189.91.157", port=123)
    ntp["network.transport"] = "udp"
    det = BeaconDetector().fit(allowlist_text="port 123/udp ntp\n")
    row = det.score(ntp).iloc[0]
    assert not row["alert"] and row["allowlisted"] == "ntp"
    (tmp_path / "mine.txt").write_text("ip 198.51.100.7 our monitor\n")
    mon = _conns(np.arange(0, 86400, 300.0), "10.0.0.5", "198.51.100.7")
    assert BeaconDetector(allowlist=(str(tmp_path / "mine.txt"),)).fit().score(mon).iloc[0]["allowlisted"] == "our monitor"
    with pytest.raises(ConfigError, match="KIND VALUE"):
        Allowlist().add_line("nonsense")


def test_proxy_attribution() -> None:
    rng = np.random.default_rng(2)
    beats = np.cumsum(120 * (1 - rng.uniform(0, 0.3, 500)))
    browse = np.sort(rng.uniform(0, beats[-1], 800))
    t = np.concatenate([beats, browse])
    hosts = np.concatenate([np.full(len(beats), "c2.example.net"), rng.choice([f"s{i}.example.org" for i in range(30)], len(browse))])
    http = pd.DataFrame({"@timestamp": pd.to_datetime(t, unit="s", utc=True).astype("datetime64[us, UTC]"), "source.ip": "10.0.0.8",
                         "destination.ip": "10.0.0.3", "destination.port": 3128, "http.request.method": "CONNECT",
                         "url.domain": hosts, "url.original": [h + ":443" for h in hosts], "http.response.status_code": 200})
    det = BeaconDetector().fit()
    acc = det.aggregator()
    acc.add("conn", pa.Table.from_pandas(_conns(t, "10.0.0.8", "10.0.0.3", port=3128), preserve_index=False))
    acc.add("http", pa.Table.from_pandas(http, preserve_index=False))
    out = det.finish(acc)
    top = out.iloc[0]
    assert (top["pair.kind"], top["destination.domain"], top["alert"]) == ("proxy", "c2.example.net", True)
    assert out.loc[out["pair.kind"] == "address", "destination.is_proxy"].all()


def test_save_load_roundtrip_and_param_check(tmp_path) -> None:
    rng = np.random.default_rng(3)
    events = _background(rng, 10)
    det = BeaconDetector(min_connections=5).fit(model=BeaconModel(threshold=0.7), allowlist_text="port 123/udp ntp\n")
    det.save(tmp_path)
    again = BeaconDetector.load(tmp_path)
    pd.testing.assert_frame_equal(det.score(events), again.score(events))
    assert again.threshold_ == 0.7 and again.min_connections == 5
    with pytest.raises(ConfigError, match="'min_connections' parameter of BeaconDetector must be an int >= 3. Got 2."):
        BeaconDetector(min_connections=2).fit()


def test_rita_beacon_ranks_first(shared_data, tmp_path) -> None:
    from nightjar.registry import Registry, load_model
    from nightjar.scoring import run_score

    det = load_model("beacon", Registry(tmp_path / "reg")).detector
    out = tmp_path / "b.csv"
    summary = run_score("beacon", [shared_data / "beacon/rita_missing_host/2024-04-20"], out, detector=det)
    rows = pd.read_csv(out)
    assert (rows.iloc[0]["source.ip"], rows.iloc[0]["destination.port"]) == ("73.54.23.243", 80)
    assert summary.alerts == int(rows["alert"].sum()) <= 3


def test_out_of_order_across_rotated_files_is_counted() -> None:
    det = BeaconDetector().fit()
    acc = det.aggregator()
    for times, source in (([0.0, 100.0, 200.0], "a"), ([150.0, 300.0], "b"), ([50.0], "b"), ([400.0], "c")):
        acc.add("conn", pa.Table.from_pandas(_conns(np.array(times), "10.0.0.1", "10.0.0.2"), preserve_index=False), source)
    out = det.finish(acc)
    assert det.facts_["out_of_order"] == 2 and out.iloc[0]["connections"] == 7


def _ssh_log(times: np.ndarray, src: str, success: list[bool | None], attempts: list[int]) -> pa.Table:
    return pa.table({"@timestamp": pa.array(pd.to_datetime(times, unit="s", utc=True).astype("datetime64[us, UTC]")),
                     "source.ip": [src] * len(times), "destination.ip": ["10.0.0.2"] * len(times), "destination.port": [22] * len(times),
                     "zeek.ssh.auth_success": pa.array(success, pa.bool_()), "zeek.ssh.auth_attempts": pa.array(attempts, pa.int64())})


def test_ssh_sessions_without_a_login_are_not_a_channel() -> None:
    """Periodic SSH clients whose logins fail (or are never tried) are guessing bots: scored down with
    the reason; a periodic client that logs in, or whose result Zeek could not see, stays a beacon."""
    times = np.arange(0, 86400, 600.0)
    det = BeaconDetector().fit()
    acc = det.aggregator()
    cases = {"198.51.100.1": ([False] * len(times), [1] * len(times)),  # password guessing
             "198.51.100.2": ([None] * len(times), [0] * len(times)),  # key exchange, then goodbye
             "198.51.100.3": ([True] * len(times), [1] * len(times)),  # logs in: a working channel
             "198.51.100.4": ([None] * len(times), [2] * len(times))}  # tried, result unknown: benefit of the doubt
    for src, (success, attempts) in cases.items():
        acc.add("conn", pa.Table.from_pandas(_conns(times, src, "10.0.0.2", port=22, sent=1320.0), preserve_index=False), src)
        acc.add("zeek.ssh", _ssh_log(times, src, success, attempts), src)
    out = det.finish(acc).set_index("source.ip")
    for bot in ("198.51.100.1", "198.51.100.2"):
        assert not out.loc[bot, "alert"] and out.loc[bot, "score.answered"] == 0
        assert f"{len(times)} of {len(times)} SSH sessions without a login" in out.loc[bot, "reasons"]
    for channel in ("198.51.100.3", "198.51.100.4"):
        assert out.loc[channel, "alert"] and out.loc[channel, "score.answered"] == 1
    assert det.facts_["ssh"] == 4 * len(times)


def _score_with_sni(conns: pd.DataFrame, sni: pa.Table) -> pd.DataFrame:
    det = BeaconDetector().fit()
    acc = det.aggregator()
    acc.add("conn", pa.Table.from_pandas(conns, preserve_index=False))
    acc.add("ssl", sni)
    return det.finish(acc)


def _fleet(n: int, name: str, dst: str = "13.107.0.") -> tuple[pd.DataFrame, pa.Table]:
    """`n` internal hosts polling one service every 5 min (two addresses), with its TLS server name."""
    times = np.arange(0, 86400, 300.0)
    conns = pd.concat([_conns(times + i, f"10.0.0.{i}", f"{dst}{i % 2}") for i in range(1, n + 1)], ignore_index=True)
    sni = pa.table({"source.ip": [f"10.0.0.{i}" for i in range(1, n + 1)], "destination.ip": [f"{dst}{i % 2}" for i in range(1, n + 1)],
                    "destination.port": [443] * n, "tls.client.server_name": [name] * n})
    return conns, sni


def test_a_destination_most_internal_hosts_poll_is_a_fleet_service() -> None:
    """24 workstations syncing mail every 5 min share one service name over two addresses: scored down
    (x0.25) with the reason; the one host calling a rare destination on the same schedule still alerts."""
    conns, sni = _fleet(24, "outlook.office365.com")
    rare = _conns(np.arange(0, 86400, 300.0) + 7, "10.0.0.5", "198.51.100.7")
    out = _score_with_sni(pd.concat([conns, rare], ignore_index=True), sni)
    fleet = out[(out["destination.domain"] == "outlook.office365.com") & (out["pair.kind"] == "address")]
    assert len(fleet) == 24 and not fleet["alert"].any()
    assert np.allclose(fleet["score"], 0.25 * fleet["score.beacon"], rtol=1e-3)
    assert "a fleet service, scored x0.25" in fleet.iloc[0]["reasons"]
    row = out[out["destination.ip"] == "198.51.100.7"].iloc[0]
    assert row["alert"] and "common destination" not in row["reasons"]


def test_ten_bots_calling_one_c2_are_not_a_fleet() -> None:
    """Ten infected hosts of a 12-host capture calling the same C2 share a destination, but ten are too few
    to be a fleet service (`common_min_sources` 20): they all alert."""
    conns, sni = _fleet(10, "c2.example.net", "203.0.113.")
    quiet = pd.concat([_conns(np.array([0.0, 5000.0]), f"10.0.0.{i}", "198.51.100.9") for i in (11, 12)], ignore_index=True)
    out = _score_with_sni(pd.concat([conns, quiet], ignore_index=True), sni)
    bots = out[(out["destination.domain"] == "c2.example.net") & (out["pair.kind"] == "address")]
    assert len(bots) == 10 and bots["alert"].all() and (bots["prevalence"] > 0.8).all()


def _zeek_conn_log(path, rows: list[tuple[float, str, str, int, float]], log_path: str = "conn") -> None:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{log_path}",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state",
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring"]
    body = [f"{ts:.6f}\tC{abs(hash((src, ts))) % 10**8}\t{src}\t50000\t{dst}\t{port}\ttcp\t{dur:.3f}\t900\t4000\tS1" for ts, src, dst, port, dur in rows]
    path.write_text("\n".join(head + body) + "\n")


def test_session_only_in_open_conn_log_is_a_long_connection(tmp_path) -> None:
    """A session open the whole time never reaches conn.log; Zeek's conn_long and RITA's open_conn logs
    carry snapshots of it (same start and uid, growing duration). They are read as conn records, and the
    snapshots of one session are one long connection over the window."""
    from nightjar.io import Reading

    t0 = 1_713_484_800.0
    _zeek_conn_log(tmp_path / "conn.log", [(t0 + k * 600.0, "10.0.0.7", "198.51.100.3", 443, 0.5) for k in range(36)])
    _zeek_conn_log(tmp_path / "open_conn.log", [(t0 - 3600.0, "203.0.113.9", "10.0.0.2", 22, 3600.0 * (k + 1)) for k in range(1, 7)],
                   log_path="open_conn")
    det = BeaconDetector().fit()
    acc = det.aggregator()
    kinds = set()
    for batch in Reading([tmp_path], show_progress=False):
        kinds.add(batch.kind)
        acc.add(batch.kind, batch.table, batch.source)
    out = det.finish(acc).set_index("source.ip")
    assert kinds == {"conn"}
    ssh = out.loc["203.0.113.9"]
    assert ssh["long_connection"] and ssh["alert"] and "long connection: held open 7 h" in ssh["reasons"]
