"""Known periodic services (NTP, update checks, telemetry) and internal address ranges.

An allowlist file has one entry per line, `KIND VALUE [LABEL...]`, `#` starts a comment:

    port    123/udp           ntp
    domain  windowsupdate.com update check      (the name and every subdomain)
    cidr    169.254.169.254/32 cloud metadata
    ip      10.0.0.53         internal resolver

The default list ships with the model (`src/nightjar/models/beacon/allowlist.txt`); users add their
own files (detector parameter `allowlist`, or the NIGHTJAR_BEACON_ALLOWLIST environment variable,
paths separated by the OS path separator). Matching runs once per pair, never per connection.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.beacon.addresses import AddressCoder, in_networks
from nightjar.errors import ConfigError, Location

KINDS = ("port", "domain", "cidr", "ip")
DEFAULT_INTERNAL = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                    "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")
ENV = "NIGHTJAR_BEACON_ALLOWLIST"


@dataclass
class Allowlist:
    """Entries by kind; `match` labels each pair that an entry covers."""

    ports: dict[tuple[int, str], str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = field(default_factory=list)

    @classmethod
    def read(cls, paths: list[Path]) -> Allowlist:
        """Merge the entries of every file in `paths` (ConfigError with file:line on a bad line)."""
        out = cls()
        for path in paths:
            for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
                line = raw.split("#", 1)[0].strip()
                if line:
                    out.add_line(line, Location(str(path), number))
        return out

    def add_line(self, line: str, where: Location | None = None) -> None:
        """Add one `KIND VALUE [LABEL]` entry."""
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[0] not in KINDS:
            raise ConfigError(f"allowlist entries are 'KIND VALUE [LABEL]' with KIND one of {', '.join(KINDS)}. Got {line!r}.", where)
        kind, value = parts[0], parts[1].lower()
        label = parts[2] if len(parts) > 2 else f"{kind} {value}"
        try:
            if kind == "port":
                port, _, proto = value.partition("/")
                self.ports[(int(port), proto or "*")] = label
            elif kind == "domain":
                self.domains[value.strip(".")] = label
            else:
                self.networks.append((ipaddress.ip_network(value, strict=False), label))
        except ValueError as exc:
            raise ConfigError(f"bad allowlist {kind} {value!r}: {exc}", where) from None

    def match(self, dst_code: np.ndarray, coder: AddressCoder, dst_port: np.ndarray, transport: np.ndarray,
              domain: np.ndarray) -> np.ndarray:
        """The label of the first entry covering each pair (destination address codes), or None."""
        n = len(dst_code)
        out = np.full(n, None, dtype=object)
        for (port, proto), label in self.ports.items():
            hit = (dst_port == port) & ((transport == proto) if proto != "*" else True)
            out[hit & (out == None)] = label  # noqa: E711
        if self.domains:
            for i in np.flatnonzero(pd.notna(domain) & (out == None)):  # noqa: E711
                name = domain[i]
                if isinstance(name, str) and name:
                    out[i] = self._domain_label(name.lower().rstrip("."))
        if self.networks:
            hit = in_networks(dst_code, coder, [net for net, _ in self.networks])
            labels = np.array([label for _, label in self.networks] + [None], dtype=object)[hit]
            fill = (out == None) & (hit >= 0)  # noqa: E711
            out[fill] = labels[fill]
        return out

    def _domain_label(self, name: str) -> str | None:
        labels = name.split(".")
        for i in range(len(labels)):
            hit = self.domains.get(".".join(labels[i:]))
            if hit:
                return hit
        return None


def env_paths() -> list[Path]:
    """Extra allowlist files named in NIGHTJAR_BEACON_ALLOWLIST."""
    return [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]


def internal_mask(ips: np.ndarray, ranges: tuple[str, ...] | list[str] = DEFAULT_INTERNAL) -> np.ndarray:
    """True where an address (string) lies in one of `ranges` (evaluated once per distinct address)."""
    nets = [ipaddress.ip_network(r, strict=False) for r in ranges]
    uniq, inverse = np.unique(np.asarray(ips).astype(str), return_inverse=True)

    def inside(text: str) -> bool:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(ip.version == n.version and ip in n for n in nets)

    flags = np.fromiter((inside(t) for t in uniq), dtype=bool, count=len(uniq))
    return flags[inverse] if len(uniq) else np.zeros(0, dtype=bool)
