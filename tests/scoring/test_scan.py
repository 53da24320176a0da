"""run_scan on a mixed folder: routing per event kind, skipped and incomplete files, accounting,
idempotent re-scans, ECS NDJSON alerts, and the `nightjar scan` command."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from nightjar.detectors.base import Detector
from nightjar.errors import InputError, NightjarError
from nightjar.scoring.scan import run_scan
from nightjar.scoring.store import AlertStore

MODELS = Path(__file__).resolve().parents[2] / "src" / "nightjar" / "models"
DGA_NAMES = ["1k0f4jlntlpyuquloc41ulchow.net", "15m1h3fyoclosp5xspl1d57mt4.net", "1bwbyrhc08jfk1knfjtpicuf7e.biz",
             "qxkzjvbwpyhtrmd3k9f2lz.info"]
BENIGN = ["google.com", "wikipedia.org", "mail.example.com", "github.com", "192.168.1.1"]
DNS_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "query", "qtype_name",
              "rcode_name", "answers"]
DNS_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "string", "string", "string", "vector[string]"]


def zeek_log(path: str, fields: list[str], types: list[str], rows: list[list[str]]) -> str:
    """A Zeek TSV log with the standard header."""
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{path}",
            "#open\t2024-04-19-00-00-01", "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    return "\n".join(head + ["\t".join(r) for r in rows] + ["#close\t2024-04-19-01-00-00"]) + "\n"


def dns_log(names: list[str]) -> str:
    rows = [[f"1713484800.{i:06d}", f"C{i}", "10.0.0.7", str(50000 + i), "10.0.0.1", "53", "udp", str(i), name, "A", "NOERROR", "-"]
            for i, name in enumerate(names)]
    return zeek_log("dns", DNS_FIELDS, DNS_TYPES, rows)


def process_csv(n: int = 6) -> str:
    lines = ["UtcTime,Computer,EventID,Image,CommandLine,ProcessId,ParentImage,User"]
    cmds = ['"C:\\Windows\\System32\\cmd.exe /c whoami"',
            '"powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"',
            '"C:\\Windows\\System32\\notepad.exe C:\\Users\\ann\\notes.txt"']
    for i in range(n):
        lines.append(f"2024-04-19 09:0{i}:00.000,WS-{i % 2},1,C:\\Windows\\System32\\x{i}.exe,{cmds[i % 3]},{100 + i},"
                     f"C:\\Windows\\explorer.exe,CORP\\ann")
    return "\n".join(lines) + "\n"


def build_mixed_folder(root: Path) -> Path:
    """A domain list, a Zeek dns.log, a process CSV, a binary file and a half-written gzip."""
    folder = root / "mixed"
    folder.mkdir()
    (folder / "domains.txt").write_text("\n".join(DGA_NAMES[:3] + BENIGN) + "\n")
    (folder / "dns.log").write_text(dns_log([DGA_NAMES[3], *BENIGN[:3], DGA_NAMES[0]]))
    (folder / "processes.csv").write_text(process_csv())
    (folder / "blob.bin").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)))
    whole = gzip.compress(dns_log([f"host{i}.example.org" for i in range(3000)]).encode(), mtime=0)
    (folder / "dns2.log.gz").write_bytes(whole[: len(whole) // 2])
    return folder


def dga_detector(threshold: float = 0.9) -> Detector:
    """The shipped DGA model with a fixed threshold, so tests do not hang on the model's own."""
    from nightjar.detectors.dga import DETECTOR

    det = DETECTOR.load(MODELS / "dga")
    det.threshold_ = threshold
    return det


def maybe_detector(kind: str) -> Detector:
    """The shipped model of `kind`, or skip the test with the reason."""
    from nightjar.registry import load_detector

    if not (MODELS / kind / "manifest.json").is_file():
        pytest.skip(f"no shipped {kind} model yet (src/nightjar/models/{kind})")
    try:
        return load_detector(str(MODELS / kind))
    except NightjarError as exc:
        pytest.skip(f"{kind} model does not load yet: {exc}")


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return build_mixed_folder(tmp_path)


