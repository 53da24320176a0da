"""A chunk of NDJSON lines decoded by msgspec into only the fields a fast path reads.

msgspec checks each line as strictly as orjson (the record path's parser) and skips the keys a Struct
does not declare without creating objects for them. A line that does not decode into the Struct (malformed
JSON, a value of an unexpected type, a key whose presence alone changes what the record path does) is
left to the record path, which rejects it or reads it exactly as before. msgspec does not check UTF-8 inside
the strings it skips, so in a chunk that is not valid UTF-8 the invalid lines go to the record path. Two
differences remain, both in skipped fields: a number too large for a double (`1e400`) is accepted here and
rejected by orjson, and so is nesting deeper than orjson's 1024 levels when the recursion limit has been raised
above that (at the default limit msgspec gives up first and the line goes to the record path).

Why msgspec (bench/windows_readers.py, one core, events per CPU-second, decoding alone): on flat ECS lines
(~1.5 KB) msgspec decodes the declared fields at ~410k, orjson whole lines at ~360k, pyarrow.json with an
explicit schema at ~215k (its Arrow columns included); on OTRF's mixed ~2.4 KB events ~300k, ~250k and
~170k. Turning decoded values into Arrow columns costs about as much again (~50 ns a value), so a
process-only export is read no faster than through pyarrow.json; exports where most events are something
else are read faster (only process rows become columns), and pyarrow.json accepts what orjson rejects (NaN,
invalid UTF-8 in skipped fields, two objects on a line) and cannot tell a missing key from a null one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightjar.io.process_events import PROCESS_SCHEMA

#: a JSON key that must be absent: any value, null included, fails validation
ABSENT = (msgspec.UnsetType, msgspec.UNSET)
REQUIRED = msgspec.NODEFAULT
_NULL = pa.scalar(None, pa.string())


class Fields:
    """A msgspec decoder of the JSON keys in `spec` ({key: (type, default)}), and their values by key."""

    def __init__(self, name: str, spec: Mapping[str, tuple[Any, Any]]) -> None:
        self._attribute = {key: f"f{i}" for i, key in enumerate(spec)}
        struct = msgspec.defstruct(
            name,
            [(self._attribute[key], kind, default) for key, (kind, default) in spec.items()],
            rename={attribute: key for key, attribute in self._attribute.items()},
            kw_only=True,
            gc=False,
        )
        self.decoder = msgspec.json.Decoder(struct)

    def values(self, structs: list[Any], key: str) -> list[Any]:
        return list(map(attrgetter(self._attribute[key]), structs))

    def strings(self, structs: list[Any], key: str) -> pa.Array:
        return pa.array(self.values(structs, key), pa.string())


@dataclass
class Decoded:
    """The lines of a chunk (`starts`, `ends`), the Structs of those that decoded and their offsets (line
    numbers within the chunk), and the offsets of the non-blank lines that did not."""

    chunk: memoryview
    starts: list[int]
    ends: list[int]
    structs: list[Any]
    offsets: np.ndarray
    slow: list[int]

    def line(self, offset: int) -> bytes:
        return bytes(self.chunk[self.starts[offset] : self.ends[offset]])


@dataclass
class Parsed:
    """A chunk read by a fast path: typed rows with their line offsets, the lines left to the record path."""

    decoded: Decoded
    table: pa.Table = field(default_factory=PROCESS_SCHEMA.empty_table)
    offsets: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # of `table`'s rows, in the chunk
    slow: list[int] = field(default_factory=list)  # offsets of the lines left to the record path, ascending
    ignored: int = 0  # events that are not process creations

    @property
    def line_count(self) -> int:
        """Lines in the chunk, a last one without a newline included (as `bytes.split` counts them)."""
        return len(self.decoded.starts)


def decode(chunk: bytes | memoryview, fields: Fields) -> Decoded:
    """Every line of `chunk` decoded with `fields.decoder`; blank lines are skipped, as by the record path."""
    view = memoryview(chunk)
    newlines = np.flatnonzero(np.frombuffer(view, np.uint8) == 10)
    starts, ends = [0, *(newlines + 1).tolist()], [*newlines.tolist(), len(view)]
    check = not valid_utf8(view)  # then line by line: msgspec does not check the strings it skips
    structs: list[Any] = []
    failed: list[int] = []
    append, decode_line = structs.append, fields.decoder.decode
    for i, (a, b) in enumerate(zip(starts, ends)):
        try:
            if check:
                bytes(view[a:b]).decode("utf-8")
            append(decode_line(view[a:b]))
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # ValidationError is a DecodeError
            failed.append(i)
    offsets = np.delete(np.arange(len(starts)), failed)
    return Decoded(view, starts, ends, structs, offsets, [i for i in failed if bytes(view[starts[i] : ends[i]]).strip()])


def valid_utf8(data: bytes | memoryview) -> bool:
    """True when `data` is valid UTF-8 (Arrow's check, ~10 GB/s)."""
    offsets = pa.py_buffer(np.array([0, memoryview(data).nbytes], np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def mask(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy mask, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), bool)


def nonempty(values: pa.Array) -> pa.Array:
    """Empty strings as null: Python's `a or b` on strings is `coalesce(nonempty(a), b)`."""
    return pc.if_else(pc.equal(values, ""), _NULL, values)


def parsed(decoded: Decoded, keep: np.ndarray, table: pa.Table | None, slow: np.ndarray | None = None) -> Parsed:
    """The Parsed chunk: `table` holds the rows of the Structs where `keep`, or is None to leave them to the record path.

    `keep` and `slow` are boolean masks over `decoded.structs`; Structs in neither are ignored events.
    """
    slow = np.zeros(len(keep), bool) if slow is None else slow
    result = Parsed(decoded, ignored=len(keep) - int(keep.sum()) - int(slow.sum()))
    if table is None:
        slow = slow | keep
    else:
        result.table, result.offsets = table, decoded.offsets[keep]
    result.slow = sorted(decoded.slow + decoded.offsets[slow].tolist())
    return result
