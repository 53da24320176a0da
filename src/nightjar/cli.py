"""The `nightjar` command. Thin: parses arguments, calls a module, prints.

Exit codes: 0 success, 1 failure of the job, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
import typer.main
from typer import core as typer_core

from nightjar import __version__
from nightjar.console import error
from nightjar.errors import InputError, ModelNotFoundError, NightjarError

app = typer.Typer(
    name="nightjar",
    help="Machine-learning detections for security telemetry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Profile and clean datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nightjar {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Machine-learning detections for security telemetry.

    Example:
        nightjar data profile conn.log --html profile.html
    """


def _keep_examples_verbatim(command: Any) -> None:
    """Mark every `Example:` block so click's plain help does not re-wrap its lines."""
    if command.help and "Example:" in command.help and "\b" not in command.help:
        head, example = command.help.split("Example:", 1)
        command.help = head + "Example:\n\n\b" + example
    for sub in getattr(command, "commands", {}).values():
        _keep_examples_verbatim(sub)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and map Nightjar errors to exit codes (2 for input, 1 otherwise)."""
    from nightjar import commands  # noqa: F401  (registers the commands on `app`)

    command = typer.main.get_command(app)
    if not sys.stdout.isatty():
        # plain help when piped: typer reads this flag when it formats help and errors
        typer_core.HAS_RICH = False
        _keep_examples_verbatim(command)

    try:
        command.main(args=argv, prog_name="nightjar", standalone_mode=True)
    except (InputError, ModelNotFoundError) as exc:  # bad usage: unreadable input, unknown model or version
        error(str(exc))
        sys.exit(2)
    except NightjarError as exc:
        error(str(exc))
        sys.exit(1)
    except BrokenPipeError:
        # the reader of our output went away (`nightjar ... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
