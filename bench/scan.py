"""Scan throughput per input kind, with memory: records/s and peak RSS of `run_scan` on one core.

Each case writes a synthetic input (seeded) once into a cache folder, then runs `run_scan` on it in
a fresh process pinned to one core (os.sched_setaffinity(0, {0}); LightGBM num_threads=1 as the
shipped models set it), best of `--repeat` wall times, peak RSS of that process (ru_maxrss). The
model is loaded once before timing (its load time is reported apart); the throughput includes
reading, the detector, building ECS alerts, the SQLite store and the job-run record.

Usage:
    python bench/scan.py                      # every case at the default sizes
    python bench/scan.py --cases dns,conn --scale 0.2 --json bench-scan.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = {  # name: (file name, records at scale 1, detectors to run)
    "process_csv": ("process.csv", 100_000, "lotl"),
    "process_ndjson": ("process.ndjson", 100_000, "lotl"),
    "dns_log": ("dns.log", 300_000, "dga"),
    "domain_list": ("domains.txt", 300_000, "dga"),
    "url_list": ("urls.txt", 200_000, "url"),
    "conn_log": ("conn.log", 500_000, "beacon"),
}
WORDS = ["mail", "cdn", "shop", "news", "app", "login", "static", "api", "portal", "files", "docs", "media", "cloud"]
TLDS = ["com", "net", "org", "io", "de", "co.uk"]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    alpha = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    out = []
    for i in range(n):
        if i % 50 == 0:
            out.append("".join(rng.choice(alpha, 18)) + ".net")
        else:
            out.append(f"{WORDS[rng.integers(len(WORDS))]}.{WORDS[rng.integers(len(WORDS))]}{rng.integers(1000)}.{TLDS[rng.integers(len(TLDS))]}")
    return out


def _zeek(path: str, fields: list[str], types: list[str], rows: list[str]) -> str:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{path}",
            "#open\t2024-04-19-00-00-01", "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    return "\n".join(head + rows) + "\n"


def write_case(case: str, folder: Path, n: int) -> Path:
    """Write the synthetic input of `case` with `n` records (seeded; reused when present)."""
    name = CASES[case][0]
    path = folder / f"{n}-{name}"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    cmds = ["C:\\Windows\\System32\\svchost.exe -k netsvcs -p", "\"C:\\Program Files\\Office\\WINWORD.EXE\" /n report{}.docx",
            "powershell.exe -nop -w hidden -enc SQBFAFgA{}", "cmd.exe /c whoami", "C:\\Windows\\System32\\rundll32.exe shell32.dll,{}"]
    if case == "process_csv":
        lines = ["UtcTime,Computer,EventID,Image,CommandLine,ProcessId,ParentImage,User"]
        quoted = ['"' + cmds[i % 5].format(i).replace('"', '""') + '"' for i in range(n)]
        lines += [f"2024-04-19 09:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.000,WS-{i % 40},1,C:\\x{i % 7}.exe,{quoted[i]},"
                  f"{1000 + i},C:\\Windows\\explorer.exe,CORP\\u{i % 40}" for i in range(n)]
        text = "\n".join(lines) + "\n"
    elif case == "process_ndjson":
        docs = [{"@timestamp": f"2024-04-19T09:{i // 6000 % 60:02d}:{i // 100 % 60:02d}Z", "host": {"name": f"WS-{i % 40}"},
                 "winlog": {"event_id": 1, "channel": "Microsoft-Windows-Sysmon/Operational"}, "event": {"code": "1"},
                 "process": {"pid": 1000 + i, "executable": f"C:\\x{i % 7}.exe", "name": f"x{i % 7}.exe", "command_line": cmds[i % 5].format(i),
                             "parent": {"executable": "C:\\Windows\\explorer.exe", "name": "explorer.exe"}}} for i in range(n)]
        text = "".join(json.dumps(d) + "\n" for d in docs)
    elif case == "dns_log":
        fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "query", "qtype_name", "rcode_name"]
        types = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "string", "string", "string"]
        rows = [f"{1713484800 + i * 0.05:.6f}\tC{i}\t10.0.{i % 40}.{i % 200}\t{40000 + i % 20000}\t10.0.0.1\t53\tudp\t{i % 65535}\t{q}\tA\tNOERROR"
                for i, q in enumerate(_names(rng, n))]
        text = _zeek("dns", fields, types, rows)
    elif case == "domain_list":
        text = "\n".join(_names(rng, n)) + "\n"
    elif case == "url_list":
        text = "\n".join(f"https://{d}/{WORDS[i % len(WORDS)]}/{i}?id={i % 97}" for i, d in enumerate(_names(rng, n))) + "\n"
    else:  # conn_log: 2,000 pairs with background timing, one in 100 periodic
        fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "resp_bytes", "conn_state"]
        types = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "string"]
        pair = rng.integers(0, 2000, n)
        ts = np.sort(1713484800 + rng.uniform(0, 86400, n))
        rows = [f"{t:.6f}\tC{i}\t10.0.{p % 40}.{p % 200}\t{40000 + i % 20000}\t203.0.{p // 200}.{p % 250}\t443\ttcp\t0.2\t{200 + p % 50}\t{900 + i % 300}\tSF"
                for i, (t, p) in enumerate(zip(ts, pair))]
        text = _zeek("conn", fields, types, rows)
    path.write_text(text)
    return path


def run_one(case: str, path: Path, repeat: int) -> dict[str, object]:
    """In this (child) process: pin to one core, scan `path` `repeat` times, report the best."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    os.environ["NIGHTJAR_PROGRESS"] = "0"
    from nightjar.scoring.scan import load_detectors, run_scan

    kind = CASES[case][2]
    start = time.perf_counter()
    detector = load_detectors([kind])[0].detector  # the registry's production model, checksums verified
    load_s = time.perf_counter() - start
    best, summary = float("inf"), None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = run_scan([path], store=Path(tmp) / "alerts.db", detectors=[kind], given={kind: detector})
            best = min(best, time.perf_counter() - start)
    assert summary is not None
    return {"case": case, "detector": CASES[case][2], "records": summary.read, "scored": summary.scored, "alerts": summary.alerts,
            "load_s": round(load_s, 2), "seconds": round(best, 3), "records_per_s": round(summary.read / best), "mb_per_s": round(path.stat().st_size / best / 1e6, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case's record count")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nightjar-bench-scan")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]), args.repeat)))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    results = []
    print(f"{'case':16} {'detector':8} {'records':>9} {'alerts':>7} {'load s':>6} {'best s':>7} {'records/s':>10} {'MB/s':>6} {'peak RSS MB':>11}")
    for case in args.cases.split(","):
        path = write_case(case, args.cache, max(1000, int(CASES[case][1] * args.scale)))
        done = subprocess.run([sys.executable, __file__, "--child", case, str(path), "--repeat", str(args.repeat)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{case:16} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{case:16} {r['detector']:8} {r['records']:>9,} {r['alerts']:>7,} {r['load_s']:>6.2f} {r['seconds']:>7.2f} {r['records_per_s']:>10,} "
              f"{r['mb_per_s']:>6} {r['peak_rss_mb']:>11}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
