"""The reader contract and the registry that sniffs which reader fits an input.

A reader turns one `Source` into Arrow batches with ECS column names, counting every record in a
`ReadReport`. Readers register themselves with `@register`; `detect()` asks each, in registration
order, whether it recognises the first bytes of a source.

A reader may take optional keyword arguments of `batches`, named in its `accepts`; `read_batches`
passes only those:
- `fields` ({event kind: ECS names}): read only those fields of the kinds named (a reader that
  cannot project, and any kind not named, gives every field). Projection never changes which records
  are read, parsed or rejected;
- `stream`: the `BlockStream` the source was sniffed from, not read yet (no second decompression);
- `part`: read only part `part` of the `parts(source)` that the reader cuts the source into. A reader
  that defines `parts` reads each part independently of the others (EVTX: a run of chunks), so read-ahead
  workers can parse the parts of one large file side by side. The parts' batches, in part order, hold
  the source's records in order and add up to the same accounting as one read of the whole.

A reader whose parsing costs about as much as scoring sets `read_ahead = True`: `read_ahead.worth_it`
then parses large inputs of its format in child processes while the previous batch is scored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import pandas as pd
import pyarrow as pa

from nightjar.errors import InputError, Location
from nightjar.io.report import ReadReport
from nightjar.io.sources import Source
from nightjar.io.zeek_stream import BlockStream

DEFAULT_BATCH_ROWS = 65536
SNIFF_BYTES = 65536
#: per event kind (a batch's `kind`: "conn", "dns", "zeek.ssh", ...), the ECS fields a caller needs
Fields = Mapping[str, Collection[str]]


@dataclass
class Batch:
    """A slice of one input: an Arrow table with ECS columns, the event kind, and where it came from."""

    table: pa.Table
    kind: str
    source: str

    def frame(self) -> pd.DataFrame:
        """The table as pandas, integer columns as nullable `Int64`: a batch's dtypes (and its CSV, `7` not `7.0`)
        then do not depend on whether it happens to hold a missing value."""
        return self.table.to_pandas(types_mapper=_nullable_ints)


def _nullable_ints(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    return pd.Int64Dtype() if pa.types.is_integer(kind) else None


class Reader(Protocol):
    """One input format."""

    format: str

    def sniff(self, source: Source, head: bytes) -> bool:
        """True when this reader recognises `head`, the first decompressed bytes of `source`."""

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        """Yield the records of `source` as batches, counting each in `report`."""


READERS: list[Reader] = []


def read_batches(reader: Reader, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS,
                 fields: Fields | None = None, stream: BlockStream | None = None, part: int | None = None) -> Iterator[Batch]:
    """`reader.batches(...)` with those of `fields`, `stream` and `part` that the reader `accepts`.

    The batches of a kind named in `fields` hold at least those of its fields that the input has (a
    reader that cannot project returns them all); None reads every field. A `stream` the reader does
    not take is closed: the reader opens the source itself.
    """
    accepts = getattr(reader, "accepts", frozenset())
    options: dict[str, object] = {}
    if fields is not None and "fields" in accepts:
        options["fields"] = fields
    if stream is not None and "stream" in accepts:
        options["stream"] = stream
    elif stream is not None:
        stream.close()
    if part is not None:
        if "part" not in accepts:
            raise TypeError(f"the {reader.format} reader does not read parts")
        options["part"] = part
    return reader.batches(source, report, batch_rows, **options)  # type: ignore[call-arg]


def register(reader_class: type) -> type:
    """Class decorator: add a reader (instantiated without arguments) to the registry."""
    READERS.append(reader_class())
    return reader_class


def parts(reader: Reader, source: Source) -> int:
    """How many parts `reader` can read `source` in, one after another or side by side (1: only whole)."""
    count = getattr(reader, "parts", None)
    return max(1, count(source)) if count is not None and "part" in getattr(reader, "accepts", frozenset()) else 1


def detect(source: Source, head: bytes | None = None) -> Reader:
    """The reader for `source`, or InputError naming the file when no reader recognises it."""
    if head is None:
        head = source.head(SNIFF_BYTES)
    for reader in READERS:
        if reader.sniff(source, head):
            return reader
    if not head.strip():
        return EMPTY
    raise InputError("unknown format (not EVTX, Windows event JSON/CSV, Zeek, or a domain/URL list)", Location(source.name))


class _EmptyReader:
    """An empty file is fine: zero records, nothing to say."""

    format = "empty"

    def sniff(self, source: Source, head: bytes) -> bool:
        return not head.strip()

    def batches(self, source: Source, report: ReadReport, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        return iter(())


EMPTY = _EmptyReader()
