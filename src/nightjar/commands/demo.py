"""`nightjar demo`: the most complete job Nightjar can run today, on sample telemetry it makes itself."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import typer

from nightjar.cli import app
from nightjar.console import out


@dataclass
class DemoResult:
    """What the demo made: the sample files, the report pages and the profile's headline numbers."""

    files: list[Path]
    html: Path
    json: Path
    rows: int
    rejected: int
    kinds: dict[str, int]
    skipped: int
    seconds: float


def run_demo(out_dir: Path, seed: int = 0) -> DemoResult:
    """Write the sample telemetry under `out_dir/telemetry`, profile it, write `profile.html` and `profile.json`."""
    from nightjar.data import profile_paths
    from nightjar.data.profile_report import write_json, write_profile_html
    from nightjar.lab import write_sample

    started = time.perf_counter()
    files = write_sample(out_dir / "telemetry", seed=seed)
    profile = profile_paths([out_dir / "telemetry"], show_progress=True)
    html = write_profile_html(profile, out_dir / "profile.html", title="Nightjar demo: profile of the sample telemetry")
    json = write_json(profile, out_dir / "profile.json")
    data = profile.as_dict()
    return DemoResult(files, html, json, profile.rows, int(data["rejected"]),
                      {name: k.rows for name, k in profile.kinds.items()}, len(profile.skipped), time.perf_counter() - started)


@app.command("demo")
def demo(
    out_dir: Path = typer.Option(Path("nightjar-demo"), "--out", help="Folder for the sample telemetry and the reports."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample telemetry (same seed, same files)."),
) -> None:
    """Make sample telemetry, profile it and write an HTML report: a tour of what Nightjar does today.

    Example:
        nightjar demo --out /tmp/nightjar-demo
    """
    result = run_demo(out_dir, seed)
    kinds = ", ".join(f"{name} {rows:,}" for name, rows in result.kinds.items()) or "none"
    lines = [
        f"Sample telemetry: {len(result.files)} files in {out_dir / 'telemetry'}",
        f"Profiled {result.rows:,} events ({kinds}); {result.rejected:,} malformed records rejected"
        + (f"; {result.skipped} file{'s' * (result.skipped != 1)} skipped (no reader recognises it yet)" if result.skipped else ""),
        f"Report: {result.html}",
        f"JSON:   {result.json}",
        f"Done in {result.seconds:.1f} s",
    ]
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)