def test_mixed_folder_routes_skips_and_balances(mixed: Path, tmp_path: Path) -> None:
    summary = run_scan([mixed], store=tmp_path / "a.db", detectors=["dga"], given={"dga": dga_detector()})
    assert summary.read == summary.scored + summary.rejected and summary.balanced
    assert [s["path"] for s in summary.skipped] == [str(mixed / "blob.bin")]
    assert "unknown format" in summary.skipped[0]["reason"]
    assert [i["path"] for i in summary.incomplete] == [str(mixed / "dns2.log.gz")]
    assert summary.inputs[str(mixed / "dns2.log.gz")].read > 0  # the records before the break were scanned
    dga = summary.detectors["dga"]
    assert dga.alerts == 5  # 3 from the list, 2 from the dns.log
    assert summary.inputs[str(mixed / "domains.txt")].alerts == 3
    assert summary.inputs[str(mixed / "dns.log")].alerts == 2
    assert summary.inputs[str(mixed / "processes.csv")].kinds == {"process": 6}
    assert summary.rejected_reasons["no selected detector reads process records"] == 6
    assert dga.records == summary.read - 6 - summary.rejected_reasons.get("malformed record (the reader could not parse it)", 0)


def test_lotl_reads_the_process_csv(mixed: Path, tmp_path: Path) -> None:
    lotl = maybe_detector("lotl")
    summary = run_scan([mixed], store=tmp_path / "a.db", detectors=["dga", "lotl"], given={"dga": dga_detector(), "lotl": lotl})
    assert summary.detectors["lotl"].records == 6
    assert summary.inputs[str(mixed / "processes.csv")].scored + summary.inputs[str(mixed / "processes.csv")].rejected == 6
    assert summary.balanced


def test_rescan_creates_no_duplicate(mixed: Path, tmp_path: Path) -> None:
    store = tmp_path / "a.db"
    first = run_scan([mixed], store=store, detectors=["dga"], given={"dga": dga_detector()})
    second = run_scan([mixed], store=store, detectors=["dga"], given={"dga": dga_detector()})
    assert first.new_alerts == first.alerts == 5
    assert second.alerts == 5 and second.new_alerts == 0
    with AlertStore(store) as db:
        assert db.count() == 5
        jobs = db.jobs()
    assert [j["status"] for j in jobs] == ["finished", "finished"]
    assert jobs[1]["counts"]["new_alerts"] == 0 and jobs[0]["inputs"] == [str(mixed)]


def test_same_record_in_a_renamed_file_is_the_same_alert(mixed: Path, tmp_path: Path) -> None:
    store = tmp_path / "a.db"
    run_scan([mixed / "domains.txt"], store=store, detectors=["dga"], given={"dga": dga_detector()})
    copy = tmp_path / "copy.txt"
    copy.write_bytes((mixed / "domains.txt").read_bytes())
    again = run_scan([copy], store=store, detectors=["dga"], given={"dga": dga_detector()})
    assert again.alerts == 3 and again.new_alerts == 0


