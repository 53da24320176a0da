"""The demo: generate the lab (once), scan it with the shipped models, score the alerts against the truth,
and write one self-contained HTML report (results, planted attacks, false positives, telemetry profile).
With two days or more, the operations act of `demo_ops` runs too: a DGA candidate retrained on day 1 is
shadowed from day 2 on, and the report gains the shadow report and the monitoring summary.

The demo keeps its own registry (`<out>/registry`, rebuilt from the shipped models on every run) and
its own alert store (`<out>/alerts.db`, emptied on every run), so it never touches the user's.

The lab is cached in `<out>/lab`: it is generated again only when `lab.json` is missing or names
another lab version or other parameters, or a file it lists is gone or has another size.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup

from nightjar.lab.evaluate import DetectorResult, evaluate_alerts, get
from nightjar.lab.truth import Truth, read_truth
from nightjar.lab.world import LAB_VERSION, LabConfig


@dataclass
class DemoResult:
    """What the demo did and found."""

    out: Path
    lab_dir: Path
    cached: bool
    config: LabConfig
    truth: Truth
    results: dict[str, DetectorResult]
    scan: dict[str, Any]
    html: Path
    json: Path
    alerts_file: Path
    seconds: dict[str, float] = field(default_factory=dict)
    ops: Any = None  # demo_ops.OpsResult when the lab has a second day


def cached_lab(lab_dir: Path, config: LabConfig) -> bool:
    """True when `lab_dir` holds the lab of `config` at this lab version, every file in place."""
    manifest = lab_dir / "lab.json"
    if not manifest.is_file() or not (lab_dir / "truth.json").is_file():
        return False
    try:
        data = orjson.loads(manifest.read_bytes())
    except orjson.JSONDecodeError:
        return False
    if data.get("version") != LAB_VERSION or data.get("config") != asdict(config):
        return False
    return all((lab_dir / name).is_file() and (lab_dir / name).stat().st_size == f["bytes"] for name, f in data["files"].items())


def ensure_lab(lab_dir: Path, config: LabConfig) -> bool:
    """Generate the lab into `lab_dir` unless it is cached; returns True when the cache was used."""
    from nightjar.lab.generate import generate_lab

    if cached_lab(lab_dir, config):
        return True
    if (lab_dir / "telemetry").exists():
        shutil.rmtree(lab_dir / "telemetry")  # no stale files from another lab
    generate_lab(lab_dir, config)
    return False


def read_alerts(path: Path) -> list[dict[str, Any]]:
    """The alert documents of an NDJSON file."""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def run_demo(out: str | Path, config: LabConfig = LabConfig(), show_progress: bool = False, profile: bool = True,
             shadow_fraction: float = 1.0) -> DemoResult:
    """Generate (or reuse) the lab under `out/lab`, scan it, evaluate, and write `out/report.html` and `out/report.json`."""
    from nightjar.lab import demo_ops
    from nightjar.scoring.scan import run_scan

    out = Path(out)
    lab_dir = out / "lab"
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    cached = ensure_lab(lab_dir, config)
    seconds["lab"] = time.perf_counter() - t
    truth = read_truth(lab_dir / "truth.json")
    t = time.perf_counter()
    store = out / "alerts.db"
    for stale in (store, store.with_name("alerts.db-wal"), store.with_name("alerts.db-shm")):
        stale.unlink(missing_ok=True)  # one run, one store: the monitoring summary is this run's
    ops, hooks = None, []
    if config.days >= 2:
        ops, hook, models = demo_ops.prepare(out, lab_dir / "telemetry", str(truth.config["start"]), fraction=shadow_fraction)
        hooks.append(hook)
    else:
        models = demo_ops.production_models(demo_ops.demo_registry(out))
    seconds["candidate"] = time.perf_counter() - t
    t = time.perf_counter()
    alerts_file = out / "alerts.ndjson"
    summary = run_scan([lab_dir / "telemetry"], store=store, alerts_out=alerts_file, show_progress=show_progress,
                       models=models, hooks=hooks)
    scan = summary.as_dict()
    seconds["scan"] = time.perf_counter() - t
    if ops is not None:
        t = time.perf_counter()
        demo_ops.finish(ops, store)
        seconds["reports"] = time.perf_counter() - t
    alerts = read_alerts(alerts_file)
    results = evaluate_alerts(truth, alerts, detectors=list(scan.get("detectors", {})))
    t = time.perf_counter()
    profile_body = _profile_body(lab_dir / "telemetry") if profile else Markup("")
    seconds["profile"] = time.perf_counter() - t
    result = DemoResult(out, lab_dir, cached, config, truth, results, scan, out / "report.html", out / "report.json", alerts_file,
                        seconds, ops)
    from nightjar.lab.demo_report import write_report

    write_report(result, alerts, profile_body)
    return result


def _profile_body(telemetry: Path) -> Markup:
    """The profile page of the telemetry, without its own page frame, for a section of the report."""
    from nightjar.data import profile_paths
    from nightjar.data.profile_report import profile_html

    html = profile_html(profile_paths([telemetry], show_progress=False), title="profile")
    start, end = html.find("</h1>"), html.rfind("<footer")
    body = html[start + len("</h1>"): end] if start >= 0 and end > start else ""
    return Markup(body.replace("<h2>", "<h3>").replace("</h2>", "</h3>"))


def alert_hours(alerts: list[dict[str, Any]]) -> dict[str, dict[float, int]]:
    """Alerts per detector per hour (epoch hours) of the event they are about."""
    from nightjar.lab.evaluate import detector_of

    out: dict[str, dict[float, int]] = {}
    for doc in alerts:
        kind = detector_of(doc)
        stamp = get(doc, "@timestamp") or get(doc, "event.start")
        if not kind or not stamp:
            continue
        try:
            ts = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            continue
        hour = float(int(ts.replace(tzinfo=ts.tzinfo or UTC).timestamp() // 3600))
        out.setdefault(kind, {}).setdefault(hour, 0)
        out[kind][hour] += 1
    return out
