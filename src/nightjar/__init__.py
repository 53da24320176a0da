"""Nightjar: machine-learning detections for security telemetry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nightjar")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
