"""run_score: row alignment with bad lines, output formats, accounting; the CLI on a small file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from nightjar.scoring import run_score

MODEL = str(Path(__file__).resolve().parents[2] / "src" / "nightjar" / "models" / "dga")
LINES = ["google.com", "", "EXAMPLE.COM.", "xn--bcher-kva.example", "192.168.1.1", "a" * 300 + ".com",
         "qxkzjvbwpy.net", "n/a", "wikipedia.org", "d1a2b3c4d5e6.cloudfront.net"]


@pytest.fixture
def domains(tmp_path: Path) -> Path:
    path = tmp_path / "domains.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values={"score": [""]})
    if path.suffix == ".jsonl":
        return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])
    return pq.read_table(path).to_pandas()


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_rows_line_up_with_input(domains: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    summary = run_score("dga", [domains], out, model_spec=MODEL)
    df = _read(out)
    assert list(df.columns[:4]) == ["domain", "score", "alert", "reasons"]
    assert len(df) == len(LINES)
    assert [str(v) if v is not None else "" for v in df["domain"]] == LINES
    assert summary.read == summary.scored + summary.rejected == len(LINES)
    rejected = df["score"].isna()
    assert int(rejected.sum()) == summary.rejected == 4  # empty, IP, long label, n/a
    assert not df.loc[rejected, "alert"].astype(bool).any()
    assert df.loc[1, "reasons"] == "empty domain"
    assert df.loc[4, "reasons"] == "IP address, not a domain"


def test_stdout_csv(domains: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_score("dga", [domains], "-", model_spec=MODEL)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("domain,score,alert,reasons")
    assert len(lines) == len(LINES) + 1


def test_csv_input_with_dns_question_name(tmp_path: Path) -> None:
    src = tmp_path / "q.csv"
    src.write_text("dns.question.name,label\ngoogle.com,0\nqxkzjvbwpyzz.biz,1\n,0\n")
    out = tmp_path / "o.csv"
    summary = run_score("dga", [src], out, model_spec=MODEL)
    df = pd.read_csv(out)
    assert summary.read == 3 and len(df) == 3
    assert "label" in df.columns


def test_bad_output_extension_is_usage_error(domains: Path, tmp_path: Path) -> None:
    from nightjar.errors import InputError

    with pytest.raises(InputError):
        run_score("dga", [domains], tmp_path / "out.xlsx", model_spec=MODEL)


def test_missing_input_is_input_error(tmp_path: Path) -> None:
    from nightjar.errors import InputError

    with pytest.raises(InputError):
        run_score("dga", [tmp_path / "nope.txt"], tmp_path / "o.csv", model_spec=MODEL)


def test_cli_score_dga(domains: Path, tmp_path: Path) -> None:
    from nightjar import commands  # noqa: F401
    from nightjar.cli import app

    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(app, ["score", "dga", str(domains), "-o", str(out), "--model", MODEL, "--quiet"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, keep_default_na=False)
    assert len(df) == len(LINES)
    assert df.loc[df["domain"] == "qxkzjvbwpy.net", "score"].astype(float).iloc[0] > 0.5


def test_cli_unknown_detector_exits_2(domains: Path, tmp_path: Path) -> None:
    from nightjar.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["score", "nope", str(domains), "-o", str(tmp_path / "o.csv")])
    assert exc.value.code == 2
