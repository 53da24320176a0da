"""Synthetic attack events built from the Atomic Red Team and LOLBAS command catalogues (training only).

Not telemetry: what the catalogues say an attacker runs, written as the process events Sysmon would log.

- Atomic Red Team (`atomic_red_team_tests.csv`, MIT): each Windows test with a `command_prompt` or
  `powershell` executor, arguments at their YAML defaults, becomes its executor process
  (`"cmd.exe" /c line & line`, `powershell.exe -Command "line; line"`, parent unknown as in
  Atomic-EVTX after the harness parent is blanked) and one child per line that starts a program
  (cmd built-ins and PowerShell cmdlets start none). `PathToAtomicsFolder` is ART's default
  install folder `C:\\AtomicRedTeam\\atomics`, so no user-folder path is invented.
- LOLBAS (`lolbas_commands.csv`, GPL-3.0): each documented abuse command, placeholders filled with
  neutral values (`{PATH:.dll}` -> `C:\\ProgramData\\file.dll`, `{REMOTEURL}` -> a TEST-NET address),
  run from cmd.exe or powershell.exe.

Every row carries its ATT&CK `technique`, so leave-technique-out drops the rows of held-out
techniques (`for_training`), and a `test_dir` group (`art:<guid>`, `lolbas:<binary>`) that gates the
vocabulary like an Atomic test. None of these rows is ever evaluated on.

Not used by the shipped recipe: measured, they teach "LOLBin = attack" (docs/lotl.md, "Ideas tried
for the OTRF test"); `training.Recipe(synthetic=...)` reproduces those runs.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

ART = "lotl/atomic_red_team/atomic_red_team_tests.csv"
LOLBAS = "lotl/lolbas/lolbas_commands.csv"
ATOMIC_EVTX = "lotl/atomic_evtx/atomic_evtx_process_creation.csv.gz"
ATOMICS = "C:\\AtomicRedTeam\\atomics"
SYSTEM32 = "C:\\Windows\\System32\\"
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
# cmd.exe built-ins (no process) and words that start no program in a PowerShell line
BUILTINS = {"echo", "@echo", "set", "copy", "del", "erase", "cd", "chdir", "if", "for", "mkdir", "md", "type", "move", "ren",
            "rename", "rmdir", "rd", "call", "exit", "pushd", "popd", "goto", "rem", "::", "start", "cls", "dir", "title",
            "setlocal", "endlocal", "ver", "vol", "pause", "assoc", "ftype", "mklink", "break", "color", "path", "prompt", "date", "time"}
ENV = [(r"(?i)%temp%|%tmp%|\$env:te?mp\b", "C:\\Users\\user\\AppData\\Local\\Temp"), (r"(?i)%windir%|%systemroot%|\$env:windir\b|\$env:systemroot\b", "C:\\Windows"),
       (r"(?i)%userprofile%|\$env:userprofile\b|\$home\b", "C:\\Users\\user"), (r"(?i)%public%|\$env:public\b", "C:\\Users\\Public"),
       (r"(?i)%appdata%|\$env:appdata\b", "C:\\Users\\user\\AppData\\Roaming"), (r"(?i)%localappdata%|\$env:localappdata\b", "C:\\Users\\user\\AppData\\Local"),
       (r"(?i)%programdata%|\$env:programdata\b", "C:\\ProgramData"), (r"(?i)%computername%|\$env:computername\b", "WS01"),
       (r"(?i)%username%|\$env:username\b", "user"), (r"(?i)%systemdrive%|\$env:systemdrive\b", "C:")]
PROGRAM = re.compile(r"[A-Za-z0-9_.:\\ ()-]+")  # a program path or name (no variables, braces, pipes)
SCRIPT_HOSTS = {"vbs": "cscript.exe", "wsf": "cscript.exe", "js": "cscript.exe", "ps1": "powershell.exe", "bat": "cmd.exe", "cmd": "cmd.exe"}
PLACEHOLDER = re.compile(r"\{([A-Z_]+)(?::([^}]*))?\}")
COLUMNS = ["@timestamp", "host.name", "user.name", "event.code", "process.entity_id", "process.pid", "process.name",
           "process.executable", "process.command_line", "process.parent.name", "process.parent.executable",
           "process.parent.entity_id", "process.pe.original_file_name", "winlog.event_data.IntegrityLevel", "technique", "test_dir", "label"]


def _expand(line: str) -> str:
    for pattern, value in ENV:
        line = re.sub(pattern, lambda _m, v=value: v, line)
    return line


def _program(line: str, known: dict[str, str]) -> tuple[str, str] | None:
    """(name, executable) of the program a command line starts, or None for a built-in, cmdlet, variable or script.

    A word without a path or `.exe` starts a program only when it names a known binary (`known`: name -> usual folder).
    """
    text = line.strip().lstrip("&@ ").strip()
    if not text:
        return None
    first = text[1:].split(text[0], 1)[0] if text[0] in "\"'" else text.split()[0]
    if not PROGRAM.fullmatch(first):
        return None
    name = first.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if name in BUILTINS:
        return None
    if not name.endswith(".exe"):
        if "." in name or name + ".exe" not in known:
            return None
        name += ".exe"
    exe = first if "\\" in first else known.get(name, "") + name if name in known else ""
    return name, exe


def art_events(data: Path, known: dict[str, str], only_new: bool = False) -> pd.DataFrame:
    """Executor and child events of every Windows command_prompt/powershell Atomic test (`only_new`: of those absent from Atomic-EVTX)."""
    tests = pd.read_csv(Path(data) / ART, dtype=str).fillna("")
    tests = tests[tests["platforms"].str.contains("windows") & tests["executor"].isin(["command_prompt", "powershell"])]
    if only_new:  # tests that left no process event in Atomic-EVTX
        seen = pd.read_csv(Path(data) / ATOMIC_EVTX, usecols=["test_guid"], dtype=str)["test_guid"].dropna()
        tests = tests[~tests["test_guid"].isin(set(seen))]
    rows: list[dict] = []
    for t in tests.itertuples(index=False):
        text = t.command_rendered_defaults.replace("PathToAtomicsFolder", ATOMICS)
        if "#{" in text or not text.strip():
            continue
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("#", "rem ", "REM "))]
        if not lines:
            continue
        shell = "cmd.exe" if t.executor == "command_prompt" else "powershell.exe"
        root = f"art-{t.test_guid}"
        whole = ' & '.join(lines) if shell == "cmd.exe" else "; ".join(lines)
        cmd = f'"cmd.exe" /c {whole}' if shell == "cmd.exe" else f'powershell.exe -Command "{whole}"'
        group, tech = f"art:{t.test_guid}", t.technique_id
        shell_exe = SYSTEM32 + "cmd.exe" if shell == "cmd.exe" else POWERSHELL
        rows.append(_row(root, shell, shell_exe, cmd, "", "", "", tech, group))
        for i, line in enumerate(lines):
            prog = _program(line, known)
            if prog is not None:
                rows.append(_row(f"{root}-{i}", prog[0], prog[1], _expand(line), shell, shell_exe, root, tech, group))
    return pd.DataFrame(rows, columns=COLUMNS)


def _fill(command: str, key: int) -> str:
    """A LOLBAS command with its placeholders filled by neutral values."""
    def one(m: re.Match) -> str:
        kind, ext = m.group(1), (m.group(2) or "")
        ext = ext if ext.startswith(".") else ""
        if kind == "REMOTEURL":
            return "https://198.51.100.7/file" + ext
        if kind == "PATH_SMB":
            return "\\\\198.51.100.7\\share\\file" + ext
        if kind in ("PATH", "PATH_ABSOLUTE"):
            return ("C:\\ProgramData\\file" if kind == "PATH_ABSOLUTE" or key % 2 else "file") + ext
        if kind == "CMD":
            return "calc.exe"
        if kind in ("GUID", "CLSID"):
            return "{0c2e9f1b-7a4d-4b36-9d1e-5f8a2c6b3e47}"
        if kind == "LSASS_PID":
            return "672"
        if kind == "PATH_DLL":
            return "C:\\ProgramData\\file.dll"
        return "x"
    return PLACEHOLDER.sub(one, command)


def lolbas_events(data: Path, known: dict[str, str]) -> pd.DataFrame:
    """One event per documented LOLBAS abuse command, run from cmd.exe or powershell.exe."""
    lol = pd.read_csv(Path(data) / LOLBAS, dtype=str).fillna("")
    rows = []
    for i, r in enumerate(lol.itertuples(index=False)):
        key = zlib.crc32(r.command.encode())
        cmd = _fill(r.command, key)
        name = r.binary.strip().lower()
        paths = [p.strip() for p in r.full_paths.split(";") if ":\\" in p and not set("<*[") & set(p)]
        exe = paths[0] if paths else ""
        if not name.endswith(".exe"):  # a library or script: the process is the program its command starts
            prog = _program(cmd, known)
            if prog is None:  # a script run by name: its host runs it
                host = SCRIPT_HOSTS.get(name.rsplit(".", 1)[-1], "cscript.exe")
                cmd, prog = f"{host} {cmd}", (host, "")
            name, exe = prog[0], known.get(prog[0], SYSTEM32) + prog[0]
        parent = "cmd.exe" if key % 3 else "powershell.exe"
        rows.append(_row(f"lolbas-{i}", name, exe, cmd, parent, SYSTEM32 + parent if parent == "cmd.exe" else POWERSHELL, "",
                         r.mitre_id.split(";")[0].strip(), f"lolbas:{name}"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(eid: str, name: str, exe: str, cmd: str, parent: str, parent_exe: str, parent_id: str, technique: str, group: str) -> dict:
    return {"@timestamp": pd.Timestamp("2026-01-01T00:00:00Z"), "host.name": "SYNTHETIC", "user.name": "CORP\\user", "event.code": "1",
            "process.entity_id": eid, "process.pid": zlib.crc32(eid.encode()) % 60000 + 4, "process.name": name,
            "process.executable": exe, "process.command_line": cmd, "process.parent.name": parent,
            "process.parent.executable": parent_exe, "process.parent.entity_id": parent_id, "process.pe.original_file_name": "",
            "winlog.event_data.IntegrityLevel": "Medium", "technique": technique or "none", "test_dir": group, "label": True}


def catalogue_events(data: Path, known: dict[str, str], sources: tuple[str, ...] = ("art", "lolbas")) -> pd.DataFrame:
    """The synthetic attack rows of the named catalogues (`art`, `art_new`: Atomic tests absent from Atomic-EVTX, `lolbas`)."""
    parts = [art_events(data, known, only_new=s == "art_new") for s in sources if s in ("art", "art_new")]
    parts += [lolbas_events(data, known) for s in sources if s == "lolbas"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def known_programs(locations: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Binary name -> its usual folder (System32 when listed), from the knowledge's usual folders."""
    out = {}
    for name, dirs in locations.items():
        if dirs:
            pick = next((d for d in dirs if d.endswith("\\system32\\")), dirs[0])
            out[name] = pick.replace("c:\\windows\\system32\\", SYSTEM32)
    return out


def for_training(synthetic: pd.DataFrame, held_out: Iterable[str]) -> pd.DataFrame:
    """The synthetic rows whose technique is not held out (test fold or validation techniques)."""
    held = set(held_out)
    return synthetic[~np.isin(synthetic["technique"].to_numpy(dtype=object), list(held))].reset_index(drop=True)
