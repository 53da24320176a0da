"""Zeek log types, value conversion and column naming, shared by the TSV and JSON readers.

Zeek types map to Arrow as: time -> timestamp[us, UTC]; interval/double -> float64 (seconds);
count/int/port -> int64; bool -> bool; set[...]/vector[...] -> list<string>; anything else -> string.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from nightjar import schema

TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING_LIST = pa.list_(pa.string())
_FLOAT_TYPES = {"time", "interval", "double"}
_INT_TYPES = {"count", "int", "port"}
_MAX_EPOCH_SECONDS = 9.2e12  # |ts| * 1e6 must fit an int64 of microseconds

ID_FIELDS = {  # the connection id every log starts with
    "ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr", "id.resp_p": "port"}
# The fields of the logs we read most, with their Zeek types (used to type Zeek JSON, which has no #types).
KNOWN_FIELDS: dict[str, dict[str, str]] = {
    "conn": {**ID_FIELDS, "proto": "enum", "service": "string", "duration": "interval", "orig_bytes": "count",
             "resp_bytes": "count", "conn_state": "string", "local_orig": "bool", "local_resp": "bool",
             "missed_bytes": "count", "history": "string", "orig_pkts": "count", "orig_ip_bytes": "count",
             "resp_pkts": "count", "resp_ip_bytes": "count", "tunnel_parents": "set[string]",
             "community_id": "string", "vlan": "int", "inner_vlan": "int"},
    "dns": {**ID_FIELDS, "proto": "enum", "trans_id": "count", "rtt": "interval", "query": "string", "qclass": "count",
            "qclass_name": "string", "qtype": "count", "qtype_name": "string", "rcode": "count",
            "rcode_name": "string", "AA": "bool", "TC": "bool", "RD": "bool", "RA": "bool", "Z": "count",
            "answers": "vector[string]", "TTLs": "vector[interval]", "rejected": "bool"},
    "http": {**ID_FIELDS, "trans_depth": "count", "method": "string", "host": "string", "uri": "string",
             "referrer": "string", "version": "string", "user_agent": "string", "origin": "string",
             "request_body_len": "count", "response_body_len": "count", "status_code": "count",
             "status_msg": "string", "info_code": "count", "info_msg": "string", "tags": "set[enum]",
             "username": "string", "password": "string", "proxied": "set[string]",
             "orig_fuids": "vector[string]", "orig_filenames": "vector[string]", "orig_mime_types": "vector[string]",
             "resp_fuids": "vector[string]", "resp_filenames": "vector[string]", "resp_mime_types": "vector[string]"},
    "ssl": {**ID_FIELDS, "version": "string", "cipher": "string", "curve": "string", "server_name": "string",
            "resumed": "bool", "last_alert": "string", "next_protocol": "string", "established": "bool",
            "ssl_history": "string", "cert_chain_fps": "vector[string]", "client_cert_chain_fps": "vector[string]",
            "cert_chain_fuids": "vector[string]", "client_cert_chain_fuids": "vector[string]",
            "subject": "string", "issuer": "string", "client_subject": "string", "client_issuer": "string",
            "sni_matches_cert": "bool", "validation_status": "string", "ja3": "string", "ja3s": "string"},
    "ssh": {**ID_FIELDS, "version": "count", "auth_success": "bool", "auth_attempts": "count", "direction": "enum",
            "client": "string", "server": "string", "cipher_alg": "string", "mac_alg": "string",
            "compression_alg": "string", "kex_alg": "string", "host_key_alg": "string", "host_key": "string"},
}
# Zeek log paths recognised in file names (conn.log, HOST_conn.log, conn.00:00:00-01:00:00.log.gz, ...).
KNOWN_PATHS = frozenset(KNOWN_FIELDS) | {
    "x509", "files", "notice", "weird", "dhcp", "ftp", "smtp", "smb_files", "smb_mapping", "dce_rpc",
    "kerberos", "ntlm", "rdp", "sip", "snmp", "software", "stats", "tunnel", "known_hosts", "known_services",
    "known_certs", "capture_loss", "conn_long", "open_conn", "dpd", "ntp", "radius", "syslog", "mysql", "irc", "modbus",
    "pe", "ocsp", "intel", "signatures", "socks", "analyzer", "reporter", "loaded_scripts", "packet_filter",
    "traceroute", "quic", "websocket", "ldap", "ldap_search",
}


def is_list(ztype: str) -> bool:
    """True for Zeek container types (set[...], vector[...], table[...])."""
    return ztype.endswith("]")


def parse_type(ztype: str) -> pa.DataType:
    """The Arrow type a CSV/JSON parser should read a Zeek value of type `ztype` as (before `finish`)."""
    if ztype in _FLOAT_TYPES:
        return pa.float64()
    if ztype in _INT_TYPES:
        return pa.int64()
    if ztype == "bool":
        return pa.bool_()
    return pa.string()


def finish(values: pa.ChunkedArray | pa.Array, ztype: str, set_separator: str, empty: str | None) -> pa.ChunkedArray | pa.Array:
    """Turn a parsed column into its final type: epoch seconds to timestamps, sets split into lists.

    `empty` is the marker of an empty string or set (`(empty)`); None when the caller knows it is absent.
    """
    if ztype == "time":
        if pa.types.is_timestamp(values.type):
            return values
        if pa.types.is_string(values.type):
            return pc.cast(values, TIMESTAMP)  # ISO 8601 (Zeek JSON with ISO timestamps)
        micros = pc.cast(pc.round(pc.multiply(values, 1e6)), pa.int64())
        return pc.cast(micros, TIMESTAMP)
    if is_list(ztype):
        if not pa.types.is_string(values.type):
            return pc.cast(values, STRING_LIST)
        split = pc.split_pattern(values, set_separator)
        return split if empty is None else pc.if_else(pc.equal(values, empty), pa.scalar([], STRING_LIST), split)
    if pa.types.is_string(values.type) and empty is not None:
        return pc.if_else(pc.equal(values, empty), "", values)
    return values


def from_strings(values: pa.ChunkedArray | pa.Array, ztype: str, unset: str, set_separator: str, empty: str) -> pa.ChunkedArray | pa.Array:
    """Convert a column of raw Zeek text values (e.g. a split labelled column) to its final type."""
    values = pc.if_else(pc.equal(values, unset), pa.scalar(None, pa.string()), values)
    target = parse_type(ztype)
    if pa.types.is_boolean(target):
        values = pc.if_else(pc.equal(values, "T"), True, pc.if_else(pc.equal(values, "F"), False, None))
    elif not pa.types.is_string(target):
        values = pc.cast(values, target)
    return finish(values, ztype, set_separator, empty)


_INT_RE = re.compile(r"[+-]?\d{1,19}\Z")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


def check_value(text: str, ztype: str) -> bool:
    """True when `text` (not the unset marker) is a valid value of Zeek type `ztype` (strict, for salvage)."""
    if ztype in _INT_TYPES:
        return bool(_INT_RE.match(text)) and -(2**63) <= int(text) < 2**63
    if ztype in _FLOAT_TYPES:
        if not _FLOAT_RE.match(text):
            return False
        return ztype != "time" or abs(float(text)) < _MAX_EPOCH_SECONDS
    if ztype == "bool":
        return text in ("T", "F")
    return True


_ESCAPE_RE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def unescape(text: str) -> str:
    r"""Undo Zeek's `\xHH` escaping; bytes that are not UTF-8 stay as `\xHH`."""
    raw = _ESCAPE_RE.sub(lambda m: bytes([int(m[1], 16)]), text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "backslashreplace")


