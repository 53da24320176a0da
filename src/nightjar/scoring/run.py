"""`run_score`: read inputs, score them in batches with one detector, write one row per input record.

The plain function behind `nightjar score`, tested without the CLI. Records keep input order; a
record the detector cannot score keeps its row with an empty score, `alert` false and the reason in
`reasons`; records a reader could not parse at all (e.g. a CSV row with the wrong number of fields)
are counted as rejected. Always: read = scored + rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.errors import InputError
from nightjar.io.base import Batch
from nightjar.io.writers import TableSink, output_format, write_table

#: reader notes ("N non-process-creation events ignored", truncated inputs, ...) that a score summary lists
MAX_READER_NOTES = 10

if TYPE_CHECKING:
    from nightjar.io import Reading


@dataclass
class ScoreSummary:
    """What a scoring run did: records read, scored, rejected (read = scored + rejected), alerts."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    alerts: int = 0
    #: per summary view written: {"rows": n, "alerts": rows flagged by the view's own alert column, else rows whose `alerts` count > 0}
    views: dict[str, dict[str, int]] = field(default_factory=dict)
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
              threshold: float | None = None, batch_rows: int | None = None,
              show_progress: bool = False, detector: Detector | None = None,
              views: dict[str, str | Path] | None = None, state: str | Path | None = None,
              read_ahead: bool | None = None) -> ScoreSummary:
    """Score every record of `inputs` with the `detector_kind` model and write them to `out`.

    `views` ({name: path}) also writes summary tables of the scored records that the detector builds
    with `summary_view(name, scored)` (lotl: "trees", one row per suspicious process tree). A detector
    with `observe(events)` learns each batch after scoring it (stream state such as lotl's rarity);
    `state` is a file that state starts from (when it exists) and is saved to after the run, so the
    learning carries across runs (detectors with `load_state`/`save_state`).

    `read_ahead` parses each input in a child process while the previous batch is scored (see
    `nightjar.io.read_ahead`); None: `read_ahead.worth_it` per input (a large EVTX when fork and two
    CPUs are usable). Output and accounting are the same either way at equal `batch_rows`; None: the
    whole input in one batch up to 65,536 rows, `read_ahead.BATCH_ROWS` when reading ahead.
    """
    output_format(out)  # a bad extension is a usage error before any work
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
    if state is not None:
        if not hasattr(detector, "load_state"):
            raise InputError(f"the {detector.kind} detector keeps no stream state: --state is for lotl (its per-host rarity)")
        if Path(state).exists():
            detector.load_state(Path(state))
    summary = ScoreSummary(model=ref, threshold=float(detector.threshold_))
    for name in views or {}:
        if name not in getattr(detector, "summary_views", ()):
            raise InputError(f"the {detector.kind} detector has no {name} view")
    if detector.aggregates:
        return _run_aggregating(detector, inputs, out, batch_rows, show_progress, summary, read_ahead)
    frames: list[pd.DataFrame] = []
    other_kinds: set[str] = set()
    reader_rejected = 0
    sink = TableSink(out)  # a CSV is written batch by batch, while the next is read
    try:
        with closing(_batches(inputs, detector, batch_rows, show_progress, summary, read_ahead)) as batches:
            for batch, reading in batches:  # closed at once on an error: a read-ahead child ends with it
                if batch is None:
                    reader_rejected += int(reading.totals().get("rejected", 0))
                    summary.skipped_files += list(reading.skipped)
                    continue
                if batch.kind not in detector.reads:
                    other_kinds.add(batch.kind)
                    continue
                frame = batch.frame()
                scored = score_frame(detector, frame)
                frames.append(scored)
                sink.add(scored)
                if hasattr(detector, "observe"):
                    detector.observe(frame)
    except BaseException:
        sink.discard()
        raise
    if not frames and other_kinds:
        sink.discard()
        raise InputError(f"no {' or '.join(detector.reads)} records in the input (found {', '.join(sorted(other_kinds))} records)")
    if other_kinds:
        summary.notes.append(f"skipped {', '.join(sorted(other_kinds))} records: the {detector.kind} detector does not read them")
    result = pd.concat(frames, ignore_index=True) if frames else _empty(detector)
    bad = result[SCORE].isna()
    summary.scored = int((~bad).sum())
    summary.rejected = int(bad.sum()) + reader_rejected
    summary.read = summary.scored + summary.rejected
    summary.alerts = int(result[ALERT].sum())
    sink.close(result)
    if state is not None:
        detector.save_state(Path(state))  # type: ignore[attr-defined]
    for name, view_path in (views or {}).items():
        view = detector.summary_view(name, result)  # type: ignore[attr-defined]
        flags = [c for c in view.columns if c == ALERT or str(c).endswith("_alert")]
        if flags:
            alerting = int(view[flags[0]].sum()) if len(view) else 0
        else:  # views without a flag column (lotl trees) count their rows holding an alert
            alerting = int((pd.to_numeric(view["alerts"], errors="coerce") > 0).sum()) if "alerts" in view.columns else 0
        summary.views[name] = {"rows": len(view), "alerts": alerting}
        if view.empty:
            summary.notes.append(f"the {name} view is empty: see `nightjar score --help` for the input it needs")
        write_table(view, view_path)
    return summary


