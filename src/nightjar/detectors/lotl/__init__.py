"""Living-off-the-land detection: Windows process creations that abuse the system's own tools.

Input record: one process-creation event (Sysmon EID 1 or Security 4688) with ECS fields from the
readers: `process.name`, `process.executable`, `process.command_line`, `process.parent.name`,
`process.entity_id` / `process.parent.entity_id` (for grandparents and trees), `host.name`.
Events with neither a command line nor an executable keep their row with an empty score.

Output: `score` in 0..1, higher = more likely abuse (worse); `alert` at the model's threshold
(chosen for a false-positive rate of 1e-3 per benign event on held-out data); `reasons` in words;
`threat.technique.id` for alerts where a LOLBAS entry or keyword maps to ATT&CK. `rarity.py` lifts
events rare for their host; `trees.py` groups alerts into process trees.
"""

from nightjar.detectors.lotl.detector import LotlDetector

DETECTOR = LotlDetector

__all__ = ["DETECTOR", "LotlDetector"]
