"""Synthetic telemetry for the demo and for tests (`sample.write_sample`)."""

from nightjar.lab.sample import write_sample

__all__ = ["write_sample"]
