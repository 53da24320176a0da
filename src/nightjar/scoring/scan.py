"""`run_scan`: sniff every input, run every detector that applies, store and write the alerts.

Each file under the given paths is sniffed by `nightjar.io.Reading` and read in batches; each batch
goes to every selected detector whose `reads` holds the batch's event kind (lotl: process events; dga:
DNS logs and domain lists; url: URL lists, and Zeek http logs as `http://host/uri` URLs; beacon: conn
logs, with http/ssl/dns for names). Per-record detectors score batch by batch through
`score_frame` (the same code as `nightjar score`), so memory stays bounded by the batch size;
detectors with `aggregates = True` (beacon) are fed batch by batch through their `aggregator()`
state (`add(kind, table, source)`, then `finish(state)` gives one row per entity), or, without
one, get every event of their kinds at the end in one `score` call.

A kind read only by detectors that declare their `input_fields` (conn, ssl: beacon) is read with
just the union of those fields; a kind any other detector reads (dns: dga, http: url) is read whole.

Alerts become ECS documents (nightjar.scoring.ecs), go into the alert store (INSERT OR IGNORE on
the stable event.id: re-scanning adds nothing) and, when asked, to an NDJSON file (every alert found
by this scan, new or not).

Accounting, per record read by a reader: it is *scored* when at least one detector scored it (or an
aggregating detector took it in), otherwise *rejected*: malformed for the reader, not scorable by any
detector that read it (an IP where a domain belongs), or of a kind no selected detector reads (the
reason says which). Always read = scored + rejected. Files no reader recognises, unreadable files and
archives that cannot be opened are skipped and listed; a file that breaks off (a half-written gzip)
keeps the records before the break and is listed as incomplete.

Example:
    >>> summary = run_scan(["logs/"], store="alerts.db", alerts_out="alerts.ndjson")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from nightjar import progress
from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector, available_kinds
from nightjar.errors import InputError, NightjarError
from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch
from nightjar.scoring.ecs import IDENTITY_COLUMNS, alert_document
from nightjar.scoring.run import load_scoring_detector, score_frame
from nightjar.scoring.scan_summary import ScanSummary
from nightjar.scoring.store import AlertStore, default_store_path


def _http_urls(frame: pd.DataFrame) -> pd.DataFrame:
    """Zeek http: `url` = http://host + uri (a proxy's absolute URI is kept as it is)."""
    host = frame.get("url.domain", pd.Series("", index=frame.index)).fillna("").astype(str)
    uri = frame.get("url.original", pd.Series("", index=frame.index)).fillna("").astype(str)
    absolute = uri.str.contains("://", regex=False)
    url = np.where(absolute, uri, "http://" + host + np.where(uri.str.startswith("/") | (uri == ""), uri, "/" + uri))
    out = frame.copy()
    out["url"] = np.where((host == "") & ~absolute, None, url)
    return out


#: batch kind -> (kind a detector may read instead, conversion): an http log is also a URL list
DERIVED: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {"http": ("url", _http_urls)}


@dataclass
class _Loaded:
    detector: Detector
    ref: str

    @property
    def kind(self) -> str:
        return self.detector.kind


