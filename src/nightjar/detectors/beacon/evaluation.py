"""The beacon evaluation (docs/beacon.md): rita, slips, otrf and the synthetic recall-versus-jitter set.

Run: `python -m nightjar.detectors.beacon.evaluation [DATA] --out DIR [--beacons 100]`: writes
DIR/beacon_evaluation.json, the self-contained DIR/beacon_evaluation.html (recall-versus-jitter
curve, score histograms, tables; `report.py`) and the two figures as DIR/beacon_*.svg.
Synthetic split by time: validation = background 2024-04-19..20 + generator seed 0, test = background
2024-04-21 + seed 1 (other beacons). The shipped threshold was chosen on validation as the lowest that
kept background false alerts at <= 1 per 10,000 pairs (`--choose` re-chooses it that way instead of
evaluating the shipped one); either way the test split only reads it. rita_missing_host is not an independent test: its
top pairs were read while designing the scores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from nightjar.detectors.beacon.detector import BeaconDetector
from nightjar.detectors.beacon.report import plots, report_html
from nightjar.detectors.beacon.synthetic import framework_gaps, inject
from nightjar.io import Reading
from nightjar.registry.builtin import BUILTIN_DIR
from nightjar.report_html import write_html

RITA_BEACON = ("73.54.23.243", "64.225.56.201", 80)
SEED_OFFSET = {0.0: 0, 0.2: 1, 0.5: 2, 0.8: 3, 0.1: 5, 0.3: 6, 0.4: 7, 0.6: 8, 0.7: 9}  # framework timing: 4
JITTERS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # the recall-versus-jitter curve; the goal is read at 0, 20, 50 %


def score_paths(det: BeaconDetector, paths: list[Path], extra: list[tuple[str, pa.Table]] = ()) -> pd.DataFrame:
    """Score Zeek logs under `paths` plus extra (kind, table) batches."""
    acc = det.aggregator()
    for b in Reading(paths, show_progress=False):
        acc.add(b.kind, b.table, b.source)
    for kind, table in extra:
        if table.num_rows:
            acc.add(kind, table, "synthetic")
    return det.finish(acc)


def background(paths: list[Path]) -> tuple[pa.Table, list[tuple[str, pa.Table]]]:
    """The conn records under `paths` as one table, and the other logs the detector reads (http, ssl,
    dns, ssh) as (kind, table) batches: beacons are injected into the conn records, and the context
    logs are scored with them, as in production."""
    conn: list[pa.Table] = []
    context: list[tuple[str, pa.Table]] = []
    for b in Reading(paths, show_progress=False):
        if b.kind == "conn":
            conn.append(b.table)
        elif b.kind in BeaconDetector.reads:
            context.append((b.kind, b.table))
    return pa.concat_tables(conn, promote_options="permissive"), context


def rita(det: BeaconDetector, data: Path) -> dict[str, Any]:
    out = score_paths(det, [data / "beacon/rita_missing_host"])
    hit = (out["source.ip"] == RITA_BEACON[0]) & (out["destination.ip"] == RITA_BEACON[1]) & (out["destination.port"] == RITA_BEACON[2])
    longest = out.sort_values("held_open_s", ascending=False).iloc[0]
    return {"pairs": len(out), "beacon_rank": int(np.flatnonzero(hit.to_numpy())[0]) + 1, "beacon_score": float(out.loc[hit, "score"].iloc[0]),
            "alerts": int(out["alert"].sum()), "alerting": out.loc[out["alert"], ["source.ip", "destination.ip", "destination.port", "score"]].astype(str).values.tolist(),
            "long_connections": int(out["long_connection"].sum()),
            "longest_held_open": [str(longest["source.ip"]), str(longest["destination.ip"]), str(longest["destination.port"]), float(longest["held_open_s"])]}


def slips(det: BeaconDetector, data: Path) -> dict[str, Any]:
    starts = pd.read_csv(data / "beacon/slips_test_cc_synthetic/test_cc_connection_starts.csv")
    starts = starts[starts["event"] == "syn"]
    res = {}
    for pcap, part in starts.groupby("pcap"):
        frame = pd.DataFrame({"@timestamp": pd.to_datetime(part["ts"], unit="s", utc=True).astype("datetime64[us, UTC]"),
                              "source.ip": part["src"], "destination.ip": part["dst"], "destination.port": part["dport"],
                              "network.transport": part["proto"]})
        out = det.score(frame)
        top = out.iloc[0]
        res[pcap] = {"pairs": len(out), "alerts": int(out["alert"].sum()), "top": f"{top['source.ip']} -> {top['destination.ip']}:{top['destination.port']}",
                     "top_score": float(top["score"]), "top_reasons": str(top["reasons"])}
    return res


def otrf(det: BeaconDetector, data: Path) -> dict[str, Any]:
    res = {}
    for run in sorted((data / "beacon/otrf_lsass_campaign_zeek").glob("LSASS_campaign_0*")):
        out = score_paths(det, [run])
        dns = out[out["destination.port"] == 53]
        res[run.name] = {"pairs": len(out), "alerts": int(out["alert"].sum()), "max_score": float(out["score"].max()),
                         "max_dns_score": float(dns["score"].max()) if len(dns) else None}
    return res


def workstations(det: BeaconDetector, hosts: int, days: int = 3, seed: int = 3) -> dict[str, Any]:
    """False alerts per workstation-day on a generated lab (`nightjar.lab`): workstations with their own periodic
    services (telemetry, antivirus and EDR clouds, mail sync, push channels, update checks; lab/services.py), and
    the two planted C2 beacons, which must still alert."""
    from nightjar.lab.generate import generate_lab
    from nightjar.lab.world import LabConfig

    with tempfile.TemporaryDirectory() as tmp:
        lab = generate_lab(Path(tmp), LabConfig(hosts=hosts, days=days, seed=seed))
        out = score_paths(det, [lab.telemetry / "zeek"])
        truth = [a["entity"] for a in json.loads(lab.truth_path.read_text())["attacks"] if a["detector"] == "beacon"]
    planted = {(t["source.ip"], t["destination.domain"]) for t in truth} | {(t["source.ip"], t["destination.ip"]) for t in truth}
    alerts = out[out["alert"]]
    true = alerts.apply(lambda r: (r["source.ip"], r["destination.domain"]) in planted or (r["source.ip"], r["destination.ip"]) in planted, axis=1)
    caught = sum(bool(((alerts["source.ip"] == t["source.ip"]) & true).any()) for t in truth)
    false = alerts[~true.astype(bool)]
    ws_days = (hosts - 2) * days
    return {"hosts": hosts, "workstations": hosts - 2, "days": days, "seed": seed, "pairs": len(out), "beacons_planted": len(truth),
            "beacons_caught": caught, "false_alerts": len(false), "false_alerts_per_workstation_day": round(len(false) / ws_days, 4),
            "false_alerting": false[["source.ip", "destination.ip", "destination.domain", "score"]].astype(str).values.tolist()[:20]}


def _found(out: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Best score per truth row (address pair, or proxy pair by client and real host)."""
    addr = out[out["pair.kind"] == "address"].set_index(["source.ip", "destination.ip", "destination.port"])["score"]
    prox = out[out["pair.kind"] == "proxy"].set_index(["source.ip", "destination.domain"])["score"]
    addr, prox = addr.groupby(level=[0, 1, 2]).max(), prox.groupby(level=[0, 1]).max()
    return np.array([prox.get((r["source.ip"], r["destination.domain"]), 0.0) if r["kind"] == "proxy"
                     else addr.get((r["source.ip"], r["destination.ip"], r["destination.port"]), 0.0) for _, r in truth.iterrows()])


