"""Output for people on a terminal (rich tables, colour) and plain text when piped."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def interactive() -> bool:
    """True when stdout is a terminal."""
    return sys.stdout.isatty()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A rich table on a terminal; tab-separated lines with a header when piped."""
    if not interactive():
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join("" if v is None else str(v) for v in row) + "\n")
        return
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


def warn(message: str) -> None:
    """A warning on stderr."""
    err.print(f"[yellow]warning:[/] {message}" if err.is_terminal else f"warning: {message}", highlight=False)


def error(message: str) -> None:
    """An error on stderr."""
    err.print(f"[red]error:[/] {message}" if err.is_terminal else f"error: {message}", highlight=False)
