"""`nightjar alerts list|show|label` on a store filled by a scan of a small mixed folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nightjar import commands  # noqa: F401  (registers the commands)
from nightjar.cli import app, main
from nightjar.scoring.scan import run_scan
from nightjar.scoring.store import AlertStore
from tests.scoring.test_scan import DGA_NAMES, build_mixed_folder, dga_detector

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alerts")
    path = root / "alerts.db"
    run_scan([build_mixed_folder(root)], store=path, detectors=["dga"], given={"dga": dga_detector()})
    return path


def invoke(*args: str) -> list | dict:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return int(exit_.value.code or 0)


def test_list_json_is_an_array_with_filters(store: Path) -> None:
    rows = invoke("alerts", "list", "--store", str(store), "--json")
    assert isinstance(rows, list) and len(rows) == 5
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert {r["detector"] for r in rows} == {"dga"} and {r["entity"] for r in rows} == set(DGA_NAMES)
    assert invoke("alerts", "list", "--store", str(store), "--json", "--detector", "url") == []
    assert len(invoke("alerts", "list", "--store", str(store), "--json", "--limit", "2")) == 2
    timed = invoke("alerts", "list", "--store", str(store), "--json", "--since", "2024-04-19", "--until", "2024-04-20T00:00:00Z")
    assert len(timed) == 2 and all(r["timestamp"].startswith("2024-04-19") for r in timed)  # the dns.log ones
    assert invoke("alerts", "list", "--store", str(store), "--json", "--min-score", "1.0") == [r for r in rows if r["score"] >= 1.0]


def test_list_table_when_piped(store: Path) -> None:
    result = runner.invoke(app, ["alerts", "list", "--store", str(store)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "detector", "time"] and len(lines) == 6


def test_show_and_label(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = invoke("alerts", "list", "--store", str(store), "--json")[0]
    shown = invoke("alerts", "show", first["id"][:10], "--store", str(store), "--json")
    assert shown["id"] == first["id"] and shown["document"]["event"]["kind"] == "alert" and shown["feedback"] == []
    monkeypatch.setenv("USER", "ann")
    result = runner.invoke(app, ["alerts", "label", first["id"], "tp", "--note", "seen on WS-1", "--store", str(store)])
    assert result.exit_code == 0, result.output
    runner.invoke(app, ["alerts", "label", first["id"], "benign", "--analyst", "bob", "--store", str(store)])
    shown = invoke("alerts", "show", first["id"], "--store", str(store), "--json")
    assert [(f["label"], f["analyst"], f["note"]) for f in shown["feedback"]] == [("tp", "ann", "seen on WS-1"), ("benign", "bob", None)]
    assert shown["label"] == "benign"
    with AlertStore(store) as db:
        assert db.feedback(first["id"])[0]["alert_id"] == first["id"]
    text = runner.invoke(app, ["alerts", "show", first["id"], "--store", str(store)]).stdout
    assert "feedback: tp by ann" in text and first["entity"] in text


def test_bad_usage_exits_2(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    some_id = invoke("alerts", "list", "--store", str(store), "--json")[0]["id"]
    assert exit_code(["alerts", "label", some_id, "maybe", "--store", str(store)]) == 2
    assert "label must be one of tp, fp, benign" in capsys.readouterr().err
    assert exit_code(["alerts", "show", "ffffffffff", "--store", str(store)]) == 2
    assert exit_code(["alerts", "list", "--store", str(tmp_path / "none.db")]) == 2
    assert not (tmp_path / "none.db").exists()
    assert exit_code(["alerts", "list", "--store", str(store), "--since", "yesterday"]) == 2
    assert exit_code(["alerts", "list", "--store", str(store), "--min-score", "2"]) == 2
    with AlertStore(store) as db:
        assert all(f["label"] in ("tp", "fp", "benign") for f in db.feedback())
