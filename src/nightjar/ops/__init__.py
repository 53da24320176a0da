"""Operating the models: notifications, drift statistics, monitoring reports, shadow tests and the promotion gate.

- `nightjar.ops.settings`: the settings table (`Setting(name, default, constraint, help)`), config file + environment + flags.
- `nightjar.ops.notify`: email (SMTP), Slack and signed-webhook sinks, registered in one `SINKS` dict, with dedupe and rate limits.
- `nightjar.ops.drift`: PSI, KS and Jensen-Shannon distance on score samples or histograms (pure functions).
- `nightjar.ops.monitor`: the per-model monitoring report from the alert store (`nightjar monitor report|daily`).
- `nightjar.ops.shadow`: shadow scoring of a candidate on a deterministic fraction of events, its report and the gate.
"""
