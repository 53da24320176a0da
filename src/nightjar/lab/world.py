"""The lab's organisation: hosts, users, servers, office hours, and when each machine is busy.

Everything comes from a seed through numpy's `Generator` (no clock, no global state), so the same
`LabConfig` gives the same world. Times are UTC epoch seconds from a fixed Monday, 2026-03-02.

A working day: a person arrives around 08:30 (± 25 min), leaves around 17:30 (± 40 min) and is away
for about an hour at lunch; a few stay late or log in on the weekend. Servers run all the time with
load that follows the office. Some workstations stay on overnight (updates and telemetry then),
the rest are switched off.

Example:
    >>> world = build_world(LabConfig(hosts=8, days=1, seed=3))
    >>> len(world.hosts), world.hosts[0].role
    (8, 'server')
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field

import numpy as np

LAB_VERSION = 2
EPOCH = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
DOMAIN = "corp.nightjar.lab"
NETBIOS = "CORP"
DNS_SERVER = "10.20.0.10"  # the domain controller resolves for everyone, as in most AD networks
PROXY = "10.20.0.5"
DEPARTMENTS = ("FIN", "HR", "SALES", "ENG", "OPS", "MKT", "LEGAL")
FIRST = ("anna", "ben", "carla", "david", "eva", "farid", "grace", "hugo", "irene", "jonas", "kira", "liam", "maria",
         "nils", "olga", "pablo", "quinn", "rosa", "samir", "tara", "umar", "vera", "will", "xenia", "yusuf", "zoe")
LAST = ("meyer", "okafor", "smith", "novak", "garcia", "chen", "kowalski", "dubois", "rossi", "nakamura", "silva",
        "jensen", "ahmed", "brown", "fischer", "moreau", "larsen", "ivanova", "murphy", "santos")


@dataclass(frozen=True)
class LabConfig:
    """What to generate: number of hosts (servers included), days from 2026-03-02, seed."""

    hosts: int = 20
    days: int = 2
    seed: int = 0
    proxy: bool = False  # beacon over HTTP through the proxy as well as the direct one

    def check(self) -> None:
        """Raise ValueError for sizes the lab cannot populate."""
        if not 6 <= self.hosts <= 500:
            raise ValueError(f"The 'hosts' parameter of the lab must be an int in 6..500. Got {self.hosts}.")
        if not 1 <= self.days <= 31:
            raise ValueError(f"The 'days' parameter of the lab must be an int in 1..31. Got {self.days}.")


@dataclass(frozen=True)
class Host:
    """One machine: name (FQDN), IPv4, role (server, admin, staff), its user, and whether it stays on at night."""

    name: str
    ip: str
    role: str
    user: str
    stays_on: bool
    department: str = "IT"

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def account(self) -> str:
        return f"{NETBIOS}\\{self.user}"


@dataclass
class Workday:
    """When one host's user is at the machine on one day (epoch seconds), or None when not in."""

    arrive: float
    leave: float
    lunch: tuple[float, float]