def test_alerts_ndjson_is_ecs(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.ndjson"
    run_scan([mixed], store=tmp_path / "a.db", alerts_out=out, detectors=["dga"], given={"dga": dga_detector()})
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(docs) == 5
    for doc in docs:
        assert doc["event"]["kind"] == "alert"
        assert re.fullmatch(r"[0-9a-f]{32}", doc["event"]["id"])
        assert 0.9 <= doc["nightjar"]["dga"]["score"] <= 1.0 and doc["nightjar"]["dga"]["alert"] is True
        assert doc["nightjar"]["dga"]["model"] == "dga@given" and doc["nightjar"]["dga"]["reasons"]
        assert doc["threat"]["technique"]["id"] == ["T1568.002"] and "attack.t1568.002" in doc["tags"]
        assert doc["rule"]["name"].startswith("Nightjar DGA")
        assert not any("." in k for k in doc if k != "@timestamp")  # nested ECS, not dotted keys
    from_dns = [d for d in docs if "dns" in d]
    assert len(from_dns) == 2
    assert from_dns[0]["source"]["ip"] == "10.0.0.7" and from_dns[0]["@timestamp"].startswith("2024-04-19T00:00:00")
    assert {d["nightjar"]["dga"]["entity"] for d in from_dns} == {DGA_NAMES[3], DGA_NAMES[0]}
    assert len({d["event"]["id"] for d in docs}) == 5


def test_store_is_wal_and_rows_match_documents(mixed: Path, tmp_path: Path) -> None:
    store = tmp_path / "a.db"
    run_scan([mixed], store=store, detectors=["dga"], given={"dga": dga_detector()})
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT id, detector, entity, technique_id, source_file, document FROM alerts").fetchall()
    assert len(rows) == 5
    for alert_id, detector, entity, technique, source, document in rows:
        doc = json.loads(document)
        assert doc["event"]["id"] == alert_id and detector == "dga" and technique == "T1568.002"
        assert entity == doc["nightjar"]["dga"]["entity"] and source.startswith(str(mixed))


def test_http_log_goes_to_url(tmp_path: Path) -> None:
    url = maybe_detector("url")
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "host", "uri", "status_code"]
    types = ["time", "string", "addr", "port", "addr", "port", "string", "string", "string", "count"]
    rows = [["1713484800.0", "C1", "10.0.0.7", "50000", "93.184.216.34", "80", "GET", "paypal-login.secure-verify.example.tk",
             "/signin/webscr.php?cmd=_login", "200"],
            ["1713484801.0", "C2", "10.0.0.7", "50001", "93.184.216.34", "80", "GET", "www.wikipedia.org", "/wiki/Zeek", "200"]]
    (tmp_path / "http.log").write_text(zeek_log("http", fields, types, rows))
    summary = run_scan([tmp_path / "http.log"], store=tmp_path / "a.db", detectors=["url"], given={"url": url})
    assert summary.detectors["url"].records == 2 and summary.balanced


def test_beacon_gets_every_conn_batch(tmp_path: Path) -> None:
    beacon = maybe_detector("beacon")
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "resp_bytes", "conn_state"]
    types = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "string"]
    rng = np.random.default_rng(3)
    times = 1713484800 + np.cumsum(300 + rng.normal(0, 10, 200))
    rows = [[f"{t:.6f}", f"C{i}", "10.0.0.5", str(40000 + i), "203.0.113.9", "443", "tcp", "0.2", "220", "500", "SF"]
            for i, t in enumerate(times)]
    for part in range(2):  # two files, several batches each: the pair must be seen whole
        (tmp_path / f"conn.{part}.log").write_text(zeek_log("conn", fields, types, rows[part * 100:(part + 1) * 100]))
    summary = run_scan([tmp_path], store=tmp_path / "a.db", detectors=["beacon"], given={"beacon": beacon}, batch_rows=16)
    counts = summary.detectors["beacon"]
    assert counts.records == 200 and counts.entities == 1 and summary.scored == 200 and summary.balanced
    with AlertStore(tmp_path / "a.db") as db:
        rows_ = db.list_alerts()
    assert counts.alerts == len(rows_)
    if rows_:
        assert rows_[0].entity == "10.0.0.5 -> 203.0.113.9:443"


