"""Sources: folders, archives and compressed files expand into readable sources; breaks are kept."""

from __future__ import annotations

import gzip
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from nightjar.errors import InputError
from nightjar.io import Reading
from nightjar.io.sources import Source, expand


def test_folder_expands_recursively_sorted_without_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("a.com\n")
    (tmp_path / "a.txt").write_text("b.com\n")
    (tmp_path / ".hidden").write_text("x\n")
    names = [s.path.name for s in expand([tmp_path])]
    assert names == ["a.txt", "z.txt"]


def test_zip_and_tar_members_are_sources(tmp_path: Path) -> None:
    z = tmp_path / "x.zip"
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("inner/one.txt", "a.com\n")
        archive.writestr("__MACOSX/._one.txt", "junk")
    t = tmp_path / "y.tar.xz"
    member = tmp_path / "two.txt"
    member.write_text("b.com\n")
    with tarfile.open(t, "w:xz") as tar:
        tar.add(member, arcname="two.txt")
    sources = list(expand([z, t]))
    assert [s.name for s in sources] == [f"{z}!inner/one.txt", f"{t}!two.txt"]
    assert [s.head() for s in sources] == [b"a.com\n", b"b.com\n"]


def test_compressed_names_and_filename(tmp_path: Path) -> None:
    path = tmp_path / "conn.00:00:00-01:00:00.log.gz"
    path.write_bytes(gzip.compress(b"hello\n"))
    source = Source(path)
    assert source.filename == "conn.00:00:00-01:00:00.log"
    assert source.head() == b"hello\n"
    assert not source.is_plain_file


def test_truncated_xz_keeps_bytes_before_break(tmp_path: Path) -> None:
    data = lzma.compress(b"line\n" * 100000)
    path = tmp_path / "d.txt.xz"
    path.write_bytes(data[: len(data) // 2])
    with Source(path).open() as stream:
        content = stream.read()
        assert stream.truncated
    assert 0 < len(content) < 500000


def test_missing_path_names_it() -> None:
    with pytest.raises(InputError, match="nope.log"):
        list(expand(["nope.log"]))


def test_reading_skips_unknown_files_in_folders_but_not_named_ones(tmp_path: Path) -> None:
    (tmp_path / "domains.txt").write_text("a.com\nb.org\n")
    junk = tmp_path / "blob.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    reading = Reading([tmp_path])
    batches = list(reading)
    assert sum(b.table.num_rows for b in batches) == 2
    assert [name for name, _ in reading.skipped] == [str(junk)]
    assert reading.totals() == {"read": 2, "parsed": 2, "rejected": 0, "skipped_files": 1}
    with pytest.raises(InputError, match="blob.bin"):
        list(Reading([junk]))


def test_tar_members_are_read_in_one_pass_and_compressed_members_decompressed(tmp_path: Path) -> None:
    inner = tmp_path / "d.txt.gz"
    inner.write_bytes(gzip.compress(b"x.com\ny.org\n"))
    plain = tmp_path / "e.txt"
    plain.write_text("z.net\n")
    archive = tmp_path / "many.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for i in range(50):
            tar.add(plain, arcname=f"dir/{i:02d}.txt")
        tar.add(inner, arcname="dir/zz.txt.gz")
    sources = list(expand([archive]))
    assert len(sources) == 51
    assert sources[-1].head() == b"x.com\ny.org\n"
    assert sources[-1].head() == b"x.com\ny.org\n"  # a spooled member can be opened again
    reading = Reading([archive])
    assert sum(b.table.num_rows for b in reading) == 52
