"""Read ahead: parse the inputs in a child process while the caller works on the previous batch.

Why: reading (EVTX parsing above all) and scoring each keep one core busy, one after the other. With two
cores, a child process that parses batch k+1 while the parent scores batch k brings the wall-clock time
towards the slower of the two instead of their sum. It only pays when the input holds several batches.

How: the child ("fork" start method: it inherits the `Reading` as it is) iterates the `Reading` in-process
and sends each batch's table as an Arrow IPC stream, with its kind and source, through a pipe. A send
waits until the parent takes it, so at most two batches are in flight (one the parent is using, one
waiting in the child) and memory stays bounded when the parent is the slower side. At the end it sends the
`ReadReport`s and skipped files it added, which the parent's `Reading` takes: the same accounting as
reading in-process (available once the iteration has ended). An exception in the child is raised again
in the parent with its type, message and `Location`. When the parent stops early (the generator closed,
an error while scoring, Ctrl-C), the child is terminated and joined. Without fork, or with fewer than two
usable CPUs, `available()` is False and `Reading` reads in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from nightjar.io.base import Batch

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from nightjar.io import Reading

#: `worth_it` reads inputs smaller than this in-process. On the bench EVTX (2.7 KB a record, half of them process
#: creations) a child breaks even at ~67 MB (25k records) and gains 17 % at 135 MB, 25 % at 270 MB
MIN_BYTES = 64 * 1024 * 1024
#: batch rows when reading ahead (`nightjar score`'s default): overlap needs several batches. On the bench EVTX
#: 4,096-16,384 are equally fast end to end (65,536 is one batch, nothing to overlap); 8,192 starts scoring
#: sooner on inputs of a few batches (50k records: 0.80 s against 0.92 s with 16,384)
BATCH_ROWS = 8192
#: seconds the child has to end after its last message, or after SIGTERM, before it is killed
_GRACE = 5.0


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform says, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available() -> bool:
    """True when a read-ahead child can run: the "fork" start method exists and two CPUs are usable."""
    return "fork" in multiprocessing.get_all_start_methods() and usable_cpus() >= 2


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


def batches(reading: Reading) -> Iterator[Batch]:
    """The batches of `reading`, parsed in a child process; its reports and skipped files are added at the end."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(reading, sender), name="nightjar-read-ahead", daemon=True)
    child.start()
    sender.close()  # only the child writes: if it dies, the parent reads EOF instead of waiting
    finished = False
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                child.join()
                raise RuntimeError(f"the read-ahead process ended without finishing (exit code {child.exitcode})") from None
            if message[0] == "batch":
                _, payload, kind, source = message
                yield Batch(pa.ipc.open_stream(payload).read_all(), kind, source)
                continue
            _, reports, skipped, error = message
            finished = True
            reading.reports += reports
            reading.skipped += skipped
            if error is not None:
                exc, remote = error
                raise exc from _RemoteTraceback(remote)
            return
    finally:
        _stop(child, finished)
        receiver.close()


def _child(reading: Reading, sender: Connection) -> None:
    """In the child: iterate `reading` in-process and send what it yields, then its accounting or its error.

    A send waits while the parent is still using the previous batch: one batch waits here, one is in use
    there, and the pipe holds no more than its buffer.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends this process
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # unwinds the progress bar's context
    reading.read_ahead = False
    reports, skipped = len(reading.reports), len(reading.skipped)
    error: tuple[BaseException, str] | None = None
    try:
        for batch in reading:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.table.schema) as writer:
                writer.write_table(batch.table)
            sender.send(("batch", sink.getvalue().to_pybytes(), batch.kind, batch.source))
    except Exception as exc:  # noqa: BLE001  (every error goes to the parent, which raises it)
        error = (_portable(exc), traceback.format_exc())
    sender.send(("end", reading.reports[reports:], reading.skipped[skipped:], error))
    sender.close()


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
    """Join the child: at once after its last message, else terminate it first; kill it if it lingers."""
    if finished:
        child.join(_GRACE)
    if child.is_alive():
        child.terminate()
        child.join(_GRACE)
    if child.is_alive():
        child.kill()
        child.join()


class _RemoteTraceback(Exception):
    """The child's traceback, chained to the error raised again in the parent."""

    def __init__(self, text: str) -> None:
        super().__init__(text)

    def __str__(self) -> str:
        return "\n(in the read-ahead process)\n" + str(self.args[0])
