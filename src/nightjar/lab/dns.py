"""DNS of the office: what each host looks up and when, plus the DGA malware on a few hosts.

Benign look-ups: people's browsing and SaaS (each page pulls a few more names: fonts, analytics,
CDNs), the machines' own telemetry, update and certificate checks around the clock while they are on,
internal names (the domain controller, the file server, SRV records, `wpad` that does not exist) and
reverse look-ups. Infected hosts run one DGA each: every 50-110 minutes while the machine is on, the
bot walks the day's list until it reaches the one registered name; the rest answer NXDOMAIN.

`Lookup` rows feed both dns.log and the connections that follow a successful answer (network.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nightjar.lab import dga, domains
from nightjar.lab.formats import stable_ip, uids, write_zeek
from nightjar.lab.truth import Truth
from nightjar.lab.world import DNS_SERVER, DOMAIN, Host, World, stream

DNS_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt", "query",
              "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z",
              "answers", "TTLs", "rejected")
DNS_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string", "count", "string",
             "count", "string", "count", "string", "bool", "bool", "bool", "bool", "count", "vector[string]",
             "vector[interval]", "bool")
QTYPES = {"A": 1, "PTR": 12, "SRV": 33, "AAAA": 28}


@dataclass(slots=True)
class Lookup:
    """One DNS question and its answer, as the resolver saw it."""

    ts: float
    client: str
    name: str
    qtype: str = "A"
    rcode: str = "NOERROR"
    answers: tuple[str, ...] = ()
    ttl: float = 300.0
    provider: str = "other"
    attack: str | None = None  # truth id of the planted attack this look-up belongs to


def resolve(name: str, provider: str) -> tuple[str, ...]:
    """The stable addresses a public name answers with (1-2)."""
    prefixes = domains.PROVIDERS.get(provider, domains.PROVIDERS["other"])
    first = stable_ip(name, prefixes)
    return (first,) if hash_bit(name) else (first, stable_ip(name + "#2", prefixes))


def hash_bit(name: str) -> bool:
    return sum(name.encode()) % 3 == 0


def benign_lookups(world: World) -> list[Lookup]:
    """Every benign look-up of every host, unsorted."""
    rng = stream(world.config, "dns")
    names, probs, provider = domains.browsing_table()
    m_names, m_probs, m_provider = domains.machine_table()
    out: list[Lookup] = []
    cdn_pool = [domains.cdn_name(rng) for _ in range(60)]
    for host in world.hosts:
        if host.role == "server":
            out += _server_lookups(world, rng, host)
            continue
        rate = float(rng.uniform(25, 60))  # page views per hour while at the desk
        for t in world.activity_times(rng, host, rate):
            first = names[int(rng.choice(len(names), p=probs))]
            out.append(_answered(rng, t, host, first, provider[first]))
            for k in range(int(rng.poisson(1.6))):  # the page's other names
                if rng.random() < 0.35:
                    extra, prov = cdn_pool[int(rng.integers(len(cdn_pool)))]
                else:
                    extra = names[int(rng.choice(len(names), p=probs))]
                    prov = provider[extra]
                out.append(_answered(rng, t + 0.05 + 0.4 * k + rng.random(), host, extra, prov))
        for t in world.machine_times(rng, host, float(rng.uniform(8, 14))):
            name = m_names[int(rng.choice(len(m_names), p=m_probs))]
            out.append(_answered(rng, t, host, name, m_provider[name]))
        for t in world.machine_times(rng, host, 1.5):  # group policy, file shares, the DC
            name = str(rng.choice([f"DC01.{DOMAIN}", f"FS01.{DOMAIN}", f"_ldap._tcp.dc._msdcs.{DOMAIN}", f"wpad.{DOMAIN}"],
                                  p=[0.45, 0.3, 0.15, 0.1]))
            out.append(_internal(rng, t, host, name))
    return out


def _server_lookups(world: World, rng: np.random.Generator, host: Host) -> list[Lookup]:
    out = []
    m_names, m_probs, m_provider = domains.machine_table()
    for t in world.machine_times(rng, host, 6.0):
        name = m_names[int(rng.choice(len(m_names), p=m_probs))]
        out.append(_answered(rng, t, host, name, m_provider[name]))
    for t in world.office_times(rng, 20.0):  # reverse look-ups of clients, from the file server's logging
        ws = world.workstations()[int(rng.integers(len(world.workstations())))]
        ptr = ".".join(reversed(ws.ip.split("."))) + ".in-addr.arpa"
        out.append(Lookup(float(t), host.ip, ptr, "PTR", "NOERROR", (ws.name,), 1200.0, "internal"))
    if host.ip == DNS_SERVER:  # the DC keeps its clock from the internet
        for t in world.machine_times(rng, host, 1.0):
            out.append(_answered(rng, t, host, "time.windows.com", "microsoft"))
    return out


def _answered(rng: np.random.Generator, t: float, host: Host, name: str, provider: str) -> Lookup:
    ttl = float(rng.choice([20.0, 60.0, 300.0, 3600.0], p=[0.2, 0.3, 0.4, 0.1]))
    return Lookup(float(t), host.ip, name, "A", "NOERROR", resolve(name, provider), ttl, provider)


def _internal(rng: np.random.Generator, t: float, host: Host, name: str) -> Lookup:
    if name.startswith("wpad."):
        return Lookup(float(t), host.ip, name, "A", "NXDOMAIN", (), 0.0, "internal")
    if name.startswith("_ldap."):
        return Lookup(float(t), host.ip, name, "SRV", "NOERROR", (f"DC01.{DOMAIN}",), 600.0, "internal")
    ip = DNS_SERVER if name.startswith("DC01") else "10.20.0.11"
    return Lookup(float(t), host.ip, name, "A", "NOERROR", (ip,), 1200.0, "internal")


def dga_lookups(world: World, truth: Truth, infected: list[Host]) -> list[Lookup]:
    """The DGA bots on `infected` (one family each, in order); one truth entry per infected host."""
    rng = stream(world.config, "dga")
    out: list[Lookup] = []
    for host, family in zip(infected, dga.FAMILIES * 4, strict=False):
        seed = int(rng.integers(1 << 30))
        registered_at = {day: int(rng.integers(8, 40)) for day in range(world.config.days)}
        queried: list[str] = []
        c2 = stable_ip(f"{family}-{seed}", ("185.117", "91.243", "45.142", "193.42"))
        tid = f"dga-{sum(1 for a in truth.attacks if a.detector == 'dga') + 1}"
        first_ts = last_ts = None
        for day in range(world.config.days):
            span = world.powered(host, day)
            if span is None:
                continue
            date = (dt.datetime.fromtimestamp(world.start, dt.UTC) + dt.timedelta(days=day)).strftime("%Y-%m-%d")
            names = dga.generate(family, date, registered_at[day] + 1, seed)
            t = span[0] + rng.uniform(60, 600)
            while t < span[1]:
                for i, name in enumerate(names):
                    hit = i == len(names) - 1
                    answers = (c2,) if hit else ()
                    out.append(Lookup(t, host.ip, name, "A", "NOERROR" if hit else "NXDOMAIN", answers,
                                      300.0 if hit else 0.0, "c2" if hit else "dga", tid))
                    first_ts = t if first_ts is None else first_ts
                    last_ts = t
                    t += rng.uniform(0.05, 1.5)
                queried += [n for n in names if n not in queried]
                t += rng.uniform(50, 110) * 60
        if first_ts is None:
            continue
        truth.add("dga", "T1568.002", f"{family} DGA bot on {host.short}", first_ts,
                  {"host.name": host.name, "source.ip": host.ip, "family": family, "domains": queried,
                   "registered": sorted({dga.generate(family, d, registered_at[k] + 1, seed)[-1] for k, d in
                                         enumerate(_dates(world))})}, end=last_ts)
    return out


def _dates(world: World) -> list[str]:
    start = dt.datetime.fromtimestamp(world.start, dt.UTC)
    return [(start + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(world.config.days)]


def write_dns_log(path: Path, world: World, lookups: list[Lookup]) -> Path:
    """dns.log (Zeek TSV) of `lookups`, in time order."""
    rng = stream(world.config, "dns.log")
    lookups = sorted(lookups, key=lambda lk: lk.ts)
    ids = uids(rng, len(lookups))
    ports = rng.integers(49152, 65535, len(lookups))
    trans = rng.integers(1, 65535, len(lookups))
    rtts = rng.gamma(2.0, 0.008, len(lookups))

    def rows():
        for i, lk in enumerate(lookups):
            ok = lk.rcode == "NOERROR"
            yield (lk.ts, ids[i], lk.client, int(ports[i]), DNS_SERVER, 53, "udp", int(trans[i]), float(rtts[i]), lk.name,
                   1, "C_INTERNET", QTYPES[lk.qtype], lk.qtype, 0 if ok else 3, lk.rcode, lk.provider == "internal", False,
                   True, True, 0, list(lk.answers) if lk.answers else None,
                   [lk.ttl] * len(lk.answers) if lk.answers else None, False)

    return write_zeek(path, "dns", DNS_FIELDS, DNS_TYPES, rows(), world.start, world.end)
