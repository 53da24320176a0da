"""Beaconing detection: C2 call-backs in Zeek connection logs, robust to jitter, aware of web proxies.

Input records: Zeek conn.log connections (plus http.log, ssl.log and dns.log for destination names
and proxies). Output: one row per communicating pair — (source, destination address, port), (source,
domain) when a name spans several addresses, (client, proxy, real host) behind a web proxy — with
`score` in 0..1, higher = more like a C2 call-back (worse), `alert` at the model's threshold,
`reasons` in words and the component scores `score.interval`, `score.periodicity`, `score.size`,
`score.coverage`, `score.count`, `score.answered`, `score.rarity`. Sessions held open for most of the
window (also when Zeek logged them in pieces across rotated files) are reported as long connections
(`long_connection`, `score.duration`). See docs/beacon.md for the evaluation, speed and memory.
"""

from nightjar.detectors.beacon.detector import BeaconDetector

DETECTOR = BeaconDetector

__all__ = ["DETECTOR", "BeaconDetector"]
