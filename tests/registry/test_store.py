"""Registry storage: versions, aliases, promotion, rollback, audit log, atomic writes, integrity."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from nightjar.errors import InputError, ModelIntegrityError, ModelNotFoundError
from nightjar.registry import Manifest, Registry


def test_register_copies_files_and_writes_manifest(registry: Registry, make_model) -> None:
    source = make_model(0.25)
    manifest = registry.register(
        "toy", "toy", source, threshold=0.7, target_fpr=0.001, metrics={"recall": 0.9},
        training_data=[{"name": "tranco", "licence": "CC-BY", "rows": 10, "url": "https://tranco-list.eu"}],
        feature_schema={"length": "int"}, params={"weight": 0.25}, reason="first",
    )
    folder = registry.path("toy", 1)
    assert manifest.version == 1 and manifest.kind == "toy" and folder == registry.root / "toy" / "versions" / "1"
    assert sorted(manifest.files) == ["params.json", "vocab.txt"]
    for relpath, digest in manifest.files.items():
        assert digest == hashlib.sha256((source / relpath).read_bytes()).hexdigest()
        assert (folder / relpath).read_bytes() == (source / relpath).read_bytes()
    on_disk = Manifest.read(folder)
    assert on_disk == manifest and Manifest.from_dict(manifest.to_dict()) == manifest
    assert on_disk.threshold == 0.7 and on_disk.metrics == {"recall": 0.9} and on_disk.created_at.endswith("Z")
    assert on_disk.code_version.startswith("0.") or "+" in on_disk.code_version
    assert registry.aliases("toy") == {"candidate": 1}
    plain_mode = (folder / "params.json").stat().st_mode & 0o777  # atomic writes are not left 0600
    assert (folder / "manifest.json").stat().st_mode & 0o777 == plain_mode
    assert (registry.root / "toy" / "aliases.json").stat().st_mode & 0o777 == plain_mode


def test_versions_increase_and_are_never_overwritten(registry: Registry, make_model) -> None:
    registry.register("toy", "toy", make_model(0.1))
    (registry.root / "toy" / "versions" / "2").mkdir()  # a crashed registration left an empty folder
    manifest = registry.register("toy", "toy", make_model(0.2))
    assert manifest.version == 3
    assert [m.version for m in registry.versions("toy")] == [1, 3]
    assert json.loads((registry.path("toy", 1) / "params.json").read_text())["weight"] == 0.1
    assert registry.models() == ["toy"]


def test_parallel_registrations_get_distinct_versions(registry: Registry, make_model) -> None:
    sources = [make_model(0.1 * i) for i in range(1, 7)]
    threads = [threading.Thread(target=registry.register, args=("toy", "toy", s), kwargs={"alias": None}) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [m.version for m in registry.versions("toy")] == [1, 2, 3, 4, 5, 6]
    weights = sorted(json.loads((registry.path("toy", n) / "params.json").read_text())["weight"] for n in range(1, 7))
    assert weights == pytest.approx([0.1 * i for i in range(1, 7)])


def test_register_an_exported_model_keeps_its_metadata(registry: Registry, make_model) -> None:
    source = make_model(0.4)
    Manifest.create("toy", "toy", source, version=9, threshold=0.61, metrics={"auc": 0.97}).write(source)
    manifest = registry.register("toy", "toy", source)
    assert (manifest.version, manifest.threshold, manifest.metrics) == (1, 0.61, {"auc": 0.97})
    (source / "vocab.txt").write_text("tampered\n")
    with pytest.raises(ModelIntegrityError, match="vocab.txt"):
        registry.register("toy", "toy", source)
    assert [m.version for m in registry.versions("toy")] == [1]


def test_register_rejects_bad_names_and_folders(registry: Registry, make_model, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid model name"):
        registry.register("../evil", "toy", make_model())
    with pytest.raises(InputError, match="does not exist"):
        registry.register("toy", "toy", tmp_path / "nope")
    registry.register("toy", "toy", make_model())
    with pytest.raises(InputError, match="holds 'toy' models"):
        registry.register("toy", "dga", make_model())


def test_promote_moves_production_to_previous(populated: Registry) -> None:
    assert populated.aliases("toy") == {"production": 2, "previous": 1, "candidate": 3}
    populated.promote("toy", 3, reason="better")
    assert populated.aliases("toy") == {"production": 3, "previous": 2}  # the candidate was promoted
    populated.promote("toy", 1, alias="candidate")
    assert populated.aliases("toy") == {"production": 3, "previous": 2, "candidate": 1}


def test_promote_refuses_unknown_versions_and_aliases(populated: Registry) -> None:
    with pytest.raises(ModelNotFoundError, match="versions: 1, 2, 3; aliases: candidate=3, previous=1, production=2"):
        populated.promote("toy", 7)
    with pytest.raises(InputError, match="cannot promote to 'previous'"):
        populated.promote("toy", 1, alias="previous")


def test_rollback_restores_previous_once(populated: Registry) -> None:
    assert populated.rollback("toy", reason="false positives") == 1
    assert populated.aliases("toy") == {"production": 1, "candidate": 3}
    with pytest.raises(ModelNotFoundError, match="no previous version.*aliases: candidate=3, production=1"):
        populated.rollback("toy")
    with pytest.raises(ModelNotFoundError, match="no model named 'other'"):
        populated.rollback("other")


def test_audit_log_records_every_action_append_only(populated: Registry) -> None:
    log = populated.root / "toy" / "events.jsonl"
    before = log.read_bytes()
    populated.rollback("toy", reason="fp storm")
    assert log.read_bytes().startswith(before)
    events = populated.events("toy")
    assert [(e["action"], e["version"], e["alias"], e["previous"]) for e in events] == [
        ("register", 1, "candidate", None),
        ("register", 2, "candidate", 1),
        ("register", 3, "candidate", 2),
        ("promote", 1, "production", None),
        ("promote", 2, "production", 1),
        ("rollback", 1, "production", 2),
    ]
    assert events[-1]["reason"] == "fp storm" and events[-1]["model"] == "toy"
    assert all(set(e) == {"time", "action", "model", "version", "alias", "previous", "reason", "user"} for e in events)


def test_a_torn_log_line_is_skipped_and_closed(populated: Registry) -> None:
    log = populated.root / "toy" / "events.jsonl"
    with log.open("a") as handle:
        handle.write('{"action": "prom')  # a crash in the middle of a write
    populated.promote("toy", 3)
    events = populated.events("toy")
    assert len(events) == 6 and events[-1]["action"] == "promote"


def test_alias_write_is_atomic(populated: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    aliases = populated.root / "toy" / "aliases.json"
    before = aliases.read_bytes()
    events_before = len(populated.events("toy"))

    def crash(src: object, dst: object) -> None:
        raise OSError("disk pulled")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled"):
        populated.promote("toy", 3)
    monkeypatch.undo()
    assert aliases.read_bytes() == before
    assert json.loads(aliases.read_text()) == {"production": 2, "previous": 1, "candidate": 3}
    assert [p.name for p in aliases.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert len(populated.events("toy")) == events_before  # a failed promotion is not logged


def test_tampered_file_is_refused_naming_the_file(populated: Registry) -> None:
    path = populated.path("toy", 2) / "params.json"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    expected = populated.manifest("toy", 2).files["params.json"]
    with pytest.raises(ModelIntegrityError, match="'params.json' of toy@2 is changed") as info:
        populated.verify("toy", 2)
    assert expected in str(info.value) and hashlib.sha256(bytes(data)).hexdigest() in str(info.value)
    assert str(path) in str(info.value)
    assert populated.events("toy")[-1]["action"] == "verify-failed"
    with pytest.raises(ModelIntegrityError):
        populated.promote("toy", 2)


def test_truncated_missing_and_extra_files_are_refused(populated: Registry) -> None:
    vocab = populated.path("toy", 1) / "vocab.txt"
    vocab.write_bytes(vocab.read_bytes()[:4])
    with pytest.raises(ModelIntegrityError, match=r"'vocab.txt' of toy@1 is truncated or resized \(4 bytes"):
        populated.verify("toy", 1)
    (populated.path("toy", 2) / "params.json").unlink()
    with pytest.raises(ModelIntegrityError, match="'params.json' of toy@2 is missing"):
        populated.verify("toy", 2)
    (populated.path("toy", 3) / "extra.bin").write_bytes(b"x")
    with pytest.raises(ModelIntegrityError, match="does not list: extra.bin"):
        populated.verify("toy", 3)


def test_manifest_refuses_paths_outside_the_folder() -> None:
    data = Manifest("toy", 1, "toy", files={"../../etc/passwd": "0" * 64}).to_dict()
    with pytest.raises(ModelIntegrityError, match="invalid file name"):
        Manifest.from_dict(data)
    with pytest.raises(ModelIntegrityError, match="lacks kind"):
        Manifest.from_dict({"name": "toy", "version": 1, "files": {}})
