"""Turn the paths a user gives (files, folders, archives, compressed files) into readable sources.

A `Source` is one logical input: a plain file, a `.gz`/`.xz`/`.bz2` file, or a member of a `.zip` or
`.tar*` archive. `Source.open()` returns the decompressed bytes as a buffered stream that stops cleanly
at a truncated end: the bytes before the break are delivered and `stream.truncated` says what happened.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nightjar.errors import InputError, Location

COMPRESSED = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2")
SKIPPED_NAMES = {".DS_Store", "Thumbs.db"}
_DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, OSError)
SPOOL_IN_MEMORY = 64 << 20  # tar members up to this size stay in memory; larger ones go to a temp file


class _Unclosable(io.RawIOBase):
    """A view of a spooled member that leaves the spool open when the reader closes it."""

    def __init__(self, spool: tempfile.SpooledTemporaryFile[bytes]) -> None:
        spool.seek(0)
        self._spool = spool

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._spool.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class SafeStream(io.RawIOBase):
    """A raw stream that turns a decompression failure into end-of-data and remembers it."""

    def __init__(self, inner: BinaryIO, name: str) -> None:
        self._inner = inner
        self.name = name
        self.truncated: str | None = None
        self._read1 = getattr(inner, "read1", None)
        self._readinto1 = getattr(inner, "readinto1", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.truncated:
            return 0
        try:
            # read1: one underlying read at most, so data decoded before a break is not lost with it;
            # readinto1 (plain files): the same without a fresh object per read (page faults on large reads)
            if self._readinto1:
                return int(self._readinto1(buffer))
            data = self._read1(len(buffer)) if self._read1 else self._inner.read(len(buffer))
        except _DECOMPRESSION_ERRORS as exc:
            self.truncated = f"{type(exc).__name__}: {exc}"
            return 0
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class SourceStream(io.BufferedReader):
    """A buffered decompressed stream; `truncated` is set when the input ended early."""

    raw: SafeStream

    @property
    def truncated(self) -> str | None:
        return self.raw.truncated


@dataclass(frozen=True)
class Source:
    """One input to read: `path` on disk, and `member` inside it when `path` is an archive."""

    path: Path
    member: str | None = None
    #: a tar member's bytes, copied out during the single pass over its archive
    spool: tempfile.SpooledTemporaryFile[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """How the source is named in messages: `file` or `archive.zip!member`."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def filename(self) -> str:
        """The base name of the file or member, without compression suffix."""
        base = os.path.basename(self.member or self.path.name)
        for suffix in COMPRESSED:
            if base.endswith(suffix):
                return base[: -len(suffix)]
        return base

    @property
    def is_plain_file(self) -> bool:
        """True when the bytes on disk are the content (no archive, no compression)."""
        return self.member is None and self.path.suffix not in COMPRESSED

    def open(self) -> SourceStream:
        """Open for binary reading, decompressing as needed."""
        try:
            inner = self._open_inner()
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror or exc}", Location(self.name)) from exc
        return SourceStream(SafeStream(inner, self.name), buffer_size=1 << 20)

    def _open_inner(self) -> BinaryIO:
        if self.member is None:
            opener = COMPRESSED.get(self.path.suffix)
            return opener(self.path, "rb") if opener else open(self.path, "rb")  # type: ignore[return-value]
        if self.spool is not None:
            raw: BinaryIO = io.BufferedReader(_Unclosable(self.spool))  # type: ignore[assignment]
            opener = COMPRESSED.get(os.path.splitext(self.member)[1])
            return opener(raw, "rb") if opener else raw  # type: ignore[return-value]
        if zipfile.is_zipfile(self.path):
            archive = zipfile.ZipFile(self.path)
            return archive.open(self.member)  # type: ignore[return-value]
        tar = tarfile.open(self.path)
        extracted = tar.extractfile(self.member)
        if extracted is None:
            raise InputError("archive member is not a file", Location(self.name))
        opener = COMPRESSED.get(os.path.splitext(self.member)[1])
        return opener(extracted, "rb") if opener else extracted  # type: ignore[return-value]

    def head(self, n: int = 65536) -> bytes:
        """The first `n` decompressed bytes (for format sniffing)."""
        with self.open() as stream:
            return stream.read(n)


def is_archive(path: Path) -> bool:
    """True for `.zip` and tar archives (which hold several sources)."""
    name = path.name.lower()
    return name.endswith(".zip") or name.endswith(TAR_SUFFIXES)


def archive_members(path: Path) -> list[str]:
    """The regular files inside an archive, in archive order."""
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return [i.filename for i in archive.infolist() if not i.is_dir() and not _hidden(i.filename)]
        with tarfile.open(path) as tar:
            return [m.name for m in tar.getmembers() if m.isfile() and not _hidden(m.name)]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"cannot read archive: {exc}", Location(str(path))) from exc


def _hidden(name: str) -> bool:
    base = os.path.basename(name)
    return base.startswith(".") or base in SKIPPED_NAMES or "__MACOSX" in name


def expand(paths: list[str | Path]) -> Iterator[Source]:
    """Every source under `paths`: folders recursively (sorted), archives member by member."""
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", Location(str(path)))
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(str(p.relative_to(path)))):
                yield from _file_sources(child)
        else:
            yield from _file_sources(path)


def _file_sources(path: Path) -> Iterator[Source]:
    if path.name.lower().endswith(TAR_SUFFIXES):
        yield from _tar_sources(path)
    elif is_archive(path):
        for member in archive_members(path):
            yield Source(path, member)
    else:
        yield Source(path)


def _tar_sources(path: Path) -> Iterator[Source]:
    """Members of a tar archive in one pass (a compressed tar cannot seek back to a member cheaply)."""
    try:
        with tarfile.open(path, "r|*") as tar:
            for info in tar:
                if not info.isfile() or _hidden(info.name):
                    continue
                spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
                extracted = tar.extractfile(info)
                if extracted is not None:
                    shutil.copyfileobj(extracted, spool, 1 << 20)
                yield Source(path, info.name, spool)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        raise InputError(f"cannot read archive: {exc}", Location(str(path))) from exc
