"""Windows process creations (Sysmon EID 1) of every host: the benign background and the LotL chains.

Each host has its long-lived processes (services, the task scheduler's svchost, DcomLaunch, explorer,
Outlook, the SCCM agent); a workstation switched off at night boots again in the morning and those
are logged then, with the user's logon. Short-lived processes hang off them with real entity ids
(`process.entity_id`, `process.parent.entity_id`), so trees can be rebuilt: shells get their conhost,
Chrome its renderers, admins' shells their children. Workstations are written as flat ECS NDJSON
(winlogbeat with dotted keys); the servers as the `evtx` package renders Sysmon records
(`{"Event": {"System": ..., "EventData": ...}}`), one per line. The chains are in `chains.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nightjar.lab import process_catalog as cat
from nightjar.lab.domains import TENANT
from nightjar.lab.formats import guid, write_ndjson
from nightjar.lab.world import Host, World, iso, stream

SYSTEM = "NT AUTHORITY\\SYSTEM"


@dataclass(slots=True)
class Proc:
    """One process creation."""

    ts: float
    host: Host
    pid: int
    entity: str
    exe: str
    cmd: str
    user: str
    integrity: str
    parent: Proc | None
    cwd: str = "C:\\Windows\\system32\\"
    attack: str | None = None

    @property
    def name(self) -> str:
        return self.exe.rsplit("\\", 1)[-1]


class HostProcesses:
    """Starts processes on one host, keeping its roots and the latest shell, browser and Word."""

    def __init__(self, world: World, host: Host, rng: np.random.Generator, out: list[Proc]) -> None:
        self.world, self.host, self.rng, self.out = world, host, rng, out
        self.roots: dict[int, dict[str, Proc]] = {}
        self.latest: dict[str, Proc] = {}

    def start(self, ts: float, parent: Proc | None, exe: str, cmd: str, user: str | None = None,
              integrity: str | None = None, attack: str | None = None, log: bool = True) -> Proc:
        pid = int(self.rng.integers(250, 8000)) * 4
        user = user or (parent.user if parent else SYSTEM)
        integrity = integrity or (parent.integrity if parent else "System")
        proc = Proc(ts, self.host, pid, guid(self.world.config.seed, self.host.name, pid, round(ts, 3), cmd), exe, cmd, user,
                    integrity, parent, attack=attack)
        if log:
            self.out.append(proc)
        return proc

    def root(self, key: str, ts: float) -> Proc:
        """The long-lived process `key` running at `ts` (booting the host that day when it was off)."""
        day = 0 if self.host.role == "server" or self.host.stays_on else int((ts - self.world.start) // 86400)
        if day not in self.roots:
            self.roots[day] = self._boot(day)
        return self.roots[day][key]

    def _boot(self, day: int) -> dict[str, Proc]:
        span = self.world.powered(self.host, day)
        always_on = self.host.role == "server" or self.host.stays_on
        t0 = self.world.start - 86400 * 3 if always_on or span is None else span[0]
        logged = not always_on and span is not None
        wininit = self.start(t0, None, f"{cat.SYS32}\\wininit.exe", "wininit.exe", SYSTEM, "System", log=False)
        roots = {"services": self.start(t0 + 2, wininit, *cat.ROOTS["services"], log=logged)}
        for i, key in enumerate(("schedule", "dcom", "ccm")):
            roots[key] = self.start(t0 + 3 + i, roots["services"], *cat.ROOTS[key], log=logged)
        if self.host.role != "server":
            work = self.world.schedule[self.host.name][day] if not always_on else None
            logon = work.arrive if work else t0 + 600
            userinit = self.start(logon - 1, roots["services"], f"{cat.SYS32}\\userinit.exe", "C:\\Windows\\system32\\userinit.exe",
                                  self.host.account, "Medium", log=False)
            roots["explorer"] = self.start(logon, userinit, *cat.ROOTS["explorer"], self.host.account, "Medium", log=logged)
            roots["outlook"] = self.start(logon + 90, roots["explorer"], *cat.ROOTS["outlook"], log=logged)
        return roots

    def run(self, ts: float, entry: tuple[str, str, str, float]) -> Proc | None:
        """Start a catalog entry at `ts`, resolving its parent; None when the parent is not around."""
        key, exe, template, _ = entry
        if key in cat.ROOTS:
            if key in ("explorer", "outlook") and self.host.role == "server":
                return None
            parent = self.root(key, ts)
        elif key == "shell":
            parent = self.latest.get("shell")
            if parent is None or ts - parent.ts > 1800:
                shell_exe = cat.PS if self.rng.random() < 0.5 else cat.CMD
                parent = self._shell(ts - 20, shell_exe)
        else:
            parent = self.latest.get(key)
            if parent is None or ts - parent.ts > 4 * 3600:
                return None
        cmd = self._fill(template, exe)
        machine = key in ("services", "schedule", "dcom", "ccm") and "RuntimeBroker" not in exe and "backgroundTask" not in exe
        user = SYSTEM if machine else self.host.account
        integrity = "System" if machine else ("High" if self.host.role == "admin" and key == "shell" else "Medium")
        proc = self.start(ts, parent, exe, cmd, user, integrity)
        self._remember(proc)
        return proc

    def _shell(self, ts: float, exe: str) -> Proc:
        proc = self.start(ts, self.root("explorer", ts), exe, f'"{exe}" ', self.host.account,
                          "High" if self.host.role == "admin" else "Medium")
        self._remember(proc)
        return proc

    def _remember(self, proc: Proc) -> None:
        name = proc.name.lower()
        if name in ("cmd.exe", "powershell.exe") and proc.parent and proc.parent.name.lower() == "explorer.exe":
            self.latest["shell"] = proc
        if name in ("cmd.exe", "powershell.exe"):
            self.start(proc.ts + 0.01, proc, f"{cat.SYS32}\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1")
        if name == "chrome.exe" and "--type=" not in proc.cmd:
            self.latest["browser"] = proc
        if name == "winword.exe":
            self.latest["word"] = proc

    def _fill(self, template: str, exe: str) -> str:
        rng = self.rng
        other = f"{['j', 'm', 's', 'k'][int(rng.integers(4))]}.{['weber', 'park', 'lopez', 'ng'][int(rng.integers(4))]}"
        return template.format(exe=exe, user=self.host.user, tenant=TENANT, dept=self.host.department.lower(),
                               doc=cat.DOCS[int(rng.integers(len(cat.DOCS)))], n=int(rng.integers(100, 9999)), other=other,
                               guid=guid("ccm", rng.integers(1 << 30)).strip("{}"))


def _weights(entries: tuple[tuple[str, str, str, float], ...]) -> np.ndarray:
    w = np.asarray([e[3] for e in entries], dtype=float)
    return w / w.sum()


def background(world: World) -> tuple[list[Proc], dict[str, HostProcesses]]:
    """Every benign process creation, and each host's process state (the chains start from it)."""
    rng = stream(world.config, "process")
    out: list[Proc] = []
    states: dict[str, HostProcesses] = {}
    for host in world.hosts:
        hp = states[host.name] = HostProcesses(world, host, rng, out)
        machine = cat.MACHINE + (cat.SERVER if host.role == "server" else ())
        mw = _weights(machine)
        events = [(float(t), machine[int(rng.choice(len(machine), p=mw))]) for t in world.machine_times(rng, host, 5.0)]
        if host.role != "server":
            user = cat.USER + (cat.ADMIN if host.role == "admin" else ()) + (cat.ENGINEER if host.department == "ENG" else ())
            uw = _weights(user)
            rate = 9.0 if host.role == "admin" else 5.0
            events += [(float(t), user[int(rng.choice(len(user), p=uw))]) for t in world.activity_times(rng, host, rate)]
        for day in range(world.config.days):
            if world.powered(host, day) is not None:
                hp.root("services", world.start + day * 86400 + 43200)
        for ts, entry in sorted(events, key=lambda e: e[0]):
            hp.run(ts, entry)
    return out, states


