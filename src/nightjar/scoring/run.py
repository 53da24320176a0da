"""`run_score`: read inputs, score them in batches with one detector, write one row per input record.

The plain function behind `nightjar score`, tested without the CLI. Records keep input order; a
record the detector cannot score keeps its row with an empty score, `alert` false and the reason in
`reasons`; records a reader could not parse at all (e.g. a CSV row with the wrong number of fields)
are counted as rejected. Always: read = scored + rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.errors import InputError
from nightjar.io.base import Batch
from nightjar.io.writers import output_format, write_table

if TYPE_CHECKING:
    from nightjar.io import Reading


@dataclass
class ScoreSummary:
    """What a scoring run did: records read, scored, rejected (read = scored + rejected), alerts."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    alerts: int = 0
    hosts: int | None = None
    host_alerts: int | None = None
    model: str = ""
    threshold: float | None = None
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def load_scoring_detector(kind: str, model_spec: str | None = None) -> tuple[Detector, str]:
    """The detector for `kind` from the registry (default: `<kind>` = its production alias) or a folder."""
    spec = model_spec or kind
    from nightjar.registry import load_model

    loaded = load_model(spec)
    if loaded.manifest.kind != kind:
        raise InputError(f"model {spec!r} is a {loaded.manifest.kind!r} model, not {kind!r}")
    return loaded.detector, loaded.ref


def run_score(detector_kind: str, inputs: list[str | Path], out: str | Path, model_spec: str | None = None,
              threshold: float | None = None, hosts_out: str | Path | None = None, batch_rows: int = 65536,
              show_progress: bool = False, detector: Detector | None = None,
              views: dict[str, str | Path] | None = None) -> ScoreSummary:
    """Score every record of `inputs` with the `detector_kind` model and write them to `out`.

    `views` ({name: path}) also writes summary tables of the scored records that the detector builds
    with `summary_view(name, scored)` (lotl: "trees", one row per suspicious process tree). A detector
    with `observe(events)` learns each batch after scoring it (stream state such as lotl's rarity).
    """
    output_format(out)  # a bad extension is a usage error before any work
    if hosts_out is not None:
        output_format(hosts_out)
    for view_path in (views or {}).values():
        output_format(view_path)
    for p in inputs:
        if not Path(p).exists():
            raise InputError(f"{p}: no such file or folder")
    ref = "given"
    if detector is None:
        detector, ref = load_scoring_detector(detector_kind, model_spec)
    if threshold is not None:
        detector.threshold_ = float(threshold)
    summary = ScoreSummary(model=ref, threshold=float(detector.threshold_))
    for name in views or {}:
        if name not in getattr(detector, "summary_views", ()):
            raise InputError(f"the {detector.kind} detector has no {name} view")
    if detector.aggregates:
        return _run_aggregating(detector, inputs, out, batch_rows, show_progress, summary)
    frames: list[pd.DataFrame] = []
    dns_parts: list[pd.DataFrame] = []
    other_kinds: set[str] = set()
    reader_rejected = 0
    for batch, reading in _batches(inputs, detector, batch_rows, show_progress, summary):
        if batch is None:
            reader_rejected += int(reading.totals().get("rejected", 0))
            summary.skipped_files += list(reading.skipped)
            continue
        if batch.kind not in detector.reads:
            other_kinds.add(batch.kind)
            continue
        frame = batch.table.to_pandas()
        scored = score_frame(detector, frame)
        frames.append(scored)
        if hasattr(detector, "observe"):
            detector.observe(frame)
        if batch.kind == "dns" and "source.ip" in frame.columns:
            dns_parts.append(_dns_slice(scored))
    if not frames and other_kinds:
        raise InputError(f"no domain names in the input (found {', '.join(sorted(other_kinds))} records); "
                         "give a domain list, a CSV with a domain or dns.question.name column, a Zeek dns.log or ECS DNS events")
    if other_kinds:
        summary.notes.append(f"skipped {', '.join(sorted(other_kinds))} records: the {detector.kind} detector does not read them")
    result = pd.concat(frames, ignore_index=True) if frames else _empty(detector)
    bad = result[SCORE].isna()
    summary.scored = int((~bad).sum())
    summary.rejected = int(bad.sum()) + reader_rejected
    summary.read = summary.scored + summary.rejected
    summary.alerts = int(result[ALERT].sum())
    write_table(result, out)
    for name, view_path in (views or {}).items():
        write_table(detector.summary_view(name, result), view_path)  # type: ignore[attr-defined]
    if hosts_out is not None:
        from nightjar.detectors.dga.hosts import host_view

        dns = pd.concat(dns_parts, ignore_index=True) if dns_parts else pd.DataFrame()
        hosts = host_view(dns, detector.threshold_)
        summary.hosts, summary.host_alerts = len(hosts), int(hosts["host_alert"].sum()) if len(hosts) else 0
        if dns.empty:
            summary.notes.append("host view is empty: it needs DNS events with source.ip (Zeek dns.log or ECS DNS)")
        write_table(hosts, hosts_out)
    return summary


