"""Zeek conn.log and http.log of the office: web traffic after each DNS answer, the domain's own
traffic (Kerberos, LDAP, SMB), NTP, update and certificate checks over plain HTTP, and the C2 beacons.

Every connection follows from something: a successful look-up of a public name is followed by one to
three TLS connections to its address (or an HTTP request for the certificate and update hosts);
workstations talk to the domain controller and the file server while people work; everything keeps
its clock from the DC (a periodic, benign pair) and the DC from time.windows.com. A beacon is a
`BeaconSpec`: a host calling a C2 every `interval` seconds ± `jitter` (a share of the interval, drawn
uniformly), small requests and replies with an occasional larger task, over TLS or plain HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nightjar.lab import domains
from nightjar.lab.dns import Lookup
from nightjar.lab.formats import uids, write_zeek
from nightjar.lab.world import DNS_SERVER, Host, World, stream

CONN_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents")
CONN_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
              "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]")
HTTP_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "host", "uri",
               "referrer", "version", "user_agent", "request_body_len", "response_body_len", "status_code", "status_msg",
               "tags", "resp_mime_types")
HTTP_TYPES = ("time", "string", "addr", "port", "addr", "port", "count", "string", "string", "string", "string", "string",
              "string", "count", "count", "count", "string", "set[enum]", "vector[string]")
FS01 = "10.20.0.11"
UA_WINDOWS = "Microsoft-CryptoAPI/10.0"
UA_UPDATE = "Microsoft-Delivery-Optimization/10.0"
UA_BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0")


@dataclass(slots=True)
class Conn:
    """One connection, enough to write a conn.log row."""

    ts: float
    src: str
    dst: str
    port: int
    proto: str = "tcp"
    service: str | None = "ssl"
    duration: float | None = 0.5
    sent: int | None = 800
    received: int | None = 4000
    state: str = "SF"
    uid: str = ""


@dataclass(slots=True)
class Http:
    """One HTTP request with its reply; it gets a conn.log row with the same uid."""

    ts: float
    src: str
    dst: str
    host: str
    uri: str
    method: str = "GET"
    user_agent: str = UA_BROWSER
    status: int = 200
    body: int = 1200
    mime: str | None = "text/html"
    referrer: str | None = None
    port: int = 80
    attack: str | None = None
    uid: str = ""


@dataclass
class BeaconSpec:
    """A C2 channel: who calls whom, how often, from when to when."""

    host: Host
    c2_ip: str
    domain: str
    start: float
    end: float
    interval: float = 300.0
    jitter: float = 0.2
    port: int = 443
    uri: str = "/api/v2/status"
    http: bool = False
    attack: str | None = field(default=None)


def web_traffic(world: World, lookups: list[Lookup]) -> tuple[list[Conn], list[Http]]:
    """The connections and HTTP requests that follow the answered look-ups, and the DNS traffic itself."""
    rng = stream(world.config, "web")
    conns: list[Conn] = []
    http: list[Http] = []
    for lk in lookups:
        conns.append(Conn(lk.ts, lk.client, DNS_SERVER, 53, "udp", "dns", 0.01 + rng.random() * 0.05, 30 + len(lk.name),
                          60 + 16 * len(lk.answers) if lk.rcode == "NOERROR" else 30 + len(lk.name), "SF"))
        if lk.qtype != "A" or not lk.answers or lk.provider in ("internal", "service") or lk.attack is not None:
            continue
        t = lk.ts + 0.02 + rng.random() * 0.1
        if lk.name in domains.HTTP_MACHINE:
            uri = (f"/MFEwTzBNMEswSTAJBgUrDgMCGgUABBQ{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), 20))}"
                   if "ocsp" in lk.name or "lencr" in lk.name
                   else f"/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab?{int(rng.integers(1 << 31)):x}")
            ua = UA_UPDATE if "delivery" in lk.name else UA_WINDOWS
            http.append(Http(t, lk.client, lk.answers[0], lk.name, uri, "GET", ua, 200, int(rng.integers(400, 6000)),
                             "application/ocsp-response" if "ocsp" in lk.name else "application/vnd.ms-cab-compressed"))
            continue
        for _ in range(1 + int(rng.poisson(0.6))):
            sent = int(rng.lognormal(6.9, 0.8))
            conns.append(Conn(t, lk.client, lk.answers[0], 443, "tcp", "ssl", float(rng.lognormal(0.5, 1.4)), sent,
                              int(sent * rng.lognormal(2.0, 1.3)), "SF"))
            t += rng.random() * 2
    return conns, http


def domain_traffic(world: World) -> list[Conn]:
    """Kerberos, LDAP and SMB while people work; NTP all the time (every host to the DC, the DC out)."""
    rng = stream(world.config, "domain")
    conns: list[Conn] = []
    for host in world.workstations():
        for t in world.activity_times(rng, host, 6.0):
            port = int(rng.choice([88, 389, 445, 445, 135]))
            dst = FS01 if port == 445 and rng.random() < 0.7 else DNS_SERVER
            sent = int(rng.lognormal(7.5, 1.0))
            conns.append(Conn(float(t), host.ip, dst, port, "tcp", {88: "krb_tcp", 389: "ldap", 445: "smb", 135: "dce_rpc"}[port],
                              float(rng.lognormal(0, 1.5)), sent, int(sent * rng.lognormal(1.5, 1.2)), "SF"))
        conns += _ntp(world, rng, host, DNS_SERVER, period=3600.0)
    dc = world.hosts[0]
    conns += _ntp(world, rng, dc, "20.101.57.9", period=1024.0)
    return conns


def _ntp(world: World, rng: np.random.Generator, host: Host, server: str, period: float) -> list[Conn]:
    out = []
    for day in range(world.config.days):
        span = world.powered(host, day)
        if span is None:
            continue
        t = span[0] + rng.uniform(5, 60)
        while t < span[1]:
            out.append(Conn(t, host.ip, server, 123, "udp", "ntp", 0.02 + rng.random() * 0.02, 48, 48, "SF"))
            t += period + rng.normal(0, 0.5)
    return out


def beacon_traffic(world: World, spec: BeaconSpec) -> tuple[list[Conn], list[Http], list[Lookup]]:
    """The beacon of `spec`: its connections (or HTTP requests), and a look-up of its domain about hourly."""
    rng = stream(world.config, f"beacon-{spec.c2_ip}")
    conns: list[Conn] = []
    http: list[Http] = []
    lookups: list[Lookup] = []
    t, last_lookup = spec.start, -1e18
    while t < spec.end:
        day = int((t - world.start) // 86400)
        span = world.powered(spec.host, day)
        if span is None or not span[0] <= t < span[1]:  # the machine is off: the implant sleeps with it
            t += spec.interval
            continue
        if t - last_lookup > 3600:
            lookups.append(Lookup(t - 0.05, spec.host.ip, spec.domain, "A", "NOERROR", (spec.c2_ip,), 300.0, "c2", spec.attack))
            last_lookup = t
        task = rng.random() < 0.04
        sent = int(rng.normal(420, 25)) + (int(rng.integers(2000, 9000)) if task and rng.random() < 0.5 else 0)
        received = int(rng.normal(310, 30)) + (int(rng.integers(20_000, 90_000)) if task else 0)
        if spec.http:
            path = f"{spec.uri}?id={spec.host.short.lower()}"
            if spec.port == 3128:  # through the proxy: the request line carries the absolute URI
                path = f"http://{spec.domain}{path}"
            http.append(Http(t, spec.host.ip, spec.c2_ip, spec.domain, path,
                             "POST" if task else "GET", UA_BROWSER, 200, received, "application/octet-stream",
                             port=spec.port, attack=spec.attack))
        else:
            conns.append(Conn(t, spec.host.ip, spec.c2_ip, spec.port, "tcp", "ssl", float(rng.uniform(0.2, 1.2)), sent, received, "SF"))
        t += spec.interval * (1 + rng.uniform(-spec.jitter, spec.jitter))
    return conns, http, lookups


def write_conn_log(path: Path, world: World, conns: list[Conn], http: list[Http]) -> Path:
    """conn.log (Zeek TSV): `conns` plus one connection per HTTP request (sharing its uid), in time order.

    Sets each request's `uid`: write conn.log before http.log.
    """
    rng = stream(world.config, "conn.log")
    for h, uid in zip(http, uids(stream(world.config, "http.uid"), len(http)), strict=True):
        h.uid = uid
        conns.append(Conn(h.ts - 0.01, h.src, h.dst, h.port, "tcp", "http", 0.2 + rng.random(), 300 + len(h.uri),
                          h.body + 250, "SF", uid=uid))
    conns.sort(key=lambda c: c.ts)
    ids = uids(rng, len(conns))
    ports = rng.integers(49152, 65535, len(conns))

    def rows():
        for i, c in enumerate(conns):
            pkts_out = 1 + (c.sent or 0) // 1200
            pkts_in = 1 + (c.received or 0) // 1400 if c.received is not None else 0
            history = "Dd" if c.proto == "udp" else "ShADadFf"
            yield (c.ts, c.uid or ids[i], c.src, int(ports[i]), c.dst, c.port, c.proto, c.service, c.duration, c.sent,
                   c.received, c.state, True, c.dst.startswith("10."), 0, history, pkts_out,
                   pkts_out * (28 if c.proto == "udp" else 40) + (c.sent or 0), pkts_in,
                   pkts_in * (28 if c.proto == "udp" else 40) + (c.received or 0), None)

    return write_zeek(path, "conn", CONN_FIELDS, CONN_TYPES, rows(), world.start, world.end)


def write_http_log(path: Path, world: World, http: list[Http]) -> Path:
    """http.log (Zeek TSV) of `http`, in time order."""
    rng = stream(world.config, "http.log")
    http = sorted(http, key=lambda h: h.ts)
    ports = rng.integers(49152, 65535, len(http))

    def rows():
        for i, h in enumerate(http):
            yield (h.ts, h.uid, h.src, int(ports[i]), h.dst, h.port, 1, h.method, h.host, h.uri, h.referrer,
                   "1.1", h.user_agent, 0 if h.method == "GET" else int(rng.integers(200, 4000)), h.body, h.status,
                   {200: "OK", 302: "Found", 404: "Not Found"}.get(h.status, "OK"), None, [h.mime] if h.mime else None)

    return write_zeek(path, "http", HTTP_FIELDS, HTTP_TYPES, rows(), world.start, world.end)
