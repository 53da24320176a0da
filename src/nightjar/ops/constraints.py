"""Constraints for settings, declared once; every violation has the same message shape.

Example:
    >>> Interval(int, 1, 65535).check("email.smtp_port", 0)
    Traceback (most recent call last):
    ...
    nightjar.errors.ConfigError: The 'email.smtp_port' setting must be an int in 1..65535. Got 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from nightjar.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | int) -> float:
    """`90`, `"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1w"` -> seconds; ConfigError otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0 or not math.isfinite(text):
            raise ConfigError(f"a duration must be a non-negative number of seconds. Got {text!r}.")
        return float(text)
    match = DURATION.match(str(text))
    if not match:
        raise ConfigError(f"a duration is a number with an optional unit s, m, h, d or w (e.g. 1d, 6h). Got {text!r}.")
    return float(match.group(1)) * UNITS[match.group(2)]


def _fail(name: str, what: str, value: Any) -> ConfigError:
    return ConfigError(f"The {name!r} setting must be {what}. Got {value!r}.")


@dataclass(frozen=True)
class Constraint:
    """Base: `check(name, value)` returns the value (converted where that is lossless) or raises ConfigError."""

    def check(self, name: str, value: Any) -> Any:
        """Validate (and convert) one value."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short phrase for help text and messages."""
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of type `kind` within [low, high] (either end None for unbounded); `open_low` excludes low."""

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    optional: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if self.kind is int and ok_type and float(value).is_integer():
            value = int(value)
        elif self.kind is int or not ok_type:
            raise _fail(name, self.describe(), value)
        value = self.kind(value)
        if not math.isfinite(value) or (self.low is not None and (value < self.low or (self.open_low and value == self.low))) \
                or (self.high is not None and value > self.high):
            raise _fail(name, self.describe(), value)
        return value

    def describe(self) -> str:
        kind = "an int" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            text = f"{kind} > {self.low} and <= {self.high}" if self.open_low else f"{kind} in {self.low}..{self.high}"
        elif self.low is not None:
            text = f"{kind} {'>' if self.open_low else '>='} {self.low}"
        elif self.high is not None:
            text = f"{kind} <= {self.high}"
        else:
            text = kind
        return text + (" (or empty)" if self.optional else "")


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def check(self, name: str, value: Any) -> Any:
        if value not in self.choices:
            raise _fail(name, self.describe(), value)
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)


@dataclass(frozen=True)
class Text(Constraint):
    """A string; `url=True` requires http:// or https:// (empty allowed: the feature is off)."""

    url: bool = False

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, str):
            raise _fail(name, self.describe(), value)
        if self.url and value and not value.startswith(("http://", "https://")):
            raise _fail(name, self.describe(), value)
        return value

    def describe(self) -> str:
        return "an http(s) URL or empty" if self.url else "a string"


@dataclass(frozen=True)
class TextList(Constraint):
    """A list of strings; a comma-separated string (from the environment or a flag) is split."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(name, self.describe(), value)
        return value

    def describe(self) -> str:
        return "a list of strings"


@dataclass(frozen=True)
class Duration(Constraint):
    """A duration: seconds, or a string like `15m`, `6h`, `1d` (stored as seconds)."""

    def check(self, name: str, value: Any) -> Any:
        try:
            return parse_duration(value)
        except ConfigError:
            raise _fail(name, "a duration (seconds, or e.g. 15m, 6h, 1d)", value) from None

    def describe(self) -> str:
        return "a duration (seconds, or e.g. 15m, 6h, 1d)"


@dataclass(frozen=True)
class Flag(Constraint):
    """A boolean (`true`/`false`; from the environment also 1/0, yes/no)."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise _fail(name, self.describe(), value)
        return value

    def describe(self) -> str:
        return "true or false"
