"""Web proxy access logs: Squid's native format and the W3C extended format (`#Fields:` header).

Squid native (`logformat squid`, the default `access.log`):
`time elapsed client code/status bytes method URL user hierarchy/peer type`, for example
`1700000000.123    180 10.0.0.5 TCP_MISS/200 411 GET http://example.com/a - HIER_DIRECT/93.184.216.34 text/html`.

W3C extended (Blue Coat / Symantec ProxySG ELFF, Forcepoint, TMG, IIS): `#Fields:` names the
space-separated columns; values with spaces are quoted and `-` means empty. The URL is `cs-uri`, or
built from `cs-uri-scheme`, `cs-host`, `cs-uri-port`, `cs-uri-path` (or `cs-uri-stem`) and
`cs-uri-query`.

Both give event kind `proxy` with ECS fields (`url.full` is the absolute URL the user asked for; a
CONNECT tunnel, which shows only `host:port`, becomes `https://host` or `https://host:port`). Every
non-comment line is a record; a line that does not fit the layout is rejected with its line number
and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from nightjar.io.base import DEFAULT_BATCH_ROWS, Batch, register
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source

KIND = "proxy"
_SQUID = re.compile(rb"^\s*\d{9,10}(?:\.\d{1,6})?\s+-?\d+\s+\S+\s+[A-Z_]+/\d{1,3}\s+\d+\s+[A-Z_-]+\s+\S+")
SQUID_FIELDS = ("@timestamp", "event.duration", "source.ip", "event.action", "http.response.status_code", "http.response.bytes",
                "http.request.method", "url.original", "user.name", "destination.ip", "http.response.mime_type")
#: W3C field name (lower case) -> ECS name; the URL parts are joined into url.full separately
W3C_MAP = {
    "c-ip": "source.ip", "cs-username": "user.name", "s-ip": "destination.ip", "sc-status": "http.response.status_code",
    "cs-method": "http.request.method", "cs-host": "url.domain", "cs-uri-scheme": "url.scheme", "cs-uri-port": "url.port",
    "cs-uri-path": "url.path", "cs-uri-stem": "url.path", "cs-uri-query": "url.query", "cs-uri": "url.original",
    "sc-bytes": "http.response.bytes", "cs-bytes": "http.request.bytes", "time-taken": "event.duration",
    "s-action": "event.action", "x-exception-id": "event.reason", "cs(user-agent)": "user_agent.original",
    "cs(referer)": "http.request.referrer", "rs(content-type)": "http.response.mime_type", "cs-categories": "url.category",
    "sc-filter-result": "event.outcome", "s-computername": "observer.name", "s-sitename": "observer.name",
}
_MAX_FIELD = 65536


def _kind_of(head: bytes) -> str | None:
    lines = [ln for ln in head.splitlines()[:50] if ln.strip()]
    if not lines:
        return None
    if any(ln.lower().startswith(b"#fields:") for ln in lines) and lines[0].startswith(b"#"):
        fields = next(ln for ln in lines if ln.lower().startswith(b"#fields:")).lower().split()
        if any(f in fields for f in (b"cs-uri", b"cs-host", b"cs-uri-stem", b"cs-uri-path")):
            return "w3c"
        return None
    body = [ln for ln in lines if not ln.startswith(b"#")][:20]
    if body and sum(bool(_SQUID.match(ln)) for ln in body) >= max(1, int(0.8 * len(body))):
        return "squid"
    return None


@register
class ProxyLogReader:
    """Squid native access.log and W3C extended proxy logs."""

    format = "proxy"

    def sniff(self, source: Source, head: bytes) -> bool:
        return _kind_of(head) is not None

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        layout = _kind_of(source.head()) or "squid"
        report.format = f"proxy_{layout}"
        with source.open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            rows = _squid_rows(text, report) if layout == "squid" else _w3c_rows(text, report)
            chunk: list[dict[str, str]] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= batch_rows:
                    yield Batch(_table(chunk), KIND, source.name)
                    chunk = []
            if chunk:
                yield Batch(_table(chunk), KIND, source.name)
            if stream.truncated:
                report.ended_early(stream.truncated, report.read)


def connect_url(target: str) -> str:
    """The URL of a CONNECT tunnel's `host:port` target: `https://host` (port 443) or `https://host:port`."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return f"https://{target}"
    return f"https://{host}" if port == "443" else f"https://{host}:{port}"