def _sha256(proc: Proc) -> str:
    key = proc.exe.lower() if proc.attack is None else f"{proc.exe.lower()}|{proc.attack}"
    return hashlib.sha256(key.encode()).hexdigest()


def ecs_record(proc: Proc) -> dict[str, object]:
    """Flat ECS (dotted keys), the way winlogbeat ships a Sysmon EID 1."""
    parent = proc.parent
    return {
        "@timestamp": iso(proc.ts), "event.code": "1", "event.category": "process", "event.type": "start",
        "event.provider": "Microsoft-Windows-Sysmon", "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
        "host.name": proc.host.name, "user.name": proc.user, "process.entity_id": proc.entity, "process.pid": proc.pid,
        "process.executable": proc.exe, "process.name": proc.name, "process.command_line": proc.cmd,
        "process.working_directory": proc.cwd, "process.hash.sha256": _sha256(proc),
        "process.parent.entity_id": parent.entity if parent else None, "process.parent.pid": parent.pid if parent else None,
        "process.parent.executable": parent.exe if parent else None, "process.parent.name": parent.name if parent else None,
        "process.parent.command_line": parent.cmd if parent else None, "winlog.event_data.IntegrityLevel": proc.integrity,
    }


def evtx_record(proc: Proc, record_id: int) -> dict[str, object]:
    """The `evtx` package's JSON rendering of a Sysmon EID 1 record."""
    parent = proc.parent
    digest = _sha256(proc)
    data = {
        "RuleName": "-", "UtcTime": iso(proc.ts).replace("T", " ").rstrip("Z"), "ProcessGuid": proc.entity, "ProcessId": proc.pid,
        "Image": proc.exe, "CommandLine": proc.cmd, "CurrentDirectory": proc.cwd, "User": proc.user,
        "IntegrityLevel": proc.integrity, "Hashes": f"SHA256={digest.upper()}",
        "ParentProcessGuid": parent.entity if parent else "-", "ParentProcessId": parent.pid if parent else 0,
        "ParentImage": parent.exe if parent else "-", "ParentCommandLine": parent.cmd if parent else "-",
    }
    system = {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
        "EventID": 1, "Version": 5, "Level": 4, "Task": 1, "Opcode": 0, "Keywords": "0x8000000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": iso(proc.ts + 0.002).replace("Z", "000Z")}},
        "EventRecordID": record_id, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": proc.host.name,
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }
    return {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                      "System": system, "EventData": data}}


def write_processes(folder: Path, procs: list[Proc]) -> list[Path]:
    """workstations.ndjson (flat ECS) and servers-sysmon.json (evtx records), each in time order."""
    procs = sorted(procs, key=lambda p: p.ts)
    ws = [ecs_record(p) for p in procs if p.host.role != "server"]
    servers = [evtx_record(p, i + 1) for i, p in enumerate(p for p in procs if p.host.role == "server")]
    return [write_ndjson(folder / "workstations.ndjson", ws), write_ndjson(folder / "servers-sysmon.json", servers)]