def _run_aggregating(detector: Detector, inputs: list[str | Path], out: str | Path, batch_rows: int,
                     show_progress: bool, summary: ScoreSummary) -> ScoreSummary:
    """Score with a detector that turns many events into one row per entity (beacon: per pair).

    Every batch of the kinds it reads goes into its `aggregator()` state (`add(kind, table,
    source)`); `finish(state)` gives the rows. Without an aggregator, the batches are concatenated
    and scored at once. Accounting counts input records: read = taken in + rejected by the reader.
    """
    state = detector.aggregator() if hasattr(detector, "aggregator") else None
    held: list[pd.DataFrame] = []
    other_kinds: set[str] = set()
    for batch, reading in _batches(inputs, detector, batch_rows, show_progress, summary):
        if batch is None:
            summary.rejected += int(reading.totals().get("rejected", 0))
            summary.skipped_files += list(reading.skipped)
            continue
        if batch.kind not in detector.reads:
            other_kinds.add(batch.kind)
            continue
        summary.scored += batch.table.num_rows
        if state is not None:
            state.add(batch.kind, batch.table, batch.source)
        else:
            held.append(batch.table.to_pandas().assign(**{"event.dataset": f"zeek.{batch.kind}"}))
    if not summary.scored and other_kinds:
        raise InputError(f"no {' or '.join(detector.reads)} records in the input (found {', '.join(sorted(other_kinds))})")
    if other_kinds:
        summary.notes.append(f"skipped {', '.join(sorted(other_kinds))} records: the {detector.kind} detector does not read them")
    result = detector.finish(state) if state is not None else detector.score(pd.concat(held, ignore_index=True) if held else pd.DataFrame())
    summary.read = summary.scored + summary.rejected
    summary.alerts = int(result[ALERT].sum())
    summary.notes += list(getattr(detector, "notes_", []))
    write_table(result, out)
    return summary


def _batches(inputs: list[str | Path], detector: Detector, batch_rows: int, show_progress: bool,
             summary: ScoreSummary) -> Iterator[tuple[Batch | None, Reading]]:
    """Batches of every input in order, then (None, reading) per input for its accounting.

    An explicitly named plain-text file that no reader recognises (e.g. a list of mostly
    internationalised or malformed names) is read as a domain list, one record per line, when the
    detector reads domains: the detector then judges each line.
    """
    from nightjar.io import Reading
    from nightjar.io.lists import ListLayout, read_list
    from nightjar.io.report import ReadReport
    from nightjar.io.sources import expand

    for path in inputs:
        reading = Reading([Path(path)], batch_rows=batch_rows, show_progress=show_progress)
        try:
            for batch in reading:
                yield batch, reading
        except InputError as exc:
            source = next(iter(expand([Path(path)])), None)
            if "unknown format" not in exc.message or source is None or "domain" not in detector.reads or b"\0" in source.head(4096):
                raise
            report = ReadReport(source.name)
            reading.reports.append(report)
            summary.notes.append(f"{source.name}: not recognised as a list; read as one domain per line")
            for batch in read_list(source, report, ListLayout("domain", "text"), batch_rows):
                yield batch, reading
        yield None, reading


def score_frame(detector: Detector, frame: pd.DataFrame) -> pd.DataFrame:
    """Score one batch; contract columns first (e.g. domain, score, alert, reasons), then the input's others."""
    if detector.kind != "dga":
        scored = detector.score(frame)
        first = [c for c in (*detector.output_columns, SCORE, ALERT, REASONS) if c in scored.columns]
        return scored[first + [c for c in scored.columns if c not in first]].reset_index(drop=True)
    from nightjar.detectors.dga.detector import input_column

    column = input_column(frame)
    values = frame[column].astype("string").to_numpy(dtype=object, na_value=None)
    names, score, alert, reasons = detector.score_values(values)  # type: ignore[attr-defined]
    raw = pd.Series(values, dtype=object).fillna("")
    head = pd.DataFrame({"domain": raw.to_numpy(), SCORE: score, ALERT: alert.astype(bool), REASONS: reasons})
    rest = frame.drop(columns=[c for c in ("domain", SCORE, ALERT, REASONS) if c in frame.columns]).reset_index(drop=True)
    rest = rest.rename(columns={c: f"input.{c}" for c in rest.columns if c in head.columns})
    head["domain.normalized"] = np.where(pd.isna(score), None, names)
    return pd.concat([head, rest], axis=1)


def _dns_slice(scored: pd.DataFrame) -> pd.DataFrame:
    keep = ["source.ip", "domain.normalized", SCORE, ALERT]
    part = scored[[c for c in keep if c in scored.columns]].copy()
    part["dns.response_code"] = scored["dns.response_code"] if "dns.response_code" in scored.columns else None
    return part


def _empty(detector: Detector) -> pd.DataFrame:
    return pd.DataFrame({"domain": pd.Series(dtype=object), SCORE: pd.Series(dtype=float),
                         ALERT: pd.Series(dtype=bool), REASONS: pd.Series(dtype=object)})
