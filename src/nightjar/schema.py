"""ECS field names Nightjar uses, and the maps from source formats to them.

Tables are flat: a column is named by its dotted ECS path (`process.parent.name`). Fields that have no
ECS home keep their source name under the source's namespace (`zeek.conn.history`,
`winlog.event_data.IntegrityLevel`), the way Elastic's integrations do.
"""

from __future__ import annotations

# --- event kinds: what a batch holds, and so which detector reads it -------------------------
PROCESS = "process"  # Windows process creation (Sysmon 1, Security 4688)
DOMAIN = "domain"  # a list of domain names
URL = "url"  # a list of URLs
ZEEK_KINDS = ("conn", "dns", "http", "ssl")  # Zeek logs with typed ECS mapping; others are "zeek.<path>"

# --- process events ------------------------------------------------------------------------------
TIMESTAMP = "@timestamp"
HOST_NAME = "host.name"
USER_NAME = "user.name"
USER_DOMAIN = "user.domain"
EVENT_CODE = "event.code"
EVENT_PROVIDER = "event.provider"
PROCESS_FIELDS = [
    TIMESTAMP,
    HOST_NAME,
    USER_NAME,
    EVENT_CODE,
    "process.entity_id",
    "process.pid",
    "process.name",
    "process.executable",
    "process.command_line",
    "process.working_directory",
    "process.parent.entity_id",
    "process.parent.pid",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.command_line",
    "process.pe.original_file_name",
    "process.pe.company",
    "process.pe.description",
    "process.hash.md5",
    "process.hash.sha1",
    "process.hash.sha256",
    "process.hash.imphash",
    "winlog.event_data.IntegrityLevel",
]
PROCESS_INT_FIELDS = ("process.pid", "process.parent.pid")

# Sysmon event data (EID 1) -> ECS. `Hashes` is split into process.hash.* by the reader.
SYSMON_PROCESS_MAP = {
    "UtcTime": TIMESTAMP,
    "ProcessGuid": "process.entity_id",
    "ProcessId": "process.pid",
    "Image": "process.executable",
    "OriginalFileName": "process.pe.original_file_name",
    "Company": "process.pe.company",
    "Description": "process.pe.description",
    "CommandLine": "process.command_line",
    "CurrentDirectory": "process.working_directory",
    "User": USER_NAME,
    "IntegrityLevel": "winlog.event_data.IntegrityLevel",
    "ParentProcessGuid": "process.parent.entity_id",
    "ParentProcessId": "process.parent.pid",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
}

# Security 4688 event data -> ECS. No parent command line exists in 4688: it stays missing.
SECURITY_4688_MAP = {
    "NewProcessId": "process.pid",
    "NewProcessName": "process.executable",
    "CommandLine": "process.command_line",
    "ProcessId": "process.parent.pid",
    "ParentProcessName": "process.parent.executable",
    "SubjectUserName": USER_NAME,
    "SubjectDomainName": USER_DOMAIN,
    "TargetUserName": "winlog.event_data.TargetUserName",
    "MandatoryLabel": "winlog.event_data.IntegrityLevel",
    "TokenElevationType": "winlog.event_data.TokenElevationType",
}

# snake_case columns of the derived CSVs in ../shared/data/lotl -> ECS.
SNAKE_PROCESS_MAP = {
    "timestamp": TIMESTAMP,
    "host": HOST_NAME,
    "hostname": HOST_NAME,
    "computer_name": HOST_NAME,
    "user": USER_NAME,
    "integrity_level": "winlog.event_data.IntegrityLevel",
    "process_guid": "process.entity_id",
    "pid": "process.pid",
    "process_id": "process.pid",
    "image": "process.executable",
    "original_file_name": "process.pe.original_file_name",
    "company": "process.pe.company",
    "description": "process.pe.description",
    "command_line": "process.command_line",
    "current_directory": "process.working_directory",
    "parent_process_guid": "process.parent.entity_id",
    "ppid": "process.parent.pid",
    "parent_process_id": "process.parent.pid",
    "parent_image": "process.parent.executable",
    "parent_command_line": "process.parent.command_line",
    "event_id": EVENT_CODE,
}

# Host, time and event id under the names the various Windows exports use.
WINDOWS_COMMON_MAP = {
    "Computer": HOST_NAME,
    "computer_name": HOST_NAME,
    "Hostname": HOST_NAME,
    "EventID": EVENT_CODE,
    "event_id": EVENT_CODE,
}

# --- Zeek ------------------------------------------------------------------------------------------
# Zeek field -> ECS, per log path. Fields not listed keep the name `zeek.<path>.<field>`.
ZEEK_COMMON_MAP = {
    "ts": TIMESTAMP,
    "uid": "zeek.session_id",
    "id.orig_h": "source.ip",
    "id.orig_p": "source.port",
    "id.resp_h": "destination.ip",
    "id.resp_p": "destination.port",
}
ZEEK_MAPS: dict[str, dict[str, str]] = {
    "conn": {
        "proto": "network.transport",
        "service": "network.protocol",
        "orig_bytes": "source.bytes",
        "resp_bytes": "destination.bytes",
        "orig_pkts": "source.packets",
        "resp_pkts": "destination.packets",
    },
    "dns": {
        "query": "dns.question.name",
        "qtype_name": "dns.question.type",
        "rcode_name": "dns.response_code",
        "answers": "dns.answers.data",
        "trans_id": "dns.id",
    },
    "http": {
        "host": "url.domain",
        "uri": "url.original",
        "method": "http.request.method",
        "user_agent": "user_agent.original",
        "status_code": "http.response.status_code",
        "request_body_len": "http.request.body.bytes",
        "response_body_len": "http.response.body.bytes",
        "referrer": "http.request.referrer",
        "version": "http.version",
    },
    "ssl": {
        "server_name": "tls.client.server_name",
        "version": "tls.version",
        "cipher": "tls.cipher",
        "ja3": "tls.client.ja3",
        "ja3s": "tls.server.ja3s",
        "subject": "tls.server.subject",
        "issuer": "tls.server.issuer",
    },
}

# --- lists ---------------------------------------------------------------------------------------
DOMAIN_FIELD = "domain"
URL_FIELD = "url"
# Column headers (lower-cased) that hold a domain or a URL in CSV lists, most specific first.
DOMAIN_HEADERS = ("dns.question.name", "domain", "domain_name", "fqdn", "host", "hostname", "query", "name")
URL_HEADERS = ("url.full", "url", "uri", "link", "href", "url.original")


# Context columns of CSV lists (mail gateway and proxy exports) -> ECS, by lower-cased header.
LIST_CONTEXT_MAP = {
    "@timestamp": TIMESTAMP,
    "timestamp": TIMESTAMP,
    "time": TIMESTAMP,
    "datetime": TIMESTAMP,
    "recipient": "email.to.address",
    "to": "email.to.address",
    "sender": "email.from.address",
    "from": "email.from.address",
    "user": USER_NAME,
    "username": USER_NAME,
    "user.name": USER_NAME,
    "host.name": HOST_NAME,
    "client_ip": "source.ip",
    "src_ip": "source.ip",
    "source.ip": "source.ip",
}


def zeek_ecs_name(path: str, field: str) -> str:
    """The column name a Zeek field gets in a table of log `path` (e.g. conn, dns)."""
    mapped = ZEEK_COMMON_MAP.get(field) or ZEEK_MAPS.get(path, {}).get(field)
    return mapped or f"zeek.{path}.{field}"