def _background(out: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Scores of background pairs: not injected, not the documented rita beacon."""
    injected = set(truth["source.ip"])
    known = (out["source.ip"] == RITA_BEACON[0]) & (out["destination.ip"] == RITA_BEACON[1])
    return out.loc[~out["source.ip"].isin(injected) & ~known, "score"]


def synthetic_run(det: BeaconDetector, logs: tuple[pa.Table, list[tuple[str, pa.Table]]], seed: int, n: int,
                  profiles: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.Series]:
    """(truth with scores for every jitter level and framework profile, background scores); `logs` as from `background`."""
    background, context = logs
    rows, bg = [], None
    settings = [(j, None) for j in JITTERS] + [(0.0, profiles)]
    for jit, prof in settings:
        k = 4 if prof else SEED_OFFSET[jit]
        conn, http, truth = inject(background, n, jit, seed=seed * 100 + k, profiles=prof)
        out = score_paths(det, [], [("conn", conn), ("http", http), *context])
        truth["score"] = _found(out, truth)
        truth["setting"] = "framework timing" if prof else f"jitter {int(jit * 100)} %"
        rows.append(truth)
        if bg is None:
            bg = _background(out, truth)
    return pd.concat(rows, ignore_index=True), bg


def choose_threshold(bg: pd.Series, max_per_10k: float = 1.0) -> float:
    """The lowest threshold with at most `max_per_10k` background alerts per 10,000 pairs."""
    allowed = int(np.floor(max_per_10k * len(bg) / 10_000))
    s = np.sort(bg.to_numpy())[::-1]
    return float(np.nextafter(s[allowed], 1.0)) if allowed < len(s) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="?", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for beacon_evaluation.json and .html")
    parser.add_argument("--beacons", type=int, default=100)
    parser.add_argument("--choose", action="store_true", help="choose the threshold on validation instead of using the shipped one")
    args = parser.parse_args()
    data = args.data
    det = BeaconDetector.load(BUILTIN_DIR / "beacon")
    profiles = framework_gaps(data / "beacon/nickg24_c2_capstone/derived_tcp_syn_series.csv.gz")
    rita_dir = data / "beacon/rita_missing_host"
    val_truth, val_bg = synthetic_run(det, background([rita_dir / "2024-04-19", rita_dir / "2024-04-20"]), 0, args.beacons, profiles)
    lowest = choose_threshold(val_bg)
    threshold = lowest if args.choose else det.threshold_
    det.threshold_ = threshold
    test_truth, test_bg = synthetic_run(det, background([rita_dir / "2024-04-21"]), 1, args.beacons, profiles)

    def recall(truth: pd.DataFrame) -> dict[str, float]:
        return {k: round(float((g["score"] >= threshold).mean()), 4) for k, g in truth.groupby("setting", sort=False)}

    figures = {
        "threshold": threshold,
        "threshold_source": "chosen on validation (--choose)" if args.choose else "shipped (detector.json)",
        "lowest_threshold_within_budget_on_validation": lowest,
        "split": "validation: rita background 2024-04-19..20 + seed 0; test: background 2024-04-21 + seed 1 (conn, http, ssl, dns, ssh logs)",
        "synthetic_validation": {"recall": recall(val_truth), "background_pairs": len(val_bg),
                                 "false_alerts_per_10k": round(float((val_bg >= threshold).sum()) * 1e4 / len(val_bg), 3)},
        "synthetic_test": {"recall": recall(test_truth), "background_pairs": len(test_bg),
                           "false_alerts_per_10k": round(float((test_bg >= threshold).sum()) * 1e4 / len(test_bg), 3),
                           "recall_by_kind": {k: round(float((g["score"] >= threshold).mean()), 4) for k, g in test_truth.groupby("kind")},
                           "recall_by_period": {str(k): round(float((g["score"] >= threshold).mean()), 4)
                                                for k, g in test_truth.groupby(pd.cut(test_truth["period_s"], [0, 60, 300, 1200, 3600]), observed=True)}},
        "rita_missing_host": rita(det, data),
        "slips_test_cc": slips(det, data),
        "otrf_lsass": otrf(det, data),
        "lab_workstations": {"50 hosts": workstations(det, 50), "20 hosts": workstations(det, 20), "8 hosts": workstations(det, 8)},
    }
    figures["histograms"] = {"test_background": np.round(test_bg.to_numpy(), 4).tolist(),
                             "test_beacons": np.round(test_truth["score"].to_numpy(), 4).tolist()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "beacon_evaluation.json").write_text(json.dumps({k: v for k, v in figures.items() if k != "histograms"}, indent=1, default=str) + "\n")
    write_html(args.out / "beacon_evaluation.html", report_html(figures))
    for stem, svg in plots(figures).items():
        (args.out / f"{stem}.svg").write_text(str(svg) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "histograms"}, indent=1, default=str))


if __name__ == "__main__":
    main()
