"""Profiling and cleaning of datasets.

Example:
    >>> from nightjar.data import profile_paths
    >>> profile = profile_paths(["logs/"], label="label")  # doctest: +SKIP
"""

from nightjar.data.profile import KindProfile, Profile, profile_batches, profile_paths

__all__ = ["KindProfile", "Profile", "profile_batches", "profile_paths"]
