"""Benchmark of the Windows process readers on one core: EVTX records and NDJSON events per second.

Cases (inputs are built in a temporary folder from the shared datasets; nothing is written to the repo):
- evtx_records: a 100k-record EVTX written with tests/fixtures/evtx_writer.py from the Atomic-EVTX Sysmon
  JSON exports (EID 1, 5, ... as they come), read by the EVTX reader (parsing + JSON decoding + mapping).
- otrf_ndjson_*: the OTRF flat-schema archives unpacked into one NDJSON (~1.5 GB, ~630k events of ~2.4 KB,
  most of it the rendered `Message`): raw parsing of all events with pyarrow (explicit schema), with
  orjson per line and with msgspec into the fields the reader declares, and the full reader
  (process-creation extraction).
- compact_ndjson_*: the OTRF Sysmon-1 lines without Message (~2 KB: nxlog's many other fields), every line a
  process creation, 200k of them: the reader, and the raw parsers alone as above (their ceilings).
- ecs_flat_ndjson_*: the same events as flat ECS NDJSON (~1.5 KB, dotted keys): the reader and the raw parsers.

Run: python bench/windows_readers.py   (needs the shared datasets; NIGHTJAR_SHARED_DATA to relocate)
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.json as pa_json

from nightjar import schema

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("NIGHTJAR_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVTX_RECORDS = 100_000
# What a flat-schema fast path would need (measured against orjson; the reader uses orjson).
_FLAT_FIELDS = ["Channel", "SourceName", "Hostname", "Computer", "@timestamp", "UtcTime", "Hashes", "TargetDomainName"]
FLAT_SCHEMA = pa.schema([("EventID", pa.int64())] + [(n, pa.string()) for n in sorted({*_FLAT_FIELDS, *schema.SYSMON_PROCESS_MAP, *schema.SECURITY_4688_MAP})])


def _one_core(cpu: int = int(os.environ.get("NIGHTJAR_BENCH_CPU", "0"))) -> None:
    """Pin to one core (NIGHTJAR_BENCH_CPU, default 0: two benches can run side by side on 0 and 1)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def atomic_sysmon_events(limit: int | None = EVTX_RECORDS) -> list:
    """The Atomic-EVTX Sysmon JSON exports as `WinEvent`s, in archive order (the first members' up to `limit`)."""
    import datetime as dt

    from tests.fixtures.evtx_writer import WinEvent

    events: list[WinEvent] = []
    with tarfile.open(SHARED / "lotl/atomic_evtx/atomic_evtx_unfiltered_json.tar.xz") as tar:
        for member in tar:
            if not member.name.endswith("Sysmon_Operational.json") or (limit is not None and len(events) >= limit):
                continue
            for line in tar.extractfile(member).read().lstrip(b"\xef\xbb\xbf").splitlines():  # type: ignore[union-attr]
                if line.strip():
                    events.append(_win_event(orjson.loads(line)["Event"], WinEvent, dt))
    return events


