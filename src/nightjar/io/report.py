"""Accounting for every read: rows read = rows parsed + rows rejected, always.

A reader never drops a record silently: a malformed one is counted as rejected, and its location and
reason are kept (the first `max_examples` of them, so a file of garbage cannot exhaust memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nightjar.errors import Location


@dataclass(frozen=True)
class Rejection:
    """One skipped record: where it was and why."""

    source: Location
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass
class ReadReport:
    """What happened while reading one input (a file or an archive member)."""

    source: str
    format: str = "unknown"
    read: int = 0
    parsed: int = 0
    rejected: int = 0
    truncated: bool = False
    #: what a user should know, in words (`note`); `notes` adds the counts of `ignored`
    remarks: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    max_examples: int = 50
    #: well-formed records of no kind the reader yields (non-process-creation events in an EVTX), by what they are;
    #: outside read / parsed / rejected, and said in `notes`
    ignored: dict[str, int] = field(default_factory=dict)

    def ok(self, n: int = 1) -> None:
        """Count `n` records read and parsed."""
        self.read += n
        self.parsed += n

    def reject(self, line: int | None, reason: str, field_name: str | None = None) -> None:
        """Count one record read and rejected, keeping its location and reason."""
        self.read += 1
        self.rejected += 1
        if len(self.rejections) < self.max_examples:
            self.rejections.append(Rejection(Location(self.source, line, field_name), reason))

    def ended_early(self, why: str, kept: int | None = None) -> None:
        """Mark the input as cut short (`why`: the decompression error) and say how many records before the break were kept."""
        self.truncated = True
        tail = f"kept the {kept:,} records before the break" if kept is not None else "records before the break were read"
        self.note(f"input ended early ({why}); {tail}")

    def note(self, text: str) -> None:
        """Record something a user should know (truncation, unknown columns, ...)."""
        if text not in self.remarks:
            self.remarks.append(text)

    def ignore(self, n: int, what: str) -> None:
        """Count `n` more records of `what` that the reader passes over (said as "N {what} ignored" in `notes`)."""
        if n:
            self.ignored[what] = self.ignored.get(what, 0) + n

    @property
    def notes(self) -> list[str]:
        """The remarks, then "N {what} ignored" for each kind of record passed over."""
        return [*self.remarks, *(f"{n:,} {what} ignored" for what, n in self.ignored.items())]

    @property
    def balanced(self) -> bool:
        """True when read = parsed + rejected."""
        return self.read == self.parsed + self.rejected

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "source": self.source,
            "format": self.format,
            "read": self.read,
            "parsed": self.parsed,
            "rejected": self.rejected,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "rejections": [str(r) for r in self.rejections],
            "ignored": dict(self.ignored),
        }

    @classmethod
    def merged(cls, name: str, reports: list[ReadReport], format: str | None = None, in_file_order: bool = False) -> ReadReport:
        """One report summing `reports` (sources of one input, or parts of one source read apart).

        The examples of rejections are the first `max_examples` in the order of `reports`, or by line with
        `in_file_order` (parts of one file). The format is `format`, else the formats joined.
        """
        merged = cls(name, format=format or ",".join(sorted({r.format for r in reports})) or "empty")
        rejections: list[Rejection] = []
        for r in reports:
            merged.read += r.read
            merged.parsed += r.parsed
            merged.rejected += r.rejected
            merged.truncated |= r.truncated
            for text in r.remarks:
                merged.note(text)
            for what, n in r.ignored.items():
                merged.ignore(n, what)
            rejections += r.rejections
        if in_file_order:
            rejections.sort(key=lambda r: (r.source.line is None, r.source.line or 0))
        merged.rejections = rejections[: merged.max_examples]
        return merged


def totals(reports: list[ReadReport]) -> dict[str, int]:
    """Sum read / parsed / rejected over several reports."""
    return {
        "read": sum(r.read for r in reports),
        "parsed": sum(r.parsed for r in reports),
        "rejected": sum(r.rejected for r in reports),
    }
