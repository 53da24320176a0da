"""Read ahead: parse the inputs in child processes while the caller works on the previous batch.

Why: reading (EVTX parsing above all) and scoring each keep one core busy, one after the other. With
child processes parsing batch k+1 while the parent scores batch k, the wall-clock time goes towards the
slower of the two instead of their sum; with the parsing itself shared by two workers, towards the work of
both spread over the cores. It only pays when the input holds several batches.

How: `workers` child processes ("fork" start method: each inherits the `Reading` as it is) iterate
`Reading.units(j, workers)`: the inputs cut into numbered units (a source, or a part of a source whose reader
cuts it: runs of EVTX chunks), worker j reading units j, j + workers, ... Each sends its batches as Arrow IPC
streams through a queue of its own, bounded to SLOTS batches (a feeder thread writes the pipe, so a worker
parses on while the parent is busy; memory stays bounded when the parent is the slower side). The parent
takes the units in order, each from the worker that read it, and joins consecutive batches of one source
and kind until they hold `batch_rows` rows, the first ones fewer (FIRST_ROWS, doubling: scoring starts
sooner). Batches are so cut at places that depend on the input only, not on timing. At the end each worker
sends the `ReadReport`s and skipped files it added; the parent sums the reports of each source
(`ReadReport.merged`) into the `Reading`: the same accounting as reading in-process (available once the
iteration has ended). An exception in a worker is raised again in the parent, at the place in the input
where it happened, with its type, message and `Location`. When the parent stops early (the generator
closed, an error while scoring, Ctrl-C), the workers are terminated and joined. Without fork, or with fewer
than two usable CPUs, `available()` is False and `Reading` reads in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from nightjar.io.base import Batch
from nightjar.io.report import ReadReport

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue

    from nightjar.io import Reading

#: `worth_it` reads inputs smaller than this in-process. On the bench EVTX (2.7 KB a record, half of them process
#: creations) one child broke even at ~67 MB (25k records) and gained 17 % at 135 MB, 25 % at 270 MB
MIN_BYTES = 64 * 1024 * 1024
#: batch rows when reading ahead (`nightjar score`'s default): overlap needs several batches. On the bench EVTX
#: 4,096-16,384 are equally fast end to end (65,536 is one batch, nothing to overlap); 8,192 starts scoring
#: sooner on inputs of a few batches (50k records: 0.80 s against 0.92 s with 16,384)
BATCH_ROWS = 8192
#: rows of the batches a worker sends (at most `batch_rows`): the parent gets its first batch sooner, and joins
#: the next ones into batches of up to `batch_rows` (bench EVTX, 2 CPUs: 2,048 against 8,192 rows ~3 % less wall time)
WORKER_ROWS = 2048
#: rows of the first batch the parent gets (then twice as many each time, up to `batch_rows`)
FIRST_ROWS = 1024
#: parsing processes at most (`workers()`: one per usable CPU beside the parent's, up to this)
MAX_WORKERS = 4
#: rows a worker may have sent that the parent has not taken yet, in batches of `batch_rows` rows (a batch is
#: always let through when nothing else waits): enough to run a whole batch ahead however the input is cut
AHEAD_BATCHES = 2
#: seconds the parent waits on a worker before checking that it is still alive
_POLL = 0.5
#: seconds a worker has to end after its last message, or after SIGTERM, before it is killed
_GRACE = 5.0


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform says, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available() -> bool:
    """True when read-ahead can run: the "fork" start method exists and two CPUs are usable."""
    return "fork" in multiprocessing.get_all_start_methods() and usable_cpus() >= 2


def workers() -> int:
    """Parsing processes: one per usable CPU beside the parent's, at least one, up to MAX_WORKERS.

    Not more processes than CPUs: on the 2-CPU bench machine, two workers beside the parent took 1.8-2.2 s on
    the bench EVTX where one took 1.6-1.9 s (three processes share two cores, and the parent, which scores,
    gets two thirds of one), although two workers alone read the file in 0.96 s against one's 1.66 s.
    """
    return max(1, min(MAX_WORKERS, usable_cpus() - 1))


def worth_it(paths: list[Path]) -> bool:
    """The automatic choice: `available()`, MIN_BYTES on disk, and a first input whose reader sets `read_ahead`.

    Readers set it when parsing costs about as much as scoring (EVTX). Where parsing is cheap (process CSV)
    a child only adds its transfer: `run_score` on a 60 MB CSV measured 1.25 s in-process, 1.4 s with one.
    """
    from nightjar.errors import InputError
    from nightjar.io.base import detect
    from nightjar.io.sources import expand

    if not available():
        return False
    size = 0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        size += sum(p.stat().st_size for p in files if p.is_file())
    if size < MIN_BYTES:
        return False
    first = next(iter(expand(paths)), None)
    try:
        return first is not None and bool(getattr(detect(first), "read_ahead", False))
    except InputError:
        return False


def batches(reading: Reading, count: int | None = None) -> Iterator[Batch]:
    """The batches of `reading`, parsed by `count` worker processes (default `workers()`); its reports and skipped
    files are added at the end."""
    count = count or workers()
    context = multiprocessing.get_context("fork")
    channels = [_Channel(context, AHEAD_BATCHES * reading.batch_rows) for _ in range(count)]
    children = [context.Process(target=_child, args=(reading, j, count, channels[j]), name=f"nightjar-read-ahead-{j}", daemon=True)
                for j in range(count)]
    for child in children:
        child.start()
    finished = False
    try:
        ends: dict[int, tuple[list[ReadReport], list[tuple[str, str]], Any]] = {}
        yield from _joined(_in_order(channels, children, ends), reading.batch_rows)
        ((reports, skipped, error),) = ends.values()
        if error is not None:  # what the failing worker had read, as far as it got (in-process would say the same)
            reading.reports += reports
            reading.skipped += skipped
            _raise(error)
        for j in range(count):  # the others' last messages: no unit is left, so only their "end"
            while j not in ends:
                message = channels[j].take(children[j])
                if message[0] != "end":
                    raise RuntimeError(f"read-ahead worker {j} sent {message[0]!r} after the last unit")
                ends[j] = message[1:]
        finished = True
        for _, _, error in ends.values():
            _raise(error)
        reading.reports += _summed([ends[j][0] for j in range(count)])
        reading.skipped += ends[0][1]
    finally:
        for child in children:
            _stop(child, finished)
        for channel in channels:
            channel.close()


def _in_order(channels: list[_Channel], children: list[BaseProcess], ends: dict[int, Any]) -> Iterator[Batch]:
    """Every batch, unit after unit, each unit from the worker that read it; stops at the first worker that has
    no next unit (then no worker has: all are read) or that failed, leaving its "end" in `ends`."""
    unit = 0
    while True:
        owner = unit % len(channels)
        message = channels[owner].take(children[owner])
        if message[0] == "batch":
            _, _, payload, kind, source = message
            yield Batch(pa.ipc.open_stream(payload).read_all(), kind, source)
        elif message[0] == "unit":
            unit += 1
        else:
            ends[owner] = message[1:]
            return


def _joined(parts: Iterator[Batch], batch_rows: int) -> Iterator[Batch]:
    """Consecutive batches of one source and kind (and schema) joined until they hold `batch_rows` rows (the first
    FIRST_ROWS, then twice as many each time), never more."""
    target = min(FIRST_ROWS, batch_rows)
    held: list[Batch] = []
    rows = 0
    for batch in parts:
        if held and ((batch.source, batch.kind, batch.table.schema) != (held[0].source, held[0].kind, held[0].table.schema)
                     or rows + batch.table.num_rows > batch_rows):
            yield _concat(held)
            held, rows, target = [], 0, min(2 * target, batch_rows)
        held.append(batch)
        rows += batch.table.num_rows
        if rows >= target:
            yield _concat(held)
            held, rows, target = [], 0, min(2 * target, batch_rows)
    if held:
        yield _concat(held)


def _concat(held: list[Batch]) -> Batch:
    if len(held) == 1:
        return held[0]
    return Batch(pa.concat_tables([b.table for b in held]), held[0].kind, held[0].source)


class _Channel:
    """A worker's messages to the parent: a queue (its feeder thread writes the pipe while the worker parses on)
    and the rows sent but not yet taken, which `put` keeps under `rows` (one batch always goes through)."""

    def __init__(self, context: Any, rows: int) -> None:
        self.queue: Queue = context.Queue()
        self.pending = context.Value("q", 0, lock=False)
        self.changed = context.Condition()
        self.rows = rows

    def put(self, message: tuple, rows: int = 0) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.pending.value == 0 or self.pending.value + rows <= self.rows)
            self.pending.value += rows
        self.queue.put((rows, message))

    def take(self, child: BaseProcess) -> tuple:
        """The next message; RuntimeError when the worker is gone without sending it."""
        while True:
            try:
                rows, message = self.queue.get(timeout=_POLL)
                break
            except queue.Empty:
                if not child.is_alive():
                    try:
                        rows, message = self.queue.get(timeout=_POLL)  # sent just before it ended
                        break
                    except queue.Empty:
                        raise RuntimeError(f"the read-ahead process ended without finishing (exit code {child.exitcode})") from None
        if rows and self.changed.acquire(timeout=_GRACE):  # not forever: a worker killed while holding it never lets go
            try:
                self.pending.value -= rows
                self.changed.notify()
            finally:
                self.changed.release()
        return message

    def close(self) -> None:
        self.queue.close()
        self.queue.cancel_join_thread()  # the parent never puts: nothing of its own to flush




def _summed(per_worker: list[list[ReadReport]]) -> list[ReadReport]:
    """One report per source: the workers' reports of it summed (every worker keeps one per source, in order)."""
    if len({len(reports) for reports in per_worker}) > 1:
        raise RuntimeError("read-ahead workers saw different sources: " + ", ".join(str(len(r)) for r in per_worker))
    return [group[0] if len(group) == 1 else ReadReport.merged(group[0].source, list(group), group[0].format, in_file_order=True)
            for group in zip(*per_worker)]


