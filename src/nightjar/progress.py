"""Progress bars for long work: shown on a terminal, silent when piped or when NIGHTJAR_PROGRESS=0."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def enabled() -> bool:
    """True when progress bars should be drawn."""
    return os.environ.get("NIGHTJAR_PROGRESS", "1") != "0" and sys.stderr.isatty()


class _Bar:
    def __init__(self, progress: Progress | None, task: int | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: float = 1, description: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=n, description=description)


@contextmanager
def bar(total: float | None, description: str) -> Iterator[_Bar]:
    """A progress bar on stderr; `advance()` on the yielded object moves it."""
    if not enabled():
        yield _Bar(None, None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        yield _Bar(progress, progress.add_task(description, total=total))
