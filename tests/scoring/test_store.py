"""The alert store: WAL, migrations, INSERT OR IGNORE on event.id, filters, feedback, job runs; ECS ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nightjar.errors import InputError
from nightjar.scoring import store as store_module
from nightjar.scoring.ecs import alert_document, event_id
from nightjar.scoring.store import AlertStore, default_store_path


def doc(domain: str, score: float = 0.95, host: str | None = "WS-1", ts: str | None = "2024-04-19T10:00:00Z",
        kind: str = "dga", model: str = "dga@1") -> dict:
    record = {"dns.question.name": domain, "@timestamp": ts, "host.name": host}
    extra = {"domain.normalized": domain} if kind == "dga" else {"url": f"http://{domain}/"}
    return alert_document(kind, model, record, score, "because", extra, source_file="dns.log")


@pytest.fixture
def db(tmp_path: Path) -> AlertStore:
    with AlertStore(tmp_path / "alerts.db") as s:
        yield s


def test_wal_and_schema_version(db: AlertStore, tmp_path: Path) -> None:
    assert db.journal_mode == "wal"
    assert db.schema_version == store_module.SCHEMA_VERSION == max(v for v, _, _ in store_module.MIGRATIONS)
    db.close()
    with AlertStore(tmp_path / "alerts.db") as again:  # reopening applies nothing twice
        assert again.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(store_module.MIGRATIONS)


def test_insert_or_ignore_on_event_id(db: AlertStore) -> None:
    assert db.add_alerts([doc("a.example"), doc("b.example")]) == 2
    assert db.add_alerts([doc("a.example"), doc("c.example")]) == 1
    assert db.count() == 3 and db.count("dga") == 3 and db.count("url") == 0


def test_model_version_does_not_change_the_id() -> None:
    record = {"domain": "x.example"}
    assert event_id("dga", "dga", record) == event_id("dga", "dga", dict(record))
    assert alert_document("dga", "dga@1", record, 0.9, "r")["event"]["id"] == alert_document("dga", "dga@7", record, 0.9, "r")["event"]["id"]
    assert alert_document("dga", "dga@1", record, 0.9, "r")["event"]["id"] != alert_document("dga", "dga2@1", record, 0.9, "r")["event"]["id"]
    assert event_id("dga", "dga", {"domain": "x.example", "@timestamp": "t1"}) != event_id("dga", "dga", {"domain": "x.example", "@timestamp": "t2"})


def test_filters(db: AlertStore) -> None:
    db.add_alerts([doc("a.example", 0.99, "WS-1", "2024-04-19T10:00:00Z"), doc("b.example", 0.91, "WS-2", "2024-04-20T10:00:00Z"),
                   doc("c.example", 0.97, "WS-1", "2024-04-21T10:00:00Z", kind="url", model="url@1")])
    assert [r.entity for r in db.list_alerts()] == ["a.example", "http://c.example/", "b.example"]  # highest score first
    assert [r.entity for r in db.list_alerts(detector="dga")] == ["a.example", "b.example"]
    assert [r.detector for r in db.list_alerts(host="WS-1")] == ["dga", "url"]
    assert [r.entity for r in db.list_alerts(since="2024-04-20T00:00:00Z", until="2024-04-21T00:00:00Z")] == ["b.example"]
    assert [r.score for r in db.list_alerts(min_score=0.95)] == [0.99, 0.97]
    assert len(db.list_alerts(limit=1)) == 1
    row = db.list_alerts(detector="url")[0]
    assert row.technique_id == "T1566.002" and row.model == "url@1" and row.source_file == "dns.log"


def test_get_by_prefix_and_errors(db: AlertStore) -> None:
    db.add_alerts([doc("a.example")])
    full = db.list_alerts()[0].id
    got = db.get(full[:6])
    assert got.id == full and got.document is not None and got.document["event"]["id"] == full
    with pytest.raises(InputError, match="no alert"):
        db.get("ffffffffffffffff")
    with pytest.raises(InputError, match="no alert"):
        db.get("")


def test_feedback_latest_label_wins(db: AlertStore) -> None:
    db.add_alerts([doc("a.example"), doc("b.example")])
    a = db.list_alerts(detector="dga")[0].id
    db.label(a, "tp", note="confirmed", analyst="ann")
    db.label(a, "fp", note="actually the backup job", analyst="bob")
    assert [f["label"] for f in db.feedback(a)] == ["tp", "fp"]
    assert db.get(a).label == "fp"
    assert [r.id for r in db.list_alerts(label="fp")] == [a]
    with pytest.raises(InputError, match="label must be one of"):
        db.label(a, "maybe")
    with pytest.raises(InputError, match="no alert"):
        db.label("0000", "tp")
    with pytest.raises(sqlite3.IntegrityError):  # the table itself refuses a bad label
        db.db.execute("INSERT INTO feedback (alert_id, label, created_at) VALUES (?, 'bad', 'now')", (a,))


def test_job_runs(db: AlertStore) -> None:
    job = db.start_job("scan", ["logs/"], {"dga": "dga@1"})
    assert db.jobs()[0]["status"] == "running"
    db.finish_job(job, {"read": 10, "alerts": 2})
    [run] = db.jobs()
    assert run["status"] == "finished" and run["counts"] == {"read": 10, "alerts": 2} and run["finished_at"]
    assert run["inputs"] == ["logs/"] and run["detectors"] == {"dga": "dga@1"}


def test_a_later_migration_is_applied_once_and_keeps_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "alerts.db"
    with AlertStore(path) as s:
        s.add_alerts([doc("a.example")])
    n = len(store_module.MIGRATIONS)
    extra = (store_module.SCHEMA_VERSION + 1, "a later table", "CREATE TABLE later_table (alert_id TEXT, value REAL)")
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    with AlertStore(path) as s:
        assert s.schema_version == store_module.SCHEMA_VERSION + 1 and s.count() == 1
        s.db.execute("INSERT INTO later_table VALUES ('x', 0.5)")
    with AlertStore(path) as s:
        assert s.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == n + 1


def test_not_a_database_and_missing_store(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a usable alert store"):
        AlertStore(bad)
    with pytest.raises(InputError, match="no alert store"):
        AlertStore(tmp_path / "none.db", create=False)


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NIGHTJAR_STORE", raising=False)
    monkeypatch.setenv("NIGHTJAR_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "alerts.db"
    monkeypatch.setenv("NIGHTJAR_STORE", str(tmp_path / "x.db"))
    assert default_store_path() == tmp_path / "x.db"


def test_document_shape() -> None:
    d = alert_document("lotl", "lotl@3", {"process.command_line": "powershell -enc AAA", "host.name": "WS-1", "url": "http://x/",
                                           "family": None, "process.pid": 42}, 0.8, "encoded command")
    assert d["process"]["command_line"] == "powershell -enc AAA" and d["process"]["pid"] == 42
    assert d["url"]["full"] == "http://x/" and "input" not in d["nightjar"]  # None dropped, bare url -> url.full
    assert d["nightjar"]["lotl"] == {"score": 0.8, "alert": True, "reasons": "encoded command", "model": "lotl@3",
                                     "entity": "powershell -enc AAA"}
    assert d["tags"] == ["attack.execution", "attack.t1059", "nightjar.lotl"]
    custom = alert_document("lotl", "lotl@3", {"process.name": "a"}, 0.8, "r", {"threat.technique.id": "T1059.001"})
    assert custom["threat"]["technique"]["id"] == ["T1059.001"] and "attack.t1059.001" in custom["tags"]


def test_times_compare_as_instants_not_strings(db: AlertStore) -> None:
    db.add_alerts([doc("a.example", ts="2024-04-19T00:00:00.5Z"), doc("b.example", ts="2024-04-19T02:00:00+02:00")])
    assert [r.entity for r in db.list_alerts(since="2024-04-19T00:00:00Z", until="2024-04-19T00:00:01Z")] == ["b.example", "a.example"]
    assert [r.timestamp for r in db.list_alerts()] == ["2024-04-19T00:00:00.000000Z", "2024-04-19T00:00:00.500000Z"]
    assert [r.entity for r in db.list_alerts(since="2024-04-19T00:00:00.1")] == ["a.example"]
    with pytest.raises(InputError, match="not an ISO 8601 time"):
        db.list_alerts(since="last week")