def _squid_rows(text: io.TextIOWrapper, report: ReadReport) -> Iterator[dict[str, str]]:
    for number, line in enumerate(text, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 7 or "/" not in parts[3]:
            report.reject(number, f"expected at least 7 space-separated Squid fields (time elapsed client code/status bytes method URL), found {len(parts)}")
            continue
        try:
            ts = float(parts[0])
        except ValueError:
            report.reject(number, f"time is not epoch seconds: {parts[0][:40]!r}", "@timestamp")
            continue
        code, _, status = parts[3].partition("/")
        method, target = parts[5], parts[6]
        if len(target) > _MAX_FIELD:
            report.reject(number, f"URL longer than {_MAX_FIELD:,} characters", "url.original")
            continue
        extra = [("" if v == "-" else v) for v in parts[7:10]] + [""] * (10 - len(parts[:10]))
        user, hierarchy, mime = extra[0], extra[1], extra[2]
        report.ok()
        yield {"@timestamp": ts, "event.duration": parts[1], "source.ip": parts[2], "event.action": code,
               "http.response.status_code": status, "http.response.bytes": parts[4], "http.request.method": method,
               "url.original": target, "user.name": user, "destination.ip": hierarchy.partition("/")[2].strip("-"),
               "http.response.mime_type": mime,
               "url.full": connect_url(target) if method == "CONNECT" else target}


def _w3c_rows(text: io.TextIOWrapper, report: ReadReport) -> Iterator[dict[str, str]]:
    fields: list[str] = []
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.lower().startswith("#fields:"):
                fields = [f.lower() for f in line.split()[1:]]
            continue
        if not fields:
            report.reject(number, "record before any #Fields: header")
            continue
        try:
            values = next(csv.reader([line.rstrip("\r\n")], delimiter=" ", quotechar='"', skipinitialspace=True))
        except csv.Error as exc:
            report.reject(number, f"unreadable quoting: {exc}")
            continue
        if len(values) != len(fields):
            report.reject(number, f"expected {len(fields)} fields (from #Fields:), found {len(values)}")
            continue
        raw = {f: ("" if v == "-" else v) for f, v in zip(fields, values)}
        row: dict[str, str] = {}
        for name, value in raw.items():
            ecs = W3C_MAP.get(name)
            if ecs and not row.get(ecs):
                row[ecs] = value
        if "date" in raw and "time" in raw:
            row["@timestamp"] = f"{raw['date']}T{raw['time']}Z"
        full = _w3c_url(row)
        if not full:
            report.reject(number, "no URL: cs-uri and cs-host are empty", "url.full")
            continue
        row["url.full"] = full
        report.ok()
        yield row


def _w3c_url(row: dict[str, str]) -> str:
    """The absolute URL of one W3C record from `cs-uri` or its parts."""
    method = row.get("http.request.method", "").upper()
    original = row.get("url.original", "")
    if original and "://" in original:
        return original
    host = row.get("url.domain", "")
    if method == "CONNECT":
        target = host or original
        port = row.get("url.port", "")
        return connect_url(f"{target}:{port}" if port and ":" not in target else target) if target else ""
    if not host:
        return original
    scheme = row.get("url.scheme", "") or "http"
    port = row.get("url.port", "")
    default = {"http": "80", "https": "443"}.get(scheme)
    netloc = host if not port or port == default else f"{host}:{port}"
    path = row.get("url.path", "") or (original if original.startswith("/") else "/")
    query = row.get("url.query", "")
    if query and not query.startswith("?"):
        query = "?" + query
    return f"{scheme}://{netloc}{path}{query}"


_NUMBERS = {"event.duration": pa.int64(), "http.response.status_code": pa.int64(), "http.response.bytes": pa.int64(),
            "http.request.bytes": pa.int64()}


def _table(rows: list[dict[str, str]]) -> pa.Table:
    """Arrow columns with ECS names; times as UTC timestamps, counters as integers (empty or junk -> null)."""
    names = list(dict.fromkeys(["@timestamp", "url.full", *(k for r in rows for k in r)]))
    arrays: dict[str, pa.Array] = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if name == "@timestamp":
            arrays[name] = _times(values)
        elif name in _NUMBERS:
            text = pa.array([None if v in (None, "") else str(v) for v in values], pa.string())
            ok = pc.match_substring_regex(text, r"^-?\d{1,18}$")
            arrays[name] = pc.if_else(ok, text, None).cast(_NUMBERS[name])
        else:
            arrays[name] = pa.array([v or None for v in values], pa.string())
    return pa.table(arrays)


def _times(values: list[object]) -> pa.Array:
    if all(isinstance(v, float) for v in values):
        return pa.array([round(v * 1_000_000) for v in values], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    text = pa.array([None if v in (None, "") else str(v) for v in values], pa.string())
    try:
        return pc.cast(text, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pc.strptime(text, "%Y-%m-%dT%H:%M:%SZ", "us", error_is_null=True).cast(pa.timestamp("us", tz="UTC"))
