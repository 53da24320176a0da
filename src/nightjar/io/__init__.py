"""Readers: raw telemetry in, Arrow tables with ECS field names out.

`Reading(paths)` sniffs every file, folder or archive member, picks the reader, and yields batches
while keeping one `ReadReport` per source. Files named explicitly must be readable (InputError
otherwise); files found inside a folder that no reader recognises are skipped and listed. With
`fields` ({event kind: ECS names}), readers that can project read only those fields (see `base.Fields`).
Each source is opened once: the head it is sniffed from stays in the stream for a reader that takes it.
With `read_ahead`, the parsing runs in child processes while the caller works on the previous batch
(see `read_ahead`; in-process where that cannot run).

Example:
    >>> from nightjar.io import read_table
    >>> table, report = read_table("conn.log")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from nightjar import progress
from nightjar.errors import InputError
from nightjar.io import read_ahead
from nightjar.io import evtx, zeek, windows_json, ecs_json, process_csv, proxy_log, lists  # noqa: F401,I001  (import order = sniff order)
from nightjar.io.base import DEFAULT_BATCH_ROWS, READERS, SNIFF_BYTES, Batch, Fields, Reader, detect, parts, read_batches
from nightjar.io.report import ReadReport, totals
from nightjar.io.sources import Source, expand
from nightjar.io.zeek_stream import BlockStream

__all__ = ["READERS", "Batch", "Fields", "Reader", "ReadReport", "Reading", "Source", "detect", "read_table", "read_tables"]


class Reading:
    """Iterate the batches of many inputs, keeping the accounting of each."""

    def __init__(self, paths: list[str | Path], batch_rows: int = DEFAULT_BATCH_ROWS, show_progress: bool = True,
                 fields: Fields | None = None, read_ahead: bool = False) -> None:
        self.paths = [Path(p) for p in paths]
        self.batch_rows = batch_rows
        self.show_progress = show_progress
        self.fields = fields
        self.read_ahead = read_ahead
        self.reports: list[ReadReport] = []
        self.skipped: list[tuple[str, str]] = []

    def __iter__(self) -> Iterator[Batch]:
        if self.read_ahead and read_ahead.available():
            yield from read_ahead.batches(self)  # reports and skipped arrive when the iteration ends
            return
        for _, batch in self.units():
            if batch is not None:
                yield batch

    def units(self, worker: int = 0, workers: int = 1, split: bool = False) -> Iterator[tuple[int, Batch | None]]:
        """The inputs cut into units numbered in reading order, and the batches of the units this worker takes.

        A unit is a source, or with `split` a part of a source whose reader cuts it (`base.parts`: read-ahead
        splits when several workers read side by side).
        Worker `worker` of `workers` reads the units numbered `worker` modulo `workers`: it yields (unit, batch)
        for each of their batches and (unit, None) at the end of each. Every worker sees every source, so each
        keeps a report per source (those of the units it skipped count nothing) and the same skipped files;
        only worker 0 shows the progress bar. The defaults read everything, in one process.
        """
        named = {p for p in self.paths if p.is_file()}
        explicit = {p.resolve() for p in named}
        show = self.show_progress and worker == 0
        total = sum(_disk_size(p) for p in self.paths) if show else 0
        unit = 0
        with progress.bar(total or None, "reading") if show else _no_bar() as bar:
            current: Path | None = None
            for source in expand(self.paths):  # lazily: archives are read in one pass
                if source.path != current:
                    if current is not None and show:
                        bar.advance(current.stat().st_size, description=current.name)
                    current = source.path
                strict = source.member is None and (source.path in named or bool(explicit) and source.path.resolve() in explicit)
                opened = self._open(source, strict=strict)
                if opened is None:
                    continue
                reader, stream, report = opened
                with stream:
                    count = parts(reader, source) if split else 1
                    for part in range(count):
                        if unit % workers == worker:
                            whole = count == 1
                            for batch in read_batches(reader, source, report, self.batch_rows, self.fields,
                                                      stream if whole else None, None if whole else part):
                                yield unit, batch
                            yield unit, None
                        unit += 1
            if current is not None and show:
                bar.advance(current.stat().st_size, description=current.name)

    def _open(self, source: Source, strict: bool) -> tuple[Reader, BlockStream, ReadReport] | None:
        """The reader that recognises `source`, the stream it was sniffed from and a new report; None when skipped."""
        stream = None
        try:
            stream = BlockStream(source)  # opened once: sniffed, then read by a reader that takes the stream
            reader = detect(source, stream.peek(SNIFF_BYTES))
        except InputError as exc:
            if stream is not None:
                stream.close()
            if strict:
                raise
            self.skipped.append((source.name, exc.message))
            return None
        report = ReadReport(source.name, format=reader.format)
        self.reports.append(report)
        return reader, stream, report

    def totals(self) -> dict[str, int]:
        """read / parsed / rejected summed over every source, plus the number of skipped files."""
        return {**totals(self.reports), "skipped_files": len(self.skipped)}


def _disk_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


class _NullBar:
    def advance(self, n: float = 1, description: str | None = None) -> None:
        pass


class _no_bar:  # noqa: N801  (a context manager used like a function)
    def __enter__(self) -> _NullBar:
        return _NullBar()

    def __exit__(self, *exc: object) -> None:
        return None


def read_tables(paths: list[str | Path], show_progress: bool = False) -> tuple[dict[str, pa.Table], Reading]:
    """Read everything under `paths` into one table per event kind (schemas unified, missing as null)."""
    reading = Reading(paths, show_progress=show_progress)
    parts: dict[str, list[pa.Table]] = {}
    for batch in reading:
        parts.setdefault(batch.kind, []).append(batch.table)
    tables = {kind: pa.concat_tables(ts, promote_options="permissive") for kind, ts in parts.items()}
    return tables, reading


def read_table(path: str | Path, kind: str | None = None) -> tuple[pa.Table, ReadReport]:
    """Read one file into one table (of `kind` when the file holds several kinds) and its report."""
    tables, reading = read_tables([path])
    if kind is None and len(tables) > 1:
        raise InputError(f"holds several kinds of events ({', '.join(sorted(tables))}); name one", None)
    table = tables.get(kind) if kind else next(iter(tables.values()), None)
    report = reading.reports[0] if len(reading.reports) == 1 else ReadReport.merged(str(path), reading.reports)
    return (table if table is not None else pa.table({})), report
