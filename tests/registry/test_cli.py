"""`nightjar models list|show|promote|rollback|verify`, exit codes included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nightjar.commands  # noqa: F401  (registers the commands)
from nightjar.cli import app, main
from nightjar.errors import ModelIntegrityError, ModelNotFoundError
from nightjar.registry import Registry

runner = CliRunner()


def invoke(registry: Registry, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["models", *args, "--registry", str(registry.root)])


def test_list_table_and_json(populated: Registry, make_model) -> None:
    populated.register("other", "toy", make_model())
    result = invoke(populated, "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["model", "kind", "versions", "production", "candidate", "previous", "built-in"]
    assert lines[1].split("\t") == ["other", "toy", "1", "", "1", "", "no"]
    assert lines[2].split("\t") == ["toy", "toy", "1, 2, 3", "2", "3", "1", "no"]
    data = json.loads(invoke(populated, "list", "--json").output)
    assert data[1] == {"name": "toy", "kind": "toy", "versions": [1, 2, 3], "builtin": False,
                       "aliases": {"production": 2, "previous": 1, "candidate": 3}}


def test_list_uses_the_environment_by_default(populated: Registry) -> None:
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0 and [m["name"] for m in json.loads(result.output)] == ["toy"]


def test_show(populated: Registry) -> None:
    data = json.loads(invoke(populated, "show", "toy@previous", "--json").output)
    assert (data["name"], data["version"], data["threshold"], data["target_fpr"]) == ("toy", 1, 0.5, 0.01)
    assert sorted(data["files"]) == ["params.json", "vocab.txt"]
    table = invoke(populated, "show", "toy")
    assert table.exit_code == 0 and "version\t2" in table.output and "threshold\t0.5" in table.output


def test_show_unknown_alias_lists_aliases(populated: Registry) -> None:
    result = invoke(populated, "show", "toy@staging")
    assert result.exit_code == 1 and isinstance(result.exception, ModelNotFoundError)
    assert "aliases: candidate=3, previous=1, production=2" in str(result.exception)


def test_promote_and_rollback(populated: Registry) -> None:
    result = invoke(populated, "promote", "toy", "--version", "3", "--reason", "better recall")
    assert result.exit_code == 0 and "toy@production -> 3 (was 2)" in result.output
    assert populated.aliases("toy") == {"production": 3, "previous": 2}
    assert populated.events("toy")[-1]["reason"] == "better recall"
    result = invoke(populated, "promote", "toy", "--version", "1", "--alias", "candidate")
    assert result.exit_code == 0 and populated.aliases("toy")["candidate"] == 1
    result = invoke(populated, "rollback", "toy", "--reason", "fp storm")
    assert result.exit_code == 0 and "toy@production -> 2" in result.output
    assert populated.aliases("toy") == {"production": 2, "candidate": 1}
    result = invoke(populated, "rollback", "toy")
    assert result.exit_code == 1 and isinstance(result.exception, ModelNotFoundError)


def test_promote_usage_errors_exit_2(populated: Registry) -> None:
    assert invoke(populated, "promote", "toy", "--version", "2", "--alias", "previous").exit_code == 2
    assert invoke(populated, "promote", "toy").exit_code == 2  # --version is required
    assert invoke(populated, "promote", "toy", "--version", "0").exit_code == 2


def test_verify_all_names_and_versions(populated: Registry) -> None:
    result = invoke(populated, "verify")
    assert result.exit_code == 0 and result.output.splitlines()[1:] == ["toy@1\tok", "toy@2\tok", "toy@3\tok"]
    assert invoke(populated, "verify", "toy@2").output.splitlines()[1:] == ["toy@2\tok"]
    assert invoke(populated, "verify", "toy").exit_code == 0


def test_verify_failure_exits_1_naming_the_file(populated: Registry) -> None:
    vocab = populated.path("toy", 3) / "vocab.txt"
    vocab.write_bytes(vocab.read_bytes()[:-1])
    result = invoke(populated, "verify")
    assert result.exit_code == 1 and isinstance(result.exception, ModelIntegrityError)
    assert "toy@3\tFAILED" in result.output
    assert "1 model version(s) failed" in str(result.exception) and "'vocab.txt' of toy@3" in str(result.exception)


def test_main_maps_errors_to_exit_codes(populated: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    (populated.path("toy", 1) / "params.json").write_text("{}")
    with pytest.raises(SystemExit) as info:
        main(["models", "verify", "toy@1", "--registry", str(populated.root)])
    assert info.value.code == 1 and "params.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["models", "show", "nothing", "--registry", str(populated.root)])
    assert info.value.code == 2 and "no model named 'nothing'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["models", "show", "Bad Name", "--registry", str(populated.root)])
    assert info.value.code == 2 and "invalid model name" in capsys.readouterr().err


def test_every_models_command_has_an_example() -> None:
    from nightjar.commands.models import models_app

    for command in models_app.registered_commands:
        assert command.callback is not None and "Example:" in (command.callback.__doc__ or "")


def test_verify_an_exported_folder(populated: Registry, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(populated.path("toy", 2), tmp_path / "export")
    result = runner.invoke(app, ["models", "verify", str(tmp_path / "export")])
    assert result.exit_code == 0 and "toy@2\tok" in result.output
