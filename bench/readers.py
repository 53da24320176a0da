"""Reader throughput on one core: Zeek TSV conn logs, EVTX records, NDJSON events.

Run: `make bench` or `.venv/bin/python bench/readers.py [--markdown]`. Needs ../shared/data.
Each case module (bench/zeek_reader.py, bench/windows_readers.py) has `run() -> list[dict]`; this
script runs each in its own process (so peak memory is per case family) and prints one table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("zeek_reader", "windows_readers")
CHILD = "import json, sys; sys.path.insert(0, {here!r}); import {mod}; print(json.dumps({mod}.run()))"


def run_case(module: str) -> list[dict]:
    """Run one case module in a fresh interpreter and return its rows."""
    code = CHILD.format(here=str(HERE), mod=module)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return [{"case": module, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    rows = [row for module in CASES for row in run_case(module)]
    print("| case | rows | seconds | rows/s | rows per CPU-second | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['case']} | error: {r['error']} | | | | |")
            continue
        cpu = r.get("rows_per_cpu_s")
        print(f"| {r['case']} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | "
              f"{'' if cpu is None else f'{cpu:,.0f}'} | {r.get('peak_rss_mb', float('nan')):.0f} |")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
