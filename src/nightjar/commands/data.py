"""`nightjar data ...`: profile datasets."""

from __future__ import annotations

from pathlib import Path

import typer

from nightjar.cli import data_app
from nightjar.console import out, warn


@data_app.command("profile")
def profile(
    paths: list[Path] = typer.Argument(..., help="Files, folders or archives, in any format the readers recognise."),
    label: str | None = typer.Option(None, "--label", help="Label column: show its balance and look for leakage."),
    group: str | None = typer.Option(None, "--group", help="Group column (test, host, capture): balance per group, grouped folds."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the profile as JSON here."),
    html_out: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
) -> None:
    """Profile datasets: rows, columns, types, missing values, duplicates, time range, top values, label balance and leakage.

    Example:
        nightjar data profile logs/zeek/ events.ndjson --html profile.html
        nightjar data profile train.csv --label label --group test_name --json profile.json
    """
    from nightjar.data import profile_paths
    from nightjar.data.profile_report import print_profile, write_json, write_profile_html

    result = profile_paths(list(paths), label=label, group=group, show_progress=True)
    for message in result.warnings:
        warn(message)
    print_profile(result)
    if json_out is not None:
        out.print(f"JSON written to {write_json(result, json_out)}", highlight=False, soft_wrap=True)
    if html_out is not None:
        out.print(f"HTML written to {write_profile_html(result, html_out)}", highlight=False, soft_wrap=True)