@dataclass
class _Scan:
    """The state of one scan: detectors, sinks, counts, and the events held for aggregating detectors."""

    detectors: list[_Loaded]
    store: AlertStore
    ndjson: BinaryIO | None
    job_id: int
    summary: ScanSummary
    held: dict[str, Any] = field(default_factory=dict)  # kind -> aggregator state, or the held tables
    entities: dict[str, Any] = field(default_factory=dict)  # kind -> entity accumulator (dga: hosts)
    hooks: list[Any] = field(default_factory=list)  # see `run_scan(hooks=...)`

    def route(self, kind: str) -> tuple[list[tuple[_Loaded, Callable[[pd.DataFrame], pd.DataFrame] | None]], list[_Loaded]]:
        """(per-record detectors with the conversion to apply, aggregating detectors) for a batch kind."""
        per_record, aggregating = [], []
        for det in self.detectors:
            reads = det.detector.reads
            if getattr(det.detector, "aggregates", False):
                if kind in reads:
                    aggregating.append(det)
            elif kind in reads:
                per_record.append((det, None))
            elif kind in DERIVED and DERIVED[kind][0] in reads:
                per_record.append((det, DERIVED[kind][1]))
        return per_record, aggregating

    def fields(self) -> dict[str, frozenset[str]]:
        """Per event kind, the fields to read: the union of the `input_fields` of the detectors that
        read the kind, when every one of them declares its fields (other kinds are read in full)."""
        out: dict[str, frozenset[str]] = {}
        for kind in sorted({k for det in self.detectors for k in det.detector.input_fields or {}}):
            per_record, aggregating = self.route(kind)
            declared = [(det.detector.input_fields or {}).get(kind) for det in [d for d, _ in per_record] + aggregating]
            if declared and None not in declared:
                out[kind] = frozenset().union(*declared)  # type: ignore[arg-type]
        return out

    def batch(self, batch: Batch, source: str) -> None:
        """Score one batch with every detector that reads it; store and write its alerts."""
        n = batch.table.num_rows
        per_input = self.summary.input(source)
        per_input.kinds[batch.kind] = per_input.kinds.get(batch.kind, 0) + n
        per_record, aggregating = self.route(batch.kind)
        scored_any = np.zeros(n, dtype=bool)
        frame = batch.frame() if per_record else None
        for det, convert in per_record:
            events = convert(frame) if convert else frame
            clock = time.perf_counter()
            scored = score_frame(det.detector, events)
            if hasattr(det.detector, "observe"):  # stream state (lotl's per-host rarity) learns after scoring
                det.detector.observe(events)
            self.observe(det, events, scored, time.perf_counter() - clock, source)
            if hasattr(det.detector, "entity_accumulator"):
                if det.kind not in self.entities:
                    self.entities[det.kind] = det.detector.entity_accumulator()
                self.entities[det.kind].add(scored)
            ok = scored[SCORE].notna().to_numpy()
            scored_any |= ok
            counts = self.summary.detector(det.kind, det.ref)
            counts.records += n
            counts.scored += int(ok.sum())
            counts.rejected += int(n - ok.sum())
            hits = np.flatnonzero(scored[ALERT].to_numpy(dtype=bool))
            if len(hits):
                extra_cols = [c for c in scored.columns if c not in events.columns and c not in (SCORE, ALERT, REASONS)
                              and not c.startswith("input.")]
                records = events.iloc[hits].to_dict(orient="records")
                extras = scored.iloc[hits][extra_cols].to_dict(orient="records")
                docs = [alert_document(det.kind, det.ref, rec, float(s), str(r), ext, source)
                        for rec, ext, s, r in zip(records, extras, scored[SCORE].to_numpy()[hits], scored[REASONS].to_numpy()[hits])]
                self.emit(det.kind, docs, source)
        for det in aggregating:
            if hasattr(det.detector, "aggregator"):  # streaming: per-entity state, fed batch by batch
                if det.kind not in self.held:
                    self.held[det.kind] = det.detector.aggregator()
                self.held[det.kind].add(batch.kind, batch.table, source)
            else:
                table = batch.table
                if "event.dataset" not in table.column_names:
                    table = table.append_column("event.dataset", pa.array([f"zeek.{batch.kind}"] * n, pa.string()))
                self.held.setdefault(det.kind, []).append(table)
            self.summary.detector(det.kind, det.ref).records += n
            scored_any[:] = True
        if not per_record and not aggregating:
            self.summary.reject(f"no selected detector reads {batch.kind} records", n)
        elif (~scored_any).any():
            self.summary.reject("no detector could score the record (see the detector's reasons)", int((~scored_any).sum()))
        self.summary.scored += int(scored_any.sum())
        per_input.scored += int(scored_any.sum())
        per_input.rejected += int(n - scored_any.sum())

    def finish_aggregates(self) -> None:
        """Score every held event with each aggregating detector (one row per entity)."""
        for det in self.detectors:
            held = self.held.pop(det.kind, None)
            if not getattr(det.detector, "aggregates", False) or held is None:
                continue
            clock = time.perf_counter()
            if hasattr(det.detector, "aggregator"):
                scored = det.detector.finish(held)
            else:
                events = pa.concat_tables(held, promote_options="permissive").to_pandas()
                del held
                scored = det.detector.score(events)
            self.observe(det, None, scored, time.perf_counter() - clock, None)
            counts = self.summary.detector(det.kind, det.ref)
            ok = scored[SCORE].notna().to_numpy()
            counts.scored += int(ok.sum())  # rows = entities (e.g. pairs), not events
            counts.rejected += int((~ok).sum())
            counts.entities = len(scored)
            hits = scored[scored[ALERT].astype(bool)]
            keys = IDENTITY_COLUMNS.get(det.kind) or det.detector.output_columns
            docs = []
            for row in hits.to_dict(orient="records"):
                record = {k: row[k] for k in det.detector.output_columns if k in row and "." in k}  # ECS fields
                if "@timestamp" not in row and "last_seen" in row:
                    record["@timestamp"] = row["last_seen"]
                identity = {k: row[k] for k in keys if k in row}
                extra = {k: v for k, v in row.items() if k not in record and k not in (SCORE, ALERT, REASONS)}
                docs.append(alert_document(det.kind, det.ref, record, float(row[SCORE]), str(row[REASONS]), extra,
                                           identity=identity))
            self.emit(det.kind, docs, None)

    def finish_entities(self) -> None:
        """Alerts about entities seen across many records (e.g. a host resolving many DGA-like names)."""
        for det in self.detectors:
            accumulator = self.entities.pop(det.kind, None)
            if accumulator is None:
                continue
            rows = accumulator.finish()
            hits = rows[rows[ALERT].astype(bool)] if len(rows) else rows
            docs = []
            for row in hits.to_dict(orient="records"):
                record = {k: v for k, v in row.items() if "." in k}  # the ECS fields (source.ip)
                extra = {k: v for k, v in row.items() if k not in record and k not in (SCORE, ALERT, REASONS)}
                docs.append(alert_document(det.kind, det.ref, record, float(row[SCORE]), str(row[REASONS]), extra,
                                           identity={**record, "entity": "host"}))
            self.summary.detector(det.kind, det.ref).entity_alerts = len(docs)
            self.emit(det.kind, docs, None)

    def observe(self, det: _Loaded, events: pd.DataFrame | None, scored: pd.DataFrame, seconds: float, source: str | None) -> None:
        """Hand one scored batch to the hooks (events None: an aggregating detector's rows)."""
        for hook in self.hooks:
            hook.scored(det.kind, det.ref, events, scored, seconds, source)

    def close_hooks(self) -> None:
        """Let each hook finish (e.g. a shadow worker drains its queue); their notes go into the summary."""
        for hook in self.hooks:
            self.summary.notes.extend(hook.close())

    def emit(self, kind: str, docs: list[dict[str, Any]], source: str | None) -> None:
        """Store the alerts (duplicates ignored) and append them to the NDJSON file."""
        new = self.store.add_alerts(docs, self.job_id)
        counts = self.summary.detectors[kind]
        counts.alerts += len(docs)
        counts.new_alerts += new
        self.summary.alerts += len(docs)
        self.summary.new_alerts += new
        if source is not None:
            self.summary.input(source).alerts += len(docs)
        if self.ndjson is not None:
            self.ndjson.write(b"".join(orjson.dumps(d, default=str) + b"\n" for d in docs))