def _raise(error: tuple[BaseException, str] | None) -> None:
    if error is not None:
        exc, remote = error
        raise exc from _RemoteTraceback(remote)


def _child(reading: Reading, worker: int, count: int, messages: _Channel) -> None:
    """In worker `worker`: read its units in-process and send their batches, an end of unit after each, then its
    accounting or its error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends this process

    def _terminated(signum: int, frame: object) -> None:
        messages.queue.cancel_join_thread()  # the parent takes nothing more: do not wait to flush
        sys.exit(128 + signum)  # unwinds the progress bar's context

    signal.signal(signal.SIGTERM, _terminated)
    reading.read_ahead = False
    reading.batch_rows = min(reading.batch_rows, WORKER_ROWS)  # the parent joins them: see `_joined`
    reports, skipped = len(reading.reports), len(reading.skipped)
    error: tuple[BaseException, str] | None = None
    try:
        for unit, batch in reading.units(worker, count, split=count > 1):
            if batch is None:
                messages.put(("unit", unit))
                continue
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.table.schema) as writer:
                writer.write_table(batch.table)
            messages.put(("batch", unit, sink.getvalue().to_pybytes(), batch.kind, batch.source), batch.table.num_rows)
    except Exception as exc:  # noqa: BLE001  (every error goes to the parent, which raises it)
        error = (_portable(exc), traceback.format_exc())
    messages.put(("end", reading.reports[reports:], reading.skipped[skipped:], error))
    messages.queue.close()
    messages.queue.join_thread()  # everything is in the pipe before this process ends


def _portable(exc: Exception) -> Exception:
    """`exc` when it survives pickling with its type and message, else a RuntimeError that says what it was."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    except Exception:  # noqa: BLE001,S110  (an exception that cannot cross is described instead)
        pass
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def _stop(child: BaseProcess, finished: bool) -> None:
    """Join a worker: at once after its last message, else terminate it first; kill it if it lingers."""
    if finished:
        child.join(_GRACE)
    if child.is_alive():
        child.terminate()
        child.join(_GRACE)
    if child.is_alive():
        child.kill()
        child.join()


class _RemoteTraceback(Exception):
    """A worker's traceback, chained to the error raised again in the parent."""

    def __init__(self, text: str) -> None:
        super().__init__(text)

    def __str__(self) -> str:
        return "\n(in the read-ahead process)\n" + str(self.args[0])
