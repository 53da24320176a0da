"""The `nightjar` command: help on every command, version, exit codes, plain output when piped, demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from nightjar import __version__, commands  # noqa: F401  (registers the commands)
from nightjar.cli import app

ANSI = "\x1b["
EXE = Path(sys.executable).with_name("nightjar")


def command_paths() -> list[list[str]]:
    """Every command and sub-command, as argument lists (walks the tree, so new commands are covered)."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `nightjar` with stdout and stderr as pipes (so: not a terminal)."""
    if not EXE.exists():
        pytest.skip(f"{EXE} is not installed")
    env = {**os.environ, "NIGHTJAR_PROGRESS": "1"}  # a progress bar would still stay off: stderr is a pipe
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_the_tree_has_the_profile_and_demo_commands() -> None:
    assert ["data", "profile"] in command_paths() and ["demo"] in command_paths()


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "nightjar")
def test_help_works_on_every_command(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("path", [p for p in command_paths() if p], ids=" ".join)
def test_every_command_documents_an_example(path: list[str]) -> None:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    if not hasattr(command, "commands"):
        assert "Example:" in (command.help or ""), f"`nightjar {' '.join(path)}` has no Example: block"


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"nightjar {__version__}"


def test_missing_input_exits_2_naming_the_file(tmp_path: Path) -> None:
    result = run("data", "profile", str(tmp_path / "nope.log"))
    assert result.returncode == 2
    assert "nope.log" in result.stderr and "Traceback" not in result.stderr


def test_unknown_format_exits_2_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    result = run("data", "profile", str(junk))
    assert result.returncode == 2
    assert "junk.bin" in result.stderr and "unknown format" in result.stderr


def test_output_is_plain_when_piped(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("example.com\nexample.org\nexample.com\n")
    for args in (["data", "profile", str(tmp_path / "d.txt")], ["--help"], ["data", "profile", "--help"]):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        assert ANSI not in result.stdout and ANSI not in result.stderr
    lines = run("data", "profile", str(tmp_path / "d.txt")).stdout.splitlines()
    assert "kind\trows\tcolumns\texact dups\tfirst\tlast" in lines
    assert any(line.startswith("domain\t3\t") for line in lines)


def test_profile_writes_json_and_html(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("example.com\nexample.org\n")
    result = run("data", "profile", str(tmp_path / "d.txt"), "--json", str(tmp_path / "p.json"),
                 "--html", str(tmp_path / "p.html"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.json").read_text().lstrip().startswith("{")
    assert "<svg" in (tmp_path / "p.html").read_text() or "domain" in (tmp_path / "p.html").read_text()