def _run_aggregating(detector: Detector, inputs: list[str | Path], out: str | Path, batch_rows: int | None,
                     show_progress: bool, summary: ScoreSummary, read_ahead: bool | None = None) -> ScoreSummary:
    """Score with a detector that turns many events into one row per entity (beacon: per pair).

    Every batch of the kinds it reads goes into its `aggregator()` state (`add(kind, table,
    source)`); `finish(state)` gives the rows. Without an aggregator, the batches are concatenated
    and scored at once. Accounting counts input records: read = taken in + rejected by the reader.
    """
    state = detector.aggregator() if hasattr(detector, "aggregator") else None
    held: list[pd.DataFrame] = []
    other_kinds: set[str] = set()
    with closing(_batches(inputs, detector, batch_rows, show_progress, summary, read_ahead)) as batches:
        for batch, reading in batches:
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


def _batches(inputs: list[str | Path], detector: Detector, batch_rows: int | None, show_progress: bool,
             summary: ScoreSummary, read_ahead: bool | None = None) -> Iterator[tuple[Batch | None, Reading]]:
    """Batches of every input in order, then (None, reading) per input for its accounting.

    Readers that can project read only the detector's `input_fields` (beacon: the conn, http, ssl
    and dns columns it uses).

    An explicitly named plain-text file that no reader recognises (e.g. a list of mostly
    internationalised or malformed names) is read as a domain list, one record per line, when the
    detector reads domains: the detector then judges each line.

    `read_ahead` (None: `read_ahead.worth_it` per input) parses in a child process, in batches of
    `read_ahead.BATCH_ROWS` unless `batch_rows` is given; the list fallback reads in-process.
    """
    from nightjar.io import Reading, read_ahead as ahead
    from nightjar.io.base import DEFAULT_BATCH_ROWS
    from nightjar.io.lists import ListLayout, read_list
    from nightjar.io.report import ReadReport
    from nightjar.io.sources import expand

    for path in inputs:
        child = (ahead.worth_it([Path(path)]) if read_ahead is None else read_ahead) and ahead.available()
        rows = batch_rows or (ahead.BATCH_ROWS if child else DEFAULT_BATCH_ROWS)
        reading = Reading([Path(path)], batch_rows=rows, show_progress=show_progress, fields=detector.input_fields,
                          read_ahead=child)
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
            for batch in read_list(source, report, ListLayout("domain", "text"), rows):
                yield batch, reading
        summary.notes += _reader_notes(reading)
        yield None, reading


def _reader_notes(reading: Reading, most: int = MAX_READER_NOTES) -> list[str]:
    """What the readers noted per source ("a.evtx: 52,347 non-process-creation events ignored", truncated
    inputs, ...), the first `most` of them and how many more."""
    notes = [f"{report.source}: {note}" for report in reading.reports for note in report.notes]
    if len(notes) > most:
        notes = [*notes[:most], f"{len(notes) - most:,} more reader notes: `nightjar profile` lists every source's"]
    return notes


def score_frame(detector: Detector, frame: pd.DataFrame) -> pd.DataFrame:
    """Score one batch; contract columns first (e.g. domain, score, alert, reasons), then the input's others."""
    scored = detector.score(frame)
    first = [c for c in (*detector.output_columns, SCORE, ALERT, REASONS) if c in scored.columns]
    return scored[first + [c for c in scored.columns if c not in first]].reset_index(drop=True)


def _empty(detector: Detector) -> pd.DataFrame:
    columns = {c: pd.Series(dtype=object) for c in detector.output_columns}
    return pd.DataFrame({**columns, SCORE: pd.Series(dtype=float), ALERT: pd.Series(dtype=bool), REASONS: pd.Series(dtype=object)})
