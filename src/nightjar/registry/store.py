"""The registry: a folder of immutable model versions, moving aliases and an audit log.

```
<root>/<model>/versions/<n>/   model files + manifest.json (never overwritten)
<root>/<model>/aliases.json    {"production": 3, "candidate": 4, "previous": 2}, replaced atomically
<root>/<model>/events.jsonl    append-only audit log: register, promote, rollback, seed, verify-failed
```
A version folder counts once its `manifest.json` exists (it is written last). Built-in models
(`nightjar.registry.builtin`) become version 1, alias production, the first time a name is asked for.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

from nightjar.errors import InputError, Location, ModelIntegrityError, ModelNotFoundError
from nightjar.registry import builtin
from nightjar.registry.audit import log_event, read_events
from nightjar.registry.files import atomic_write_json, list_files, locked
from nightjar.registry.manifest import MANIFEST, Manifest, check_files

ALIASES = ("production", "candidate", "previous")
PROMOTE_TO = ("production", "candidate")
SEED_WAIT = 10.0  # seconds to wait for another process seeding the same built-in
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """A model name is lower-case letters, digits, `_ . -` (no `/` or `@`); InputError otherwise."""
    if not NAME.match(name):
        raise InputError(f"invalid model name {name!r}: use lower-case letters, digits, '_', '.' and '-'")
    return name


class Registry:
    """A model registry rooted at `root` (created on the first write)."""

    def __init__(self, root: Path, *, seed_builtins: bool = True) -> None:
        self.root = Path(root)
        self.seed_builtins = seed_builtins
        self._seeded: set[str] = set()  # names whose built-in is known to be registered already

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # --- reading -----------------------------------------------------------------------------
    def models(self) -> list[str]:
        """Names with at least one version, plus built-in names not registered yet."""
        names = {p.parent.parent.parent.name for p in self.root.glob(f"*/versions/*/{MANIFEST}")}
        names = {n for n in names if NAME.match(n)}
        if self.seed_builtins:
            names |= set(builtin.builtin_models())
        return sorted(names)

    def versions(self, name: str) -> list[Manifest]:
        """Every complete version of `name`, oldest first (seeds a built-in first if needed)."""
        self._seed(name)
        return [Manifest.read(self.path(name, n)) for n in self._numbers(name)]

    def version_numbers(self, name: str) -> list[int]:
        """The complete version numbers of `name`, without reading manifests; ModelNotFoundError if none."""
        return self._require(name)

    def aliases(self, name: str) -> dict[str, int]:
        """`{"production": 3, ...}`; only the aliases that are set."""
        self._seed(name)
        path = self._dir(name) / "aliases.json"
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {k: int(v) for k, v in data.items() if k in ALIASES and v is not None}
        except (ValueError, TypeError, AttributeError) as exc:
            raise ModelIntegrityError(f"aliases.json cannot be read: {exc}", Location(str(path))) from None

    def manifest(self, name: str, version_or_alias: int | str = "production") -> Manifest:
        """The manifest of a version number or alias; ModelNotFoundError lists what exists."""
        return Manifest.read(self.path(name, self._version(name, version_or_alias)))

    def path(self, name: str, version: int) -> Path:
        """The folder of one version (whether or not it exists)."""
        return self._dir(name) / "versions" / str(int(version))

    def events(self, name: str) -> list[dict[str, Any]]:
        """The audit log of `name`, oldest first (see `nightjar.registry.audit`)."""
        return read_events(self._dir(name) / "events.jsonl")

    # --- writing -----------------------------------------------------------------------------
    def register(
        self, name: str, kind: str, model_dir: Path, *, threshold: float | None = None,
        target_fpr: float | None = None, metrics: dict[str, Any] | None = None,
        training_data: list[dict[str, Any]] | None = None, feature_schema: dict[str, Any] | list[Any] | None = None,
        params: dict[str, Any] | None = None, alias: str | None = "candidate", reason: str = "",
    ) -> Manifest:
        """Copy the files of `model_dir` into the next version folder and write its manifest.

        A `manifest.json` already in `model_dir` (an exported model) is verified and supplies any
        field not given here. `alias` (candidate by default, None for none) is pointed at the new
        version; promoting to production is `promote`'s job.
        """
        check_name(name)
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise InputError(f"model folder {model_dir} does not exist")
        if alias is not None and alias not in PROMOTE_TO:
            raise InputError(f"cannot register into alias {alias!r}; use one of {', '.join(PROMOTE_TO)}")
        given = {"threshold": threshold, "target_fpr": target_fpr, "metrics": metrics, "training_data": training_data,
                 "feature_schema": feature_schema, "params": params}
        meta = {k: v for k, v in given.items() if v is not None}
        self._seed(name)  # a built-in model is version 1: seed it before allocating the next number
        if numbers := self._numbers(name):
            latest = Manifest.read(self.path(name, numbers[-1]))
            if latest.kind != kind:
                raise InputError(f"{name} holds {latest.kind!r} models ({latest.ref}); cannot register a {kind!r} model under it")
        if (model_dir / MANIFEST).exists():
            source = Manifest.read(model_dir)
            check_files(model_dir, source)
            if source.kind != kind:
                raise InputError(f"{model_dir} holds a {source.kind!r} model, not {kind!r}")
            meta = {k: getattr(source, k) for k in given} | meta
            meta["created_at"] = source.created_at
            return self._store(name, kind, model_dir, meta, action="register", alias=alias, reason=reason, expect=source)
        return self._store(name, kind, model_dir, meta, action="register", alias=alias, reason=reason)

    def promote(self, name: str, version: int, alias: str = "production", reason: str = "") -> None:
        """Point `alias` at `version` (verified first). Promoting to production moves the old
        production to `previous` and clears `candidate` if it pointed at this version."""
        if alias not in PROMOTE_TO:
            raise InputError(f"cannot promote to {alias!r}; use one of {', '.join(PROMOTE_TO)}")
        version = self._version(name, version)
        self.verify(name, version)
        with locked(self._dir(name) / ".lock"):
            aliases = self.aliases(name)
            before = aliases.get(alias)
            if before == version:
                return
            aliases[alias] = version
            if alias == "production":
                if before is not None:
                    aliases["previous"] = before
                if aliases.get("candidate") == version:
                    del aliases["candidate"]
            self._write_aliases(name, aliases)
            self._log("promote", name, version, alias, before, reason)

    def rollback(self, name: str, reason: str = "") -> int:
        """Production goes back to `previous`, which is then cleared; returns the version now in production."""
        self._require(name)
        with locked(self._dir(name) / ".lock"):
            aliases = self.aliases(name)
            if "previous" not in aliases:
                raise ModelNotFoundError(f"{name} has no previous version to roll back to; {self._known(name)}")
            target = aliases.pop("previous")
            self.verify(name, target)
            before = aliases.get("production")
            aliases["production"] = target
            self._write_aliases(name, aliases)
            self._log("rollback", name, target, "production", before, reason)
        return target

    def verify(self, name: str, version: int | str) -> None:
        """Check every file of a version against its manifest; ModelIntegrityError names the file."""
        number = self._version(name, version)
        folder = self.path(name, number)
        try:
            manifest = Manifest.read(folder)
            if (manifest.name, manifest.version) != (name, number):
                raise ModelIntegrityError(f"manifest says {manifest.ref}, folder is {name}@{number}", Location(str(folder)))
            check_files(folder, manifest)
        except ModelIntegrityError as exc:
            try:
                self._log("verify-failed", name, number, None, None, str(exc))
            except OSError:  # a read-only registry still reports the integrity error
                pass
            raise

    # --- internals ---------------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def _numbers(self, name: str) -> list[int]:
        folder = self._dir(name) / "versions"
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and (p / MANIFEST).is_file())

    def _known(self, name: str) -> str:
        """`versions: 1, 2; aliases: production=2, previous=1` for error messages."""
        numbers = ", ".join(map(str, self._numbers(name))) or "none"
        aliases = ", ".join(f"{k}={v}" for k, v in sorted(self.aliases(name).items())) or "none"
        return f"versions: {numbers}; aliases: {aliases}"

    def _require(self, name: str) -> list[int]:
        """The version numbers of `name` (seeding a built-in); ModelNotFoundError when there are none."""
        self._seed(name)
        numbers = self._numbers(name)
        if not numbers:
            known = ", ".join(self.models()) or "none"
            raise ModelNotFoundError(f"no model named {name!r} in the registry at {self.root}; known models: {known}")
        return numbers

    def _version(self, name: str, ref: int | str) -> int:
        """Turn a version number or alias into an existing version number."""
        numbers = self._require(name)
        text = str(ref)
        number = int(text) if text.isdigit() else self.aliases(name).get(text)
        if number is None or number not in numbers:
            what = f"version {text}" if text.isdigit() else f"alias {text!r}"
            raise ModelNotFoundError(f"{name} has no {what}; {self._known(name)}")
        return number

    def _write_aliases(self, name: str, aliases: dict[str, int]) -> None:
        atomic_write_json(self._dir(name) / "aliases.json", {k: aliases[k] for k in ALIASES if k in aliases})

    def _log(self, action: str, name: str, version: int | None, alias: str | None, previous: int | None, reason: str) -> None:
        log_event(self._dir(name) / "events.jsonl", action, name, version, alias, previous, reason)

    def _allocate(self, name: str, first: int | None = None) -> tuple[int, Path]:
        """Create the next free version folder (mkdir without exist_ok, so two writers never share one)."""
        versions = self._dir(name) / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        taken = [int(p.name) for p in versions.iterdir() if p.name.isdigit()]
        number = first if first is not None else max(taken, default=0) + 1  # incomplete folders stay taken
        while True:
            try:
                (versions / str(number)).mkdir()
                return number, versions / str(number)
            except FileExistsError:
                if first is not None:
                    raise
                number += 1

    def _store(self, name: str, kind: str, model_dir: Path, meta: dict[str, Any], *, action: str, alias: str | None,
               reason: str, version: int | None = None, expect: Manifest | None = None) -> Manifest:
        """Copy files into a new version folder, write its manifest last, move `alias`, log `action`.

        With `expect`, the copies must have exactly the checksums it lists.
        """
        number, folder = self._allocate(name, version)
        try:
            for relpath in list_files(model_dir):
                if relpath != MANIFEST:
                    (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(model_dir / relpath, folder / relpath)
            manifest = Manifest.create(name, kind, folder, version=number, **meta)
            if expect is not None and manifest.files != expect.files:
                raise ModelIntegrityError(f"{model_dir} changed while it was being copied", Location(str(model_dir)))
            manifest.write(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with locked(self._dir(name) / ".lock"):
            aliases = self.aliases(name) if alias else {}
            before = aliases.get(alias) if alias else None
            if alias:
                aliases[alias] = number
                self._write_aliases(name, aliases)
            self._log(action, name, number, alias, before, reason)
        return manifest

    def _seed(self, name: str) -> None:
        """Register the built-in model `name` when the registry does not hold its files yet.

        The first built-in becomes version 1 / production. A package upgrade that ships different
        files becomes the next version: production when production is itself a built-in (the user
        has not promoted a model of their own), candidate otherwise, so an upgrade never replaces
        a model the user chose.
        """
        if not self.seed_builtins or name in self._seeded:
            return
        source = builtin.builtin_models().get(name)
        if source is None:
            return
        numbers = self._numbers(name)
        shipped_files = Manifest.read(source).files
        self._seeded.add(name)  # from here on, reads of `name` must not seed again (they recurse here)
        if any(Manifest.read(self.path(name, n)).files == shipped_files for n in numbers):
            return
        try:
            self._seed_new(name, source, numbers)
        except BaseException:
            self._seeded.discard(name)
            raise

    def _seed_new(self, name: str, source: Path, numbers: list[int]) -> None:
        shipped = builtin.read_builtin(name, source)
        meta = {k: getattr(shipped, k) for k in ("feature_schema", "threshold", "target_fpr", "metrics",
                                                  "training_data", "params", "code_version", "created_at")}
        if numbers:
            production = self.aliases(name).get("production")
            seeded = {e.get("version") for e in self.events(name) if e.get("action") == "seed"}
            follow = production is None or production in seeded
            manifest = self._store(name, shipped.kind, source, meta, action="seed", alias=None if follow else "candidate",
                                   reason=f"built-in model of this nightjar release ({source})", expect=shipped)
            if follow:
                self.promote(name, manifest.version, "production", reason="production follows the built-in model")
            return
        try:
            self._store(name, shipped.kind, source, meta, action="seed", alias="production",
                        reason=f"built-in model shipped with nightjar ({source})", version=1, expect=shipped)
        except FileExistsError:  # another process is seeding the same model: wait for its manifest
            deadline = time.monotonic() + SEED_WAIT
            while not (self.path(name, 1) / MANIFEST).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