def load_detectors(kinds: list[str] | None, models: dict[str, str] | None = None,
                   given: dict[str, Detector] | None = None, notes: list[str] | None = None) -> list[_Loaded]:
    """The selected detectors with their models (default: every installed detector with a model).

    A detector asked for by name must load (its error is raised); one picked by default that has no
    model yet is left out with a note.
    """
    explicit = kinds is not None
    loaded = []
    for kind in kinds if explicit else available_kinds():
        if given and kind in given:
            loaded.append(_Loaded(given[kind], f"{kind}@given"))
            continue
        try:
            detector, ref = load_scoring_detector(kind, (models or {}).get(kind))
        except NightjarError as exc:
            if explicit:
                raise
            if notes is not None:
                notes.append(f"{kind} left out: {exc}")
            continue
        loaded.append(_Loaded(detector, ref))
    if not loaded:
        raise InputError("no detector to run: none is installed with a model" if not explicit else "no detector selected")
    return loaded


def input_files(paths: list[str | Path], summary: ScanSummary) -> Iterator[Path]:
    """Every file under `paths` once, in order (an archive is one file; members are read by Reading)."""
    from nightjar.io.sources import expand

    for raw in paths:
        if not Path(raw).exists():
            raise InputError(f"{raw}: no such file or folder")
    seen: set[Path] = set()
    for raw in paths:
        try:
            for source in expand([raw]):
                if source.path not in seen:
                    seen.add(source.path)
                    yield source.path
        except InputError as exc:  # e.g. an archive that cannot be listed
            summary.skip(str(exc.source.path if exc.source else raw), exc.message)


