"""The `#` header of a Zeek TSV log, and the column layout the fast parser and the salvage path share.

A layout knows, for each tab-separated column, its Zeek name and type, how pyarrow.csv should parse
it, and how to finish it into output columns. Columns appended by labelling tools are kept as extra
string columns: either more tab fields than `#fields` names, or (Stratosphere's `conn.log.labeled`)
one header field such as `tunnel_parents   label   detailed-label` whose values are split on spaces.

A layout may be projected to the ECS fields a caller wants: pyarrow.csv then converts, and `finish`
finishes, only those columns, plus the unwanted ones whose values can be invalid (numbers, times,
booleans): those are still converted, and dropped, so that a bad value sends its block to the salvage
path exactly as in a full read. Unwanted string and set columns are skipped (any text is valid).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from nightjar.io import zeek_types as zt

_COMPOUND_SPLIT = re.compile(r"\s+")
MAX_EXTRA_COLUMNS = 8  # labelling tools append a few columns; more than this in the first lines is garbage


@dataclass
class TsvHeader:
    """The directives of a Zeek TSV header (`#separator`, `#fields`, ...)."""

    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    lines: int = 0  # header lines consumed


def _unescape_directive(value: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), value)


def parse_header(lines: list[bytes]) -> TsvHeader:
    """Read the leading `#` lines of a log (stops at the first line that is not a comment)."""
    header = TsvHeader()
    for raw in lines:
        if not raw.startswith(b"#"):
            break
        header.lines += 1
        text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if text.startswith("#separator"):
            header.separator = _unescape_directive(text[len("#separator"):].strip()) or "\t"
            continue
        key, _, value = text.partition(header.separator)
        if key == "#set_separator":
            header.set_separator = _unescape_directive(value)
        elif key == "#empty_field":
            header.empty = value
        elif key == "#unset_field":
            header.unset = value
        elif key == "#path":
            header.path = value.strip() or None
        elif key == "#fields":
            header.fields = value.split(header.separator)
        elif key == "#types":
            header.types = value.split(header.separator)
    return header


@dataclass
class Column:
    """One tab-separated column: its Zeek names and types (several when it is a compound label column)."""

    names: list[str]
    types: list[str]

    @property
    def parse_type(self) -> pa.DataType:
        return zt.parse_type(self.types[0]) if len(self.names) == 1 else pa.string()

    @property
    def can_be_invalid(self) -> bool:
        """True when a value can fail to convert (a number, time or bool; any text is a valid string)."""
        return any(zt.parse_type(t) != pa.string() for t in self.types)


@dataclass
class Layout:
    """How to parse and name the columns of one log."""

    header: TsvHeader
    path: str
    columns: list[Column]
    min_fields: int  # rows with fewer tab fields are malformed; rows between min and width are padded
    wanted: Collection[str] | None = None  # the ECS fields to output; None: every column

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def field_names(self) -> list[str]:
        return [name for col in self.columns for name in col.names]

    def __post_init__(self) -> None:
        self.arrow_names = [f"c{i}" for i in range(self.width)]
        unique = iter(_unique([zt.column_name(self.path, name) for name in self.field_names]))
        self.output_names = [[next(unique) for _ in col.names] for col in self.columns]
        wanted = None if self.wanted is None else frozenset(self.wanted)
        kept = [i for i, names in enumerate(self.output_names) if wanted is None or not wanted.isdisjoint(names)]
        self.kept = set(kept or range(min(1, self.width)))  # at least one column, so the rows are still counted
        #: the columns pyarrow converts, in order: the kept ones and those whose values can be invalid
        self.parsed = [i for i, col in enumerate(self.columns) if i in self.kept or col.can_be_invalid]
        self.convert_options = pcsv.ConvertOptions(
            column_types={name: col.parse_type for name, col in zip(self.arrow_names, self.columns)},
            include_columns=[] if wanted is None else [self.arrow_names[i] for i in self.parsed],
            null_values=[self.header.unset],
            strings_can_be_null=True,
            true_values=["T"],
            false_values=["F"],
        )

    def finish(self, table: pa.Table, escaped: bool = True, empties: bool = True) -> pa.Table:
        """Typed, ECS-named output columns from a table parsed with `convert_options` (the kept columns)."""
        h = self.header
        names: list[str] = []
        arrays: list[pa.ChunkedArray | pa.Array] = []
        for values, i in zip(table.columns, self.parsed):
            col = self.columns[i]
            if len(col.names) == 1:
                parts = [zt.finish(values, col.types[0], h.set_separator, h.empty if empties else None)]
            else:
                parts = self._split_compound(values, col)
            if i not in self.kept:  # converted only so that a bad value still fails the block
                continue
            for name, ztype, part in zip(self.output_names[i], col.types, parts):
                if escaped and (pa.types.is_string(part.type) or zt.is_list(ztype)):
                    part = zt.unescape_column(part)
                names.append(name)
                arrays.append(part)
        return pa.table(arrays, names=names)

    def _split_compound(self, values: pa.ChunkedArray, col: Column) -> list[pa.ChunkedArray | pa.Array]:
        groups = "".join(rf"(?:\s+(?P<f{i}>\S*))?" for i in range(1, len(col.names) - 1))
        last = len(col.names) - 1
        pattern = rf"^(?P<f0>\S*){groups}(?:\s+(?P<f{last}>.*))?$"
        struct = pc.extract_regex(pc.fill_null(values, self.header.unset), pattern)
        h = self.header
        out = []
        for i, ztype in enumerate(col.types):
            text = pc.struct_field(struct, [i])
            text = pc.if_else(pc.equal(text, ""), h.unset, text)
            out.append(zt.from_strings(text, ztype, h.unset, h.set_separator, h.empty))
        return out

    def check(self, line: str) -> tuple[str | None, str | None, str]:
        """Validate one record: (reason, field, normalised line); reason is None when the line is good."""
        values = line.split(self.header.separator)
        if not self.min_fields <= len(values) <= self.width:
            expected = str(self.min_fields) if self.min_fields == self.width else f"{self.min_fields}-{self.width}"
            return f"expected {expected} fields, found {len(values)}", None, line
        if "\r" in line:
            return "carriage return inside a record", None, line
        for col, value in zip(self.columns, values):
            texts = [value] if len(col.names) == 1 else _COMPOUND_SPLIT.split(value, maxsplit=len(col.names) - 1)
            for name, ztype, text in zip(col.names, col.types, texts):
                if text != self.header.unset and not zt.check_value(text, ztype):
                    return f"not a valid {ztype}: {text[:60]!r}", name, line
        if len(values) < self.width:
            line += self.header.separator.join([""] + [self.header.unset] * (self.width - len(values)))
        return None, None, line


def build_layout(header: TsvHeader, path: str, sample: list[bytes], wanted: Collection[str] | None = None) -> Layout:
    """The layout of a log from its header and a few of its first data lines, projected to `wanted` ECS fields.

    Logs with the same header (the hourly files of one sensor) share one layout.
    """
    sep = header.separator.encode()
    counts = [line.count(sep) + 1 for line in sample if line and not line.startswith(b"#")]
    width = len(header.fields)
    widest = max([c for c in counts if c <= width + MAX_EXTRA_COLUMNS], default=0)
    key = (header.separator, header.set_separator, header.empty, header.unset, header.path, tuple(header.fields),
           tuple(header.types), header.lines)
    return _layout(key, path, max(0, widest - width) if width else 0, None if wanted is None else frozenset(wanted))


@lru_cache(maxsize=256)
def _layout(key: tuple[Any, ...], path: str, extra: int, wanted: frozenset[str] | None) -> Layout:
    header = TsvHeader(*key[:5], list(key[5]), list(key[6]), key[7])
    types = header.types if len(header.types) == len(header.fields) else ["string"] * len(header.fields)
    columns: list[Column] = []
    for name, ztype in zip(header.fields, types):
        names = name.split()
        if len(names) > 1:  # e.g. "tunnel_parents   label   detailed-label"
            ztypes = ztype.split()
            ztypes = ztypes if len(ztypes) == len(names) else [ztypes[0]] + ["string"] * (len(names) - 1)
            columns.append(Column(names, ztypes))
        else:
            columns.append(Column([name], [ztype]))
    columns += [Column([f"extra_{i + 1}"], ["string"]) for i in range(extra)]
    return Layout(header, path, columns, min_fields=len(header.fields), wanted=wanted)


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
