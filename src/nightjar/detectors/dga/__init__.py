"""DGA detection: domain names made by a domain-generation algorithm (malware rendezvous names).

Input record: one domain name, from a `domain` column (domain lists) or `dns.question.name` (Zeek
dns.log, ECS DNS events). The name is normalised (lower case, no trailing dot, IDN to punycode) and
split with the offline public-suffix list; the model scores the registered domain's label, so random
subdomains of CDNs and cloud services do not count. Names that are not domains (empty, IP addresses,
labels over 63 characters, junk) keep their row with an empty score and the reason.

Output: `score` in 0..1, higher = more DGA-like (worse); `alert` at the model's threshold (chosen
for a false-positive rate of 1e-3 on held-out benign names); `reasons` in words. `hosts.py` adds the
per-client view for DNS logs: one machine resolving many DGA-like names is the real signal.
"""

from nightjar.detectors.dga.detector import DgaDetector

DETECTOR = DgaDetector

__all__ = ["DETECTOR", "DgaDetector"]