def run_scan(paths: list[str | Path], store: str | Path | None = None, alerts_out: str | Path | None = None,
             detectors: list[str] | None = None, models: dict[str, str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS,
             show_progress: bool = False, given: dict[str, Detector] | None = None, hooks: list[Any] | None = None,
             state: str | Path | None = None) -> ScanSummary:
    """Scan `paths` with every applicable detector; alerts go to `store` and `alerts_out` (NDJSON).

    Detectors with a stream state (lotl's per-host rarity) learn from the scan; with `state`, a folder,
    each starts from `<state>/<kind>.json` when it exists and saves it there after the scan.

    `hooks` see every scored batch: objects with `start(store, job_id)`, `scored(kind, model_ref,
    events, scored, seconds, source)` and `close() -> notes`. The score-statistics hook of
    `nightjar.ops.stats` always runs (monitoring); `nightjar.ops.shadow.ShadowRunner` is another.
    """
    started = time.perf_counter()
    summary = ScanSummary(store=str(store or default_store_path()), alerts_file=str(alerts_out) if alerts_out else None)
    files = list(input_files(paths, summary))
    loaded = load_detectors(detectors, models, given, summary.notes)
    stateful = [d for d in loaded if hasattr(d.detector, "load_state")]
    if state is not None:
        for det in stateful:
            if (Path(state) / f"{det.kind}.json").exists():
                det.detector.load_state(Path(state) / f"{det.kind}.json")
    for det in loaded:
        summary.detector(det.kind, det.ref).threshold = float(getattr(det.detector, "threshold_", float("nan")))
    with ExitStack() as stack:
        db = stack.enter_context(AlertStore(summary.store))
        ndjson = stack.enter_context(open(alerts_out, "wb")) if alerts_out else None  # noqa: SIM115
        job = db.start_job("scan", [str(p) for p in paths], {d.kind: d.ref for d in loaded})
        from nightjar.ops.stats import ScoreStatsHook

        scan = _Scan(loaded, db, ndjson, job, summary, hooks=[ScoreStatsHook(), *(hooks or [])])
        for hook in scan.hooks:
            hook.start(db, job)
        try:
            _read_all(scan, files, batch_rows, show_progress)
            scan.finish_aggregates()
            scan.finish_entities()
        except BaseException:
            scan.close_hooks()
            db.finish_job(job, summary.as_dict(), status="failed")
            raise
        scan.close_hooks()
        if state is not None:
            Path(state).mkdir(parents=True, exist_ok=True)
            for det in stateful:
                det.detector.save_state(Path(state) / f"{det.kind}.json")
        summary.job_id = job
        summary.seconds = round(time.perf_counter() - started, 3)
        db.finish_job(job, summary.as_dict())
    return summary


def _read_all(scan: _Scan, files: list[Path], batch_rows: int, show_progress: bool) -> None:
    from nightjar.io import Reading

    sizes = {f: f.stat().st_size for f in files}
    fields = scan.fields()  # e.g. conn: the beacon detector's columns only
    with progress.bar(sum(sizes.values()) or None, "scanning") if show_progress else _quiet() as bar:
        for path in files:
            name = str(path)
            reading = Reading([path], batch_rows=batch_rows, show_progress=False, fields=fields)
            batches = iter(reading)
            done = 0
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except InputError as exc:
                    scan.summary.skip(name, exc.message) if not done else scan.summary.mark_incomplete(name, exc.message)
                    break
                except (OSError, pa.ArrowException, UnicodeError, ValueError) as exc:
                    why = f"cannot read: {type(exc).__name__}: {exc}"
                    scan.summary.skip(name, why) if not done else scan.summary.mark_incomplete(name, why)
                    break
                scan.batch(batch, name)
                done += batch.table.num_rows
                bar.advance(0, description=f"{path.name}: {done:,} records")
            for member, why in reading.skipped:
                scan.summary.skip(member, why)
            per_input = scan.summary.input(name) if reading.reports else None
            for report in reading.reports:
                scan.summary.read += report.read
                scan.summary.rejected_by_readers(report.rejected)
                assert per_input is not None
                per_input.read += report.read
                per_input.rejected += report.rejected
                per_input.formats[report.format] = None
                if report.truncated:
                    scan.summary.mark_incomplete(report.source, "; ".join(report.notes) or "the file breaks off")
            bar.advance(sizes[path], description=path.name)


class _NoBar:
    def advance(self, n: float = 1, description: str | None = None) -> None:
        pass


class _quiet:  # noqa: N801
    def __enter__(self) -> _NoBar:
        return _NoBar()

    def __exit__(self, *exc: object) -> None:
        return None

