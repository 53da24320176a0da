"""`generate_lab(out, config)`: write the whole lab, telemetry and ground truth, from one seed.

Layout of `out`:

    telemetry/windows/workstations.ndjson   Sysmon EID 1 as flat ECS NDJSON (winlogbeat, dotted keys)
    telemetry/windows/servers-sysmon.json   Sysmon EID 1 of DC01 and FS01 as `evtx` JSON records
    telemetry/zeek/conn.log, dns.log, http.log   Zeek TSV
    telemetry/mail/url-log.csv              the mail gateway's URL log
    telemetry/dirty/                        deliberately bad input: a half-written conn.log, a binary capture
    truth.json                              every planted attack (see truth.py)
    lab.json                                version, parameters, files with sizes and SHA-256

The story: a phishing wave on the first morning; two people open the macro document; chain `a`
leaves an HTTPS beacon every 5 min ± 20 %, chain `b` an HTTP beacon every 10 min ± 10 % (through the
proxy with `proxy=True`); three other workstations have run DGA malware since before the lab starts.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson

from nightjar.lab import chains, dns, mail, network, process, services
from nightjar.lab.formats import stable_ip, write_zeek
from nightjar.lab.truth import Truth
from nightjar.lab.world import LAB_VERSION, PROXY, LabConfig, World, build_world, iso, stream

C2 = (("cdn-sync-update.com", 443, 300.0, 0.2), ("weather-widget-api.net", 80, 600.0, 0.1))
DOWNLOAD_UA = {"certutil.exe": "Microsoft-CryptoAPI/10.0", "bitsadmin.exe": "Microsoft BITS/7.8",
               "powershell.exe": "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.5486"}


@dataclass
class Lab:
    """What `generate_lab` wrote."""

    out: Path
    telemetry: Path
    truth_path: Path
    manifest_path: Path
    files: list[Path]
    truth: Truth
    counts: dict[str, int]


def generate_lab(out: str | Path, config: LabConfig = LabConfig()) -> Lab:
    """Generate the lab of `config` under `out` (see the module docstring); same config, same bytes."""
    out = Path(out)
    world = build_world(config)
    truth = Truth({**asdict(config), "version": LAB_VERSION, "start": iso(world.start), "end": iso(world.end)})
    mail_rows = mail.benign_mail(world)
    wave, clicks, http, lookups = mail.phishing_wave(world, truth)
    mail_rows += wave
    procs, states = process.background(world)
    conns: list[network.Conn] = []
    chain_hosts = []
    for k, click in enumerate([c for c in clicks if c.document][:2]):
        domain, port, interval, jitter = C2[k]
        c2_ip = stable_ip(domain, ("185.225", "193.149", "91.215"))
        hp = states[click.host.name]
        planted, persisted = chains.run_chain(hp, click.ts + 75.0, "ab"[k], domain, truth, f"chain-{k + 1}")
        chain_hosts.append(click.host)
        lookups.append(dns.Lookup(planted[1].ts - 0.5, click.host.ip, domain, "A", "NOERROR", (c2_ip,), 300.0, "c2", planted[1].attack))
        http += _downloads(planted, domain, c2_ip, truth)
        via_proxy = config.proxy and port == 80
        beacon = network.BeaconSpec(click.host, PROXY if via_proxy else c2_ip, domain, persisted + 95.0, world.end,
                                    interval, jitter, 3128 if via_proxy else port, "/api/v2/status", http=port != 443)
        entity = {"source.ip": click.host.ip, "destination.ip": beacon.c2_ip, "destination.port": beacon.port,
                  "destination.domain": domain, "host.name": click.host.name, "interval": interval, "jitter": jitter}
        beacon.attack = truth.add("beacon", "T1071.001", f"{'HTTP' if beacon.http else 'HTTPS'} beacon from {click.host.short}",
                                  beacon.start, entity, end=world.end).id
        b_conns, b_http, b_lookups = network.beacon_traffic(world, beacon)
        conns += b_conns
        http += b_http
        lookups += b_lookups
    infected = _dga_hosts(world, chain_hosts)
    service_conns, service_lookups = services.service_traffic(world)
    lookups += dns.dga_lookups(world, truth, infected) + dns.benign_lookups(world) + service_lookups
    web_conns, web_http = network.web_traffic(world, lookups)
    conns += web_conns + network.domain_traffic(world) + service_conns
    http += web_http
    tel = out / "telemetry"
    files = process.write_processes(tel / "windows", procs)
    files += [network.write_conn_log(tel / "zeek" / "conn.log", world, conns, http),
              dns.write_dns_log(tel / "zeek" / "dns.log", world, lookups),
              network.write_http_log(tel / "zeek" / "http.log", world, http),
              mail.write_mail_log(tel / "mail" / "url-log.csv", mail_rows)]
    files += _dirty(world, tel / "dirty", truth)
    counts = {"process": len(procs), "dns": len(lookups), "conn": len(conns), "http": len(http), "mail": len(mail_rows),
              "attacks": len(truth.attacks)}
    truth_path = truth.write(out / "truth.json")
    manifest = {"version": LAB_VERSION, "config": asdict(config), "counts": counts,
                "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files}}
    manifest_path = out / "lab.json"
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return Lab(out, tel, truth_path, manifest_path, files, truth, counts)


def _downloads(planted: list[process.Proc], domain: str, ip: str, truth: Truth) -> list[network.Http]:
    """The chain's downloads as HTTP requests (each one a `url` truth entry)."""
    out = []
    for proc in planted:
        marker = f"http://{domain}/"
        text = proc.cmd
        if " -enc " in text:
            text = base64.b64decode(text.rsplit(" ", 1)[1]).decode("utf-16-le")
        if marker not in text or proc.name.lower() == "cmd.exe":  # cmd only hands the command line to PowerShell
            continue
        path = "/" + text.split(marker, 1)[1].split()[0].rstrip("')\"")
        url = f"http://{domain}{path}"
        tid = truth.add("url", "T1105", f"tool download by {proc.name} on {proc.host.short}", proc.ts + 0.4,
                        {"url": url, "source.ip": proc.host.ip, "host.name": proc.host.name, "where": "http"}).id
        out.append(network.Http(proc.ts + 0.4, proc.host.ip, ip, domain, path, "GET", DOWNLOAD_UA.get(proc.name.lower(), network.UA_BROWSER),
                                200, 180_000 if path.endswith((".bin", ".exe", ".dll")) else 2300, "application/octet-stream", attack=tid))
    return out


