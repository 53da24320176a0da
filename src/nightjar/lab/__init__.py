"""Synthetic telemetry of a small organisation with planted, labelled attacks: for the demo and for tests.

`generate_lab(out, LabConfig(hosts, days, seed))` writes Sysmon process events, Zeek conn/dns/http logs
and a mail gateway's URL log with a ground-truth file (generate.py); `evaluate.py` matches alerts to
that truth. `write_sample` keeps the small, deliberately dirty sample the profiling tests use.
"""

from nightjar.lab.generate import Lab, generate_lab
from nightjar.lab.sample import write_sample
from nightjar.lab.truth import Attack, Truth, read_truth
from nightjar.lab.world import LAB_VERSION, LabConfig

__all__ = ["LAB_VERSION", "Attack", "Lab", "LabConfig", "Truth", "generate_lab", "read_truth", "write_sample"]
