"""The periodic traffic every Windows workstation makes by itself: the background a beacon detector must not call C2.

Real workstations poll and keep channels open all day: telemetry uploads, antivirus cloud checks,
mail and calendar sync, push-notification and chat channels held open, an EDR sensor's session,
browser and Office update checks. A RITA-style score raises 11-25 alerts per workstation-day on this
kind of traffic. Each `Service` below is modelled on such a client (names are the real endpoints;
periods, jitter and sizes are plausible values, not measurements of a particular product):

- `poll`: a request every `period` seconds ± `jitter` (a share of the period, uniform), of about
  `sent` bytes, answered with about `received` bytes;
- `session`: a TLS connection held open `period` seconds, then re-opened (Zeek logs each piece
  when it closes).

A service runs while its host is powered, starting at a random phase; its name is looked up about
hourly (the answer is one of the service's stable addresses, so hosts share destinations, as on a
real CDN). The look-ups go through `network.web_traffic` like every other one, which writes their
DNS packets but no follow-on browsing for them (provider "service").
"""

from __future__ import annotations

from dataclasses import dataclass

from nightjar.lab.dns import Lookup, resolve
from nightjar.lab.network import Conn
from nightjar.lab.world import World, stream


@dataclass(frozen=True)
class Service:
    """One periodic client of a workstation (see the module docstring)."""

    name: str
    mode: str  # poll | session
    period: float
    jitter: float = 0.05
    sent: int = 900
    received: int = 1500
    share: float = 1.0  # share of workstations running it
    provider: str = "microsoft"


SERVICES = (
    Service("v10.events.data.microsoft.com", "poll", 900.0, 0.10, 2400, 400),  # Windows telemetry upload
    Service("wdcp.microsoft.com", "poll", 1800.0, 0.05, 1100, 700),  # Defender cloud protection heartbeat
    Service("definitionupdates.microsoft.com", "poll", 7200.0, 0.10, 700, 1900),  # Defender signature check
    Service("outlook.office365.com", "poll", 300.0, 0.02, 1300, 2100, 0.9),  # mail and calendar sync
    Service("client.wns.windows.com", "session", 3600.0, 0.02, 4200, 3800),  # push notifications, held open
    Service("go.trouter.teams.microsoft.com", "session", 1800.0, 0.05, 2600, 5200, 0.8),  # Teams channel, held open
    Service("ts01-b.cloudsink.net", "session", 14400.0, 0.01, 30000, 9000, 1.0, "amazon"),  # EDR sensor session
    Service("settings-win.data.microsoft.com", "poll", 3600.0, 0.15, 800, 2600),  # Windows settings and flights
    Service("oneclient.sfx.ms", "poll", 600.0, 0.10, 600, 1200, 0.7),  # OneDrive client checks
    Service("msedge.api.cdp.microsoft.com", "poll", 18000.0, 0.10, 900, 1500),  # browser update check
)


def service_traffic(world: World) -> tuple[list[Conn], list[Lookup]]:
    """The connections and DNS look-ups of every workstation's periodic services."""
    rng = stream(world.config, "services")
    conns: list[Conn] = []
    lookups: list[Lookup] = []
    for host in world.workstations():
        for svc in SERVICES:
            if rng.random() >= svc.share:
                continue
            addresses = resolve(svc.name, svc.provider)
            address = addresses[int(rng.integers(len(addresses)))]
            for day in range(world.config.days):
                span = world.powered(host, day)
                if span is None:
                    continue
                t, last_lookup = span[0] + rng.uniform(20, min(svc.period, 900.0)), -1e18
                while t < span[1]:
                    if t - last_lookup > 3600:
                        lookups.append(Lookup(t - 0.03, host.ip, svc.name, "A", "NOERROR", addresses, 300.0, "service"))
                        last_lookup = t
                    if svc.mode == "session":
                        held = min(svc.period * (1 + rng.uniform(-svc.jitter, svc.jitter)), span[1] - t)
                        conns.append(Conn(t, host.ip, address, 443, "tcp", "ssl", held, int(svc.sent * rng.uniform(0.7, 1.3)),
                                          int(svc.received * rng.uniform(0.7, 1.3)), "SF"))
                        t += held + rng.uniform(0.5, 5.0)
                    else:
                        conns.append(Conn(t, host.ip, address, 443, "tcp", "ssl", float(rng.uniform(0.1, 0.8)),
                                          int(svc.sent * rng.uniform(0.95, 1.05)), int(svc.received * rng.uniform(0.8, 1.2)), "SF"))
                        t += svc.period * (1 + rng.uniform(-svc.jitter, svc.jitter))
    return conns, lookups
