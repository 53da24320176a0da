"""One resolver for names and paths, verified loading, built-in seeding and the default location."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from nightjar.errors import InputError, ModelIntegrityError, ModelNotFoundError
from nightjar.registry import (
    Manifest, ModelRef, Registry, builtin, builtin_models, default_registry, load_detector, load_model, parse_spec,
    resolve_model,
)

from .conftest import ToyDetector


@pytest.mark.parametrize(
    ("spec", "version"),
    [("toy", 2), ("toy@production", 2), ("toy@candidate", 3), ("toy@previous", 1), ("toy@3", 3), (" toy@1 ", 1)],
)
def test_every_registry_spec_form(populated: Registry, spec: str, version: int) -> None:
    path, manifest = resolve_model(spec, populated)
    assert manifest.version == version and path == populated.path("toy", version)


def test_a_path_spec_is_an_exported_model(populated: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exported = tmp_path / "exported" / "toy-3"
    shutil.copytree(populated.path("toy", 3), exported)
    path, manifest = resolve_model(str(exported), populated)
    assert (path, manifest.ref) == (exported, "toy@3")
    monkeypatch.chdir(tmp_path / "exported")
    assert resolve_model("./toy-3")[1].ref == "toy@3"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model("./missing")
    with pytest.raises(ModelNotFoundError, match="has no manifest.json"):
        resolve_model(str(tmp_path))


def test_parse_spec() -> None:
    assert parse_spec("dga") == ModelRef("dga", "production")
    assert parse_spec("dga@7") == ModelRef("dga", 7)
    assert parse_spec("dga@candidate") == ModelRef("dga", "candidate")
    assert parse_spec("~/models/dga") == Path.home() / "models" / "dga"
    for bad in ("", "dga@", "DGA", "a b@1"):
        with pytest.raises(InputError):
            parse_spec(bad)


def test_errors_list_versions_aliases_and_models(populated: Registry) -> None:
    with pytest.raises(ModelNotFoundError, match=r"toy has no alias 'staging'; versions: 1, 2, 3; aliases: candidate=3"):
        resolve_model("toy@staging", populated)
    with pytest.raises(ModelNotFoundError, match="toy has no version 9; versions: 1, 2, 3"):
        resolve_model("toy@9", populated)
    with pytest.raises(ModelNotFoundError, match="no model named 'dga'.*known models: toy"):
        resolve_model("dga", populated)


def test_no_production_alias_yet(registry: Registry, make_model) -> None:
    registry.register("toy", "toy", make_model())
    with pytest.raises(ModelNotFoundError, match="toy has no alias 'production'; versions: 1; aliases: candidate=1"):
        resolve_model("toy", registry)


def test_load_model_returns_detector_manifest_and_path(populated: Registry) -> None:
    loaded = load_model("toy@candidate", populated)
    assert isinstance(loaded.detector, ToyDetector) and loaded.detector.weight_ == pytest.approx(0.3)
    assert (loaded.ref, loaded.path) == ("toy@3", populated.path("toy", 3))
    scores = loaded.detector.score(pd.DataFrame({"domain": ["a", "ab.com"]}))["score"].tolist()
    assert scores == pytest.approx([0.3, 1.0])  # length x 0.3, clipped to 1


def test_load_refuses_tampered_and_truncated_files(populated: Registry, tmp_path: Path) -> None:
    params = populated.path("toy", 2) / "params.json"
    params.write_text(params.read_text().replace("0.2", "0.9"))
    with pytest.raises(ModelIntegrityError, match=r"params\.json.*sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}"):
        load_detector("toy", populated)
    exported = tmp_path / "exported"
    shutil.copytree(populated.path("toy", 1), exported)
    (exported / "vocab.txt").write_bytes(b"co")
    with pytest.raises(ModelIntegrityError, match="vocab.txt.*truncated"):
        load_detector(str(exported))


def test_load_uses_the_default_registry(populated: Registry) -> None:
    assert default_registry().root == populated.root  # NIGHTJAR_REGISTRY points at it
    assert load_detector("toy@previous").weight_ == pytest.approx(0.1)


def test_default_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_registry().root == tmp_path / "registry"
    monkeypatch.delenv("NIGHTJAR_REGISTRY")
    assert default_registry().root == tmp_path / "home" / "registry"
    monkeypatch.delenv("NIGHTJAR_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_registry().root == tmp_path / "xdg" / "nightjar" / "registry"


def _ship(tmp_path: Path, make_model, name: str = "toy") -> Path:  # type: ignore[no-untyped-def]
    folder = builtin.BUILTIN_DIR / name
    shutil.copytree(make_model(0.05), folder)
    Manifest.create(name, "toy", folder, threshold=0.42, target_fpr=0.001, metrics={"auc": 0.99}).write(folder)
    return folder


def test_builtin_models_are_seeded_as_version_one(registry: Registry, make_model, tmp_path: Path) -> None:
    shipped = _ship(tmp_path, make_model)
    assert builtin_models() == {"toy": shipped}
    assert registry.models() == ["toy"]
    assert not (registry.root / "toy").exists()  # listing does not write
    path, manifest = resolve_model("toy", registry)
    assert (manifest.version, manifest.threshold, manifest.metrics) == (1, 0.42, {"auc": 0.99})
    assert manifest.created_at == Manifest.read(shipped).created_at
    assert registry.aliases("toy") == {"production": 1}
    assert [(e["action"], e["version"], e["alias"]) for e in registry.events("toy")] == [("seed", 1, "production")]
    new = registry.register("toy", "toy", make_model(0.2))
    assert new.version == 2 and len(registry.events("toy")) == 2  # seeded only once


def test_a_tampered_builtin_is_not_seeded(registry: Registry, make_model, tmp_path: Path) -> None:
    shipped = _ship(tmp_path, make_model)
    (shipped / "params.json").write_text('{"weight": 1.0}')
    with pytest.raises(ModelIntegrityError, match="params.json"):
        resolve_model("toy", registry)
    assert not (registry.root / "toy" / "versions" / "1").exists()


def test_seeding_can_be_switched_off(make_model, tmp_path: Path) -> None:
    _ship(tmp_path, make_model)
    plain = Registry(tmp_path / "plain", seed_builtins=False)
    assert plain.models() == []
    with pytest.raises(ModelNotFoundError, match="known models: none"):
        resolve_model("toy", plain)


def test_registering_first_seeds_the_builtin_as_version_one(registry: Registry, make_model, tmp_path: Path) -> None:
    _ship(tmp_path, make_model)
    new = registry.register("toy", "toy", make_model(0.2))
    assert new.version == 2
    assert registry.aliases("toy") == {"production": 1, "candidate": 2}


def test_a_new_builtin_release_becomes_production_unless_the_user_chose_another(registry: Registry, make_model, tmp_path: Path) -> None:
    shipped = _ship(tmp_path, make_model)
    assert resolve_model("toy", Registry(registry.root))[1].version == 1
    shutil.rmtree(shipped)
    shutil.copytree(make_model(0.3), shipped)
    Manifest.create("toy", "toy", shipped, threshold=0.5).write(shipped)
    upgraded = Registry(registry.root)
    assert resolve_model("toy", upgraded)[1].version == 2
    assert upgraded.aliases("toy") == {"production": 2, "previous": 1}
    assert resolve_model("toy", Registry(registry.root))[1].version == 2  # not seeded twice
    upgraded.register("toy", "toy", make_model(0.9))
    upgraded.promote("toy", 3)
    shutil.rmtree(shipped)
    shutil.copytree(make_model(0.7), shipped)
    Manifest.create("toy", "toy", shipped).write(shipped)
    again = Registry(registry.root)
    assert resolve_model("toy", again)[1].version == 3  # the user's own production stays
    assert again.aliases("toy")["candidate"] == 4
