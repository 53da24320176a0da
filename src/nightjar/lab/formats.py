"""Writing the lab's files in their real formats: Zeek TSV logs, NDJSON, CSV; and the ids they carry.

Zeek TSV: the `#separator` ... `#types` header Zeek writes, `-` for unset, `(empty)` for an empty set,
rows in time order, a `#close` trailer. Uids are Zeek-shaped (`C` + 17 base-62 characters) and drawn
from the generator, so they are the same for the same seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import orjson

_B62 = np.array(list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def uids(rng: np.random.Generator, n: int, prefix: str = "C") -> list[str]:
    """`n` Zeek-style connection uids."""
    chars = np.ascontiguousarray(_B62[rng.integers(0, 62, size=(n, 17))])
    return [prefix + u for u in chars.view("<U17").ravel().tolist()] if n else []


def guid(*parts: object) -> str:
    """A Sysmon-style ProcessGuid `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` derived from `parts` (stable)."""
    h = hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" + "}"


def stable_ip(name: str, prefixes: Sequence[str]) -> str:
    """A public IPv4 for `name` inside one of `prefixes` (`"13.32"`, `"142.250"`), the same every time."""
    h = hashlib.sha1(name.encode()).digest()
    prefix = prefixes[h[0] % len(prefixes)]
    tail = [str(b) for b in h[1 : 1 + 4 - prefix.count(".") - 1]]
    tail[-1] = str(1 + h[6] % 253)
    return ".".join([prefix, *tail])


def zeek_stamp(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")


def write_zeek(path: Path, log: str, fields: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[object]],
               opened: float, closed: float | None) -> Path:
    """Write a Zeek TSV log; rows must already be in time order. `closed=None` leaves the log without `#close`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{log}",
            f"#open\t{zeek_stamp(opened)}", "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(head) + "\n")
        fh.writelines("\t".join(map(_cell, row)) + "\n" for row in rows)
        if closed is not None:
            fh.write(f"#close\t{zeek_stamp(closed)}\n")
    return path


def _cell(value: object) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float:
        return f"{value:.6f}"
    if kind is int:
        return str(value)
    if value is None:
        return "-"
    if kind is bool:
        return "T" if value else "F"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value) if value else "(empty)"
    return str(value)


def write_ndjson(path: Path, records: Iterable[dict[str, object]]) -> Path:
    """One JSON object per line; keys with None values are left out, as shippers do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for record in records:
            fh.write(orjson.dumps({k: v for k, v in record.items() if v is not None}) + b"\n")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A CSV with a header row and `\\n` line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="\n")
    return path
