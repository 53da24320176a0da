"""CLI commands: each module adds its commands to `nightjar.cli.app`; importing this package registers them all."""

from nightjar.commands import data, demo  # noqa: F401
from nightjar.commands import models  # noqa: F401
from nightjar.commands import score  # noqa: F401
from nightjar.commands import train  # noqa: F401
from nightjar.commands import alerts, scan  # noqa: F401
from nightjar.commands import lab  # noqa: F401
from nightjar.commands import monitor  # noqa: F401
from nightjar.commands import shadow  # noqa: F401