def unescape_column(values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    r"""`unescape` every value of a string or list<string> column that holds a `\x` escape."""
    flat = pc.list_flatten(values) if pa.types.is_list(values.type) else values
    if not pc.any(pc.match_substring(flat, "\\x")).as_py():
        return values
    if pa.types.is_list(values.type):
        return pa.array([None if v is None else [unescape(s) for s in v] for v in values.to_pylist()], values.type)
    return pa.array([None if v is None else unescape(v) for v in values.to_pylist()], pa.string())


def column_name(path: str, field: str) -> str:
    """The ECS column name of Zeek `field` in log `path`."""
    return schema.zeek_ecs_name(path, field)


# Logs with conn.log's fields that are read as conn records: Zeek's long-connections policy (conn_long,
# logged while a connection is still open) and RITA's open-connections plugin (open_conn). A session held
# open for days shows only there until it closes; repeated snapshots share the start time and uid.
CONN_ALIASES = frozenset({"conn_long", "open_conn"})


def canonical_path(path: str) -> str:
    """The log path whose fields and kind `path` has (conn_long and open_conn are conn)."""
    return "conn" if path in CONN_ALIASES else path


def kind_of(path: str) -> str:
    """The batch kind of a Zeek log path: conn/dns/http/ssl, else `zeek.<path>`."""
    return path if path in schema.ZEEK_KINDS else f"zeek.{path}"


def path_from_filename(filename: str) -> str | None:
    """The log path named by a file name (conn.log, HOST_conn.log, conn.01:00:00-02:00:00.log), if any."""
    stem = filename.split(".", 1)[0].lower()
    if stem in KNOWN_PATHS:
        return stem
    matches = [p for p in KNOWN_PATHS if stem.endswith(("_" + p, "-" + p))]
    return max(matches, key=len) if matches else None


def path_from_fields(fields: list[str] | set[str]) -> str | None:
    """Guess the log path from the field names present (dotted or underscore names)."""
    names = {f.replace("_", ".") if f.startswith("id_") else f for f in fields}
    if {"query", "qtype"} <= names or {"query", "qtype_name"} <= names:
        return "dns"
    if {"host", "uri"} <= names:
        return "http"
    if "server_name" in names or "ja3" in names:
        return "ssl"
    if names & {"orig_bytes", "conn_state"}:
        return "conn"
    return None


def dotted(field: str) -> str:
    """`id_orig_h` -> `id.orig_h` (Zeek JSON written with `_` instead of `.` in field names)."""
    if field.startswith("id_") and "id." + field[3:] in ID_FIELDS:
        return "id." + field[3:]
    return field