@dataclass
class World:
    """The organisation and its calendar."""

    config: LabConfig
    hosts: list[Host]
    schedule: dict[str, list[Workday | None]] = field(default_factory=dict)

    @property
    def start(self) -> float:
        return EPOCH.timestamp()

    @property
    def end(self) -> float:
        return self.start + self.config.days * 86400.0

    def workstations(self) -> list[Host]:
        return [h for h in self.hosts if h.role != "server"]

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name or h.short == name)

    def is_weekend(self, day: int) -> bool:
        return (EPOCH + dt.timedelta(days=day)).weekday() >= 5

    def powered(self, host: Host, day: int) -> tuple[float, float] | None:
        """The span a workstation is on during `day` (whole day for servers and machines left on)."""
        day0 = self.start + day * 86400.0
        if host.role == "server" or host.stays_on:
            return day0, day0 + 86400.0
        work = self.schedule[host.name][day]
        return None if work is None else (work.arrive - 300.0, work.leave + 120.0)

    def activity_times(self, rng: np.random.Generator, host: Host, per_hour: float) -> np.ndarray:
        """Times of user-driven events: `per_hour` while the user is in (less at lunch), none otherwise."""
        out = []
        for work in self.schedule[host.name]:
            if work is None:
                continue
            n = rng.poisson(per_hour * (work.leave - work.arrive) / 3600.0)
            t = rng.uniform(work.arrive, work.leave, n)
            at_lunch = (t >= work.lunch[0]) & (t < work.lunch[1])
            keep = ~at_lunch | (rng.random(n) < 0.15)
            # a slow start and a quiet last half hour: people read mail first and pack up last
            ramp = np.clip((t - work.arrive) / 1800.0, 0.3, 1.0) * np.clip((work.leave - t) / 1800.0, 0.4, 1.0)
            keep &= rng.random(n) < ramp
            out.append(t[keep])
        return np.sort(np.concatenate(out)) if out else np.empty(0)

    def machine_times(self, rng: np.random.Generator, host: Host, per_hour: float) -> np.ndarray:
        """Times of machine-driven events (services, telemetry): a steady rate whenever the host is on."""
        out = []
        for day in range(self.config.days):
            span = self.powered(host, day)
            if span is None:
                continue
            n = rng.poisson(per_hour * (span[1] - span[0]) / 3600.0)
            out.append(rng.uniform(span[0], span[1], n))
        return np.sort(np.concatenate(out)) if out else np.empty(0)

    def office_times(self, rng: np.random.Generator, per_hour: float, weekend_share: float = 0.05) -> np.ndarray:
        """Server load that follows the office: `per_hour` from 08:00 to 18:00 on weekdays, a trickle otherwise."""
        out = []
        for day in range(self.config.days):
            day0 = self.start + day * 86400.0
            peak = per_hour * (weekend_share if self.is_weekend(day) else 1.0)
            out.append(rng.uniform(day0 + 8 * 3600, day0 + 18 * 3600, rng.poisson(peak * 10)))
            out.append(rng.uniform(day0, day0 + 86400.0, rng.poisson(per_hour * 0.04 * 24)))
        return np.sort(np.concatenate(out))


def stream(config: LabConfig, name: str) -> np.random.Generator:
    """An independent generator per part of the lab, so adding events to one part leaves the others unchanged."""
    return np.random.default_rng([config.seed, zlib.crc32(name.encode())])


def build_world(config: LabConfig) -> World:
    """Hosts, users and the calendar of `config`."""
    config.check()
    rng = stream(config, "world")
    servers = [Host(f"DC01.{DOMAIN}", DNS_SERVER, "server", "SYSTEM", True), Host(f"FS01.{DOMAIN}", "10.20.0.11", "server", "SYSTEM", True)]
    people = rng.permutation(len(FIRST) * len(LAST))
    n_ws = config.hosts - len(servers)
    n_admin = max(1, n_ws // 9)
    hosts = list(servers)
    for i in range(n_ws):
        person = int(people[i % len(people)])
        user = f"{FIRST[person % len(FIRST)]}.{LAST[person // len(FIRST)]}"
        if i < n_admin:
            role, dept = "admin", "IT"
        else:
            role, dept = "staff", DEPARTMENTS[int(rng.integers(len(DEPARTMENTS)))]
        number = sum(1 for h in hosts if h.department == dept and h.role != "server") + 1
        name = f"{'IT' if role == 'admin' else dept}-WS{number:02d}.{DOMAIN}"
        ip = f"10.20.{1 + i // 200}.{20 + i % 200}"
        hosts.append(Host(name, ip, role, user, bool(rng.random() < 0.35 or role == "admin"), dept))
    world = World(config, hosts)
    for host in world.workstations():
        world.schedule[host.name] = [_workday(rng, world, day, host) for day in range(config.days)]
    return world


def _workday(rng: np.random.Generator, world: World, day: int, host: Host) -> Workday | None:
    day0 = world.start + day * 86400.0
    if world.is_weekend(day):
        if rng.random() > (0.25 if host.role == "admin" else 0.06):
            return None
        arrive = day0 + rng.uniform(10, 14) * 3600
        return Workday(arrive, arrive + rng.uniform(0.5, 2.5) * 3600, (0.0, 0.0))
    if rng.random() < 0.04:  # off sick or on leave
        return None
    arrive = day0 + float(np.clip(rng.normal(8.5, 0.42), 7.0, 10.5)) * 3600
    leave = day0 + float(np.clip(rng.normal(17.5, 0.65), 15.5, 20.5)) * 3600
    lunch0 = day0 + float(rng.uniform(11.8, 13.0)) * 3600
    return Workday(arrive, leave, (lunch0, lunch0 + rng.uniform(0.5, 1.1) * 3600))


def iso(ts: float) -> str:
    """Epoch seconds -> ISO 8601 UTC with milliseconds and a Z."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
