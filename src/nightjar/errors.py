"""One error tree for the whole package; every error can say where it happened.

The CLI maps `InputError` (unreadable or unknown input, bad usage) to exit code 2 and every other
`NightjarError` to exit code 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in an input: a file (or archive member) and, when known, a 1-based line and a field."""

    path: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        return text if self.field is None else f"{text} (field {self.field!r})"


class NightjarError(ValueError):
    """Root of every error Nightjar raises on purpose."""

    def __init__(self, message: str, source: Location | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(NightjarError):
    """An input cannot be read at all: missing, unreadable, or of an unknown format (exit code 2)."""


class SchemaError(NightjarError):
    """A record or table does not have the fields a step needs."""


class ConfigError(NightjarError):
    """A setting or parameter has an invalid value."""


class ModelNotFoundError(NightjarError):
    """No model matches the name, version or alias asked for."""


class ModelIntegrityError(NightjarError):
    """A model file is missing, truncated or does not match its manifest checksum."""