def test_beacon_reads_only_its_input_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """score and scan read conn with just the beacon detector's fields; the scores are those of a full read."""
    from nightjar.scoring import run_score

    beacon = maybe_detector("beacon")
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "resp_bytes",
              "conn_state", "history", "orig_pkts"]
    types = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "string", "string", "count"]
    times = 1713484800 + np.cumsum(300 + np.random.default_rng(4).normal(0, 10, 60))
    rows = [[f"{t:.6f}", f"C{i}", "10.0.0.5", str(40000 + i), "203.0.113.9", "443", "tcp", "0.2", "220", "500", "SF", "ShADadFf", "6"]
            for i, t in enumerate(times)]
    rows[7][12] = "many"  # a bad value in a column beacon does not read: rejected all the same
    (tmp_path / "conn.log").write_text(zeek_log("conn", fields, types, rows))
    seen: list[tuple[str, set[str]]] = []
    make = beacon.aggregator

    def spying() -> object:
        acc = make()
        add = acc.add
        acc.add = lambda kind, table, source=None: (seen.append((kind, set(table.column_names))), add(kind, table, source))
        return acc

    monkeypatch.setattr(beacon, "aggregator", spying)
    score = run_score("beacon", [tmp_path / "conn.log"], tmp_path / "projected.csv", detector=beacon)
    summary = run_scan([tmp_path / "conn.log"], store=tmp_path / "a.db", detectors=["beacon"], given={"beacon": beacon})
    assert seen and all(kind == "conn" and cols == beacon.input_fields["conn"] for kind, cols in seen)
    assert (score.read, score.rejected, summary.read, summary.scored) == (60, 1, 60, 59)
    monkeypatch.setattr(type(beacon), "input_fields", None)
    full = run_score("beacon", [tmp_path / "conn.log"], tmp_path / "full.csv", detector=beacon)
    assert len(seen[-1][1]) == len(fields) and (full.read, full.rejected) == (60, 1)
    assert (tmp_path / "projected.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()


def test_scan_projects_a_kind_only_when_every_reader_declares_its_fields() -> None:
    from nightjar.scoring.scan import _Loaded, _Scan

    class Names(Detector):  # a stand-in aggregating detector that declares the dns fields it uses
        kind = "names"
        reads = ("dns",)
        aggregates = True
        input_fields = {"dns": frozenset({"dns.question.name", "@timestamp"})}

    from nightjar.detectors.beacon import BeaconDetector
    from nightjar.detectors.dga import DgaDetector
    from nightjar.detectors.url import UrlDetector

    def fields(*detectors: Detector) -> dict[str, frozenset[str]]:
        return _Scan([_Loaded(d, d.kind) for d in detectors], None, None, 0, None).fields()  # type: ignore[arg-type]

    declared = BeaconDetector.input_fields
    assert declared is not None
    alone = fields(BeaconDetector())
    assert {k: alone[k] for k in ("conn", "http", "ssl", "dns")} == {k: declared[k] for k in ("conn", "http", "ssl", "dns")}
    shared = fields(BeaconDetector(), DgaDetector(), UrlDetector())  # dga reads dns, url reads http: whole
    assert shared["conn"] == declared["conn"] and "dns" not in shared and "http" not in shared
    with_names = fields(BeaconDetector(), Names())
    assert with_names["dns"] == declared["dns"] | {"dns.question.name", "@timestamp"}


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        run_scan([tmp_path / "nope"], store=tmp_path / "a.db", detectors=["dga"], given={"dga": dga_detector()})
    assert not (tmp_path / "a.db").exists()


def test_unknown_detector_name_is_refused() -> None:
    from nightjar.commands.scan import parse_detectors

    assert parse_detectors("dga, lotl,dga") == ["dga", "lotl"]
    with pytest.raises(InputError, match="unknown detector"):
        parse_detectors("dga,foo")


def test_cli_scan_writes_summary_and_exit_codes(mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from nightjar.cli import main

    monkeypatch.setenv("NIGHTJAR_HOME", str(tmp_path / "home"))  # private registry, seeded from the shipped models
    store, summary = tmp_path / "a.db", tmp_path / "summary.json"
    with pytest.raises(SystemExit) as exit_:
        main(["scan", str(mixed), "--store", str(store), "--detectors", "dga", "--json", str(summary), "--alerts", str(tmp_path / "a.ndjson")])
    assert exit_.value.code == 0
    data = json.loads(summary.read_text())
    assert {"read", "scored", "rejected", "alerts", "detectors", "inputs", "skipped"} <= set(data)
    assert data["read"] == data["scored"] + data["rejected"] and data["skipped"][0]["path"].endswith("blob.bin")
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "blob.bin" in captured.err and "total" in captured.out
    with pytest.raises(SystemExit) as exit_:  # a file named on the command line that cannot be read: exit 2, named
        main(["scan", str(mixed / "blob.bin"), str(mixed / "domains.txt"), "--store", str(store), "--detectors", "dga", "-q"])
    assert exit_.value.code == 2 and "blob.bin" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # --fail-on-error: a skipped file inside a folder fails the job
        main(["scan", str(mixed), "--store", str(store), "--detectors", "dga", "-q", "--fail-on-error"])
    assert exit_.value.code == 2