def _dga_hosts(world: World, exclude: list) -> list:
    rng = stream(world.config, "dga-hosts")
    pool = [h for h in world.workstations() if h.role == "staff" and h not in exclude]
    pool.sort(key=lambda h: (not h.stays_on, h.name))  # bots on machines left on run through the night
    chosen = [pool[i] for i in sorted(rng.permutation(min(len(pool), 6))[:3])]
    return chosen


def _dirty(world: World, folder: Path, truth: Truth) -> list[Path]:
    """A half-written conn.log from the guest Wi-Fi sensor and a binary capture file: bad input, on purpose."""
    rng = stream(world.config, "dirty")
    t0 = world.start + 86400 * min(1, world.config.days - 1) + 11 * 3600
    rows = []
    for i in range(60):
        t = t0 + i * rng.uniform(2, 20)
        sent = int(rng.lognormal(6.5, 1))
        rows.append((t, f"Cg{i:016d}", f"10.99.0.{int(rng.integers(10, 60))}", int(rng.integers(49152, 65535)),
                     stable_ip(f"guest{i % 7}", ("142.250", "157.240", "17.253")), 443, "tcp", "ssl", float(rng.lognormal(0, 1)),
                     sent, sent * 9, "SF", True, False, 0, "ShADadFf", 3, 3 * 40 + sent, 5, 5 * 40 + sent * 9, None))
    path = write_zeek(folder / "guest-wifi-conn.log", "conn", network.CONN_FIELDS, network.CONN_TYPES, rows, t0, None)
    text = path.read_text()
    path.write_text(text[: len(text) - 75])  # the sensor died mid-line: the last row is cut
    pcap = folder / "capture-0001.pcap"
    pcap.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    truth.dirty = [{"path": "telemetry/dirty/guest-wifi-conn.log", "what": "half-written Zeek log: last line cut, no #close",
                    "expect": "1 rejected record"},
                   {"path": "telemetry/dirty/capture-0001.pcap", "what": "binary packet capture", "expect": "skipped: unknown format"}]
    return [path, pcap]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