def build_evtx(folder: Path, events: list | None = None, name: str = "atomic_sysmon.evtx") -> Path:
    """An EVTX of EVTX_RECORDS real Sysmon events (Atomic-EVTX JSON exports, repeated as needed), or of `events`."""
    from tests.fixtures.evtx_writer import write_evtx

    if events is None:
        events = atomic_sysmon_events()
        events = (events * (EVTX_RECORDS // len(events) + 1))[:EVTX_RECORDS]
    path = folder / name
    write_evtx(path, events)
    return path


def _win_event(event: dict, win_event: type, dt: object) -> object:
    system = event["System"]
    data = {d["@Name"]: d.get("#text") or "" for d in (event.get("EventData") or {}).get("Data") or [] if isinstance(d, dict)}
    stamp = dt.datetime.fromisoformat(system["TimeCreated"]["@SystemTime"][:26]).replace(tzinfo=dt.timezone.utc)  # type: ignore[attr-defined]
    return win_event(int(system["EventID"]), system["Provider"]["@Name"], system["Channel"], system["Computer"], stamp, data)


def build_ndjson(folder: Path) -> tuple[Path, Path]:
    """The OTRF flat-schema archives as one NDJSON, and a compact Sysmon-1-only NDJSON."""
    flat, compact = folder / "otrf_flat.ndjson", folder / "compact.ndjson"
    process_lines: list[bytes] = []
    with flat.open("wb") as out:
        for archive in sorted((SHARED / "lotl/otrf_security_datasets/raw_host_zips").rglob("*.zip")):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    if "__MACOSX" in name or name.endswith("/"):
                        continue
                    data = z.read(name)
                    if not data.startswith(b'{"') or b'"EventID"' not in data[:4096]:
                        continue  # the 2019 nested schema goes elsewhere
                    out.write(data if data.endswith(b"\n") else data + b"\n")
                    for line in data.splitlines():
                        if b'"EventID":1,' in line and b"Sysmon/Operational" in line:
                            record = orjson.loads(line)
                            record.pop("Message", None)
                            process_lines.append(orjson.dumps(record))
    with compact.open("wb") as out:
        out.write(b"\n".join((process_lines * (200_000 // len(process_lines) + 1))[:200_000]) + b"\n")
    return flat, compact


def _measure(case: str, work: Callable[[], int], size: int) -> dict[str, object]:
    _one_core()
    start, cpu = time.perf_counter(), time.process_time()
    rows = work()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"case": case, "rows": rows, "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
            "rows_per_s": round(rows / seconds), "rows_per_cpu_s": round(rows / cpu_seconds), "mb_per_s": round(size / seconds / 1e6, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _reader_rows(path: Path) -> int:
    from nightjar.io import Reading

    reading = Reading([path], show_progress=False)
    for _ in reading:
        pass
    report = reading.reports[0]
    ignored = next((int(n.split()[0].replace(",", "")) for n in report.notes if "ignored" in n), 0)
    return report.read + ignored  # every event looked at, process creation or not


def _arrow_all(path: Path, explicit: pa.Schema = FLAT_SCHEMA) -> int:
    options = pa_json.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="ignore")
    rows = 0
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            block += f.readline()
            rows += pa_json.read_json(io.BytesIO(block), pa_json.ReadOptions(use_threads=False, block_size=16 << 20), options).num_rows
    return rows


def _arrow_ecs(path: Path) -> int:
    from nightjar.io.process_events import PROCESS_SCHEMA

    loose = pa.schema([(n, pa.float64() if n in schema.PROCESS_INT_FIELDS else pa.string()) for n in PROCESS_SCHEMA.names])
    return _arrow_all(path, loose)


def _msgspec_all(path: Path, decoder: object) -> int:
    decode = decoder.decode  # type: ignore[attr-defined]
    rows = 0
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                decode(line)
                rows += 1
    return rows


def _orjson_all(path: Path) -> int:
    rows = 0
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                orjson.loads(line)
                rows += 1
    return rows


def _case(args: tuple[str, str, Path]) -> dict[str, object]:
    case, kind, path = args
    from nightjar.io import ecs_ndjson, flat_ndjson

    work = {"reader": lambda: _reader_rows(path), "arrow": lambda: _arrow_all(path), "orjson": lambda: _orjson_all(path),
            "arrow_ecs": lambda: _arrow_ecs(path), "msgspec_flat": lambda: _msgspec_all(path, flat_ndjson.FIELDS.decoder),
            "msgspec_ecs": lambda: _msgspec_all(path, ecs_ndjson.FIELDS.decoder)}[kind]
    return _measure(case, work, path.stat().st_size)


def build_ecs_ndjson(compact: Path, folder: Path) -> Path:
    """The compact Sysmon events as flat ECS NDJSON (dotted keys), the shape Elastic exports."""
    from nightjar.io import read_table

    table, _ = read_table(compact)
    path = folder / "ecs_flat.ndjson"
    with path.open("wb") as out:
        for row in table.to_pylist():
            row["@timestamp"] = row["@timestamp"].isoformat().replace("+00:00", "Z") if row["@timestamp"] else None
            out.write(orjson.dumps({k: v for k, v in row.items() if v is not None}) + b"\n")
    return path


def run() -> list[dict[str, object]]:
    """One row per case; each case runs in a fresh process so that peak RSS is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        evtx_path = build_evtx(folder)
        flat, compact = build_ndjson(folder)
        ecs = build_ecs_ndjson(compact, folder)
        cases = [("evtx_records (reader, all records)", "reader", evtx_path),
                 ("otrf_ndjson_parse_all (pyarrow, explicit schema)", "arrow", flat),
                 ("otrf_ndjson_parse_all (orjson per line)", "orjson", flat),
                 ("otrf_ndjson_parse_all (msgspec, reader's fields)", "msgspec_flat", flat),
                 ("otrf_ndjson_reader (process-creation extraction, all events)", "reader", flat),
                 ("compact_ndjson_parse (pyarrow, explicit schema)", "arrow", compact),
                 ("compact_ndjson_parse (orjson per line)", "orjson", compact),
                 ("compact_ndjson_parse (msgspec, reader's fields)", "msgspec_flat", compact),
                 ("compact_ndjson_reader (Sysmon 1 only)", "reader", compact),
                 ("ecs_flat_ndjson_parse (pyarrow, explicit schema)", "arrow_ecs", ecs),
                 ("ecs_flat_ndjson_parse (orjson per line)", "orjson", ecs),
                 ("ecs_flat_ndjson_parse (msgspec, reader's fields)", "msgspec_ecs", ecs),
                 ("ecs_flat_ndjson_reader (flat ECS process events)", "reader", ecs)]
        context = multiprocessing.get_context("fork")
        rows = []
        for case in cases:
            with context.Pool(1) as pool:
                rows.append(pool.apply(_case, (case,)))
        return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']:<64} {row['rows']:>9,} rows {row['seconds']:>7.2f} s {row['rows_per_s']:>9,}/s "
              f"({row['rows_per_cpu_s']:>9,}/CPU-s) {row['mb_per_s']:>7} MB/s  peak RSS {row['peak_rss_mb']} MB")
