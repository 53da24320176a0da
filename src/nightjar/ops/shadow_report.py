"""The shadow report of a candidate, and the promotion gate built on it.

On the sampled events (`shadow_pairs`): alerts per 1,000 for each model, additional detections
(candidate alerts, production does not), lost detections (production alerts, candidate does not),
agreement and Cohen's kappa of the two alert decisions, latency per 1,000 events (p50/p95/p99 over
batches, from `shadow_batches`), the top additional detections to triage, and the analysts' labels:
a pair's own label (`nightjar shadow label`, which labels every candidate-only pair of the same
entity) or else the latest feedback on the alert with the same event.id in the alert store. The
triage list groups the additional detections by entity (domain, URL, command line).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nightjar.errors import InputError
from nightjar.ops.settings import Settings
from nightjar.ops.stats import parse_iso

LABEL_SQL = ("COALESCE(p.label, (SELECT f.label FROM feedback f WHERE f.alert_id = p.alert_id ORDER BY f.id DESC LIMIT 1))")


def cohen_kappa(both: int, only_a: int, only_b: int, neither: int) -> float | None:
    """Cohen's kappa of two yes/no raters from the 2x2 counts; None when chance agreement is total."""
    n = both + only_a + only_b + neither
    if n == 0:
        return None
    observed = (both + neither) / n
    yes_a, yes_b = (both + only_a) / n, (both + only_b) / n
    expected = yes_a * yes_b + (1 - yes_a) * (1 - yes_b)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class GateCheck:
    """One rule of the promotion gate."""

    name: str
    value: float | None
    limit: float
    passed: bool
    direction: str  # ">=" or "<="

    def __str__(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.4g}"
        return f"{self.name}={value} (needs {self.direction} {self.limit:g}): {'pass' if self.passed else 'FAIL'}"


@dataclass
class ShadowReport:
    """What the candidate did on the sampled events (see the module docstring)."""

    detector: str
    candidate: str
    production: list[str] = field(default_factory=list)
    sampled: int = 0
    events_seen: int = 0
    missing_key: int = 0
    production_alerts: int = 0
    candidate_alerts: int = 0
    both: int = 0
    additional_detections: int = 0
    lost_detections: int = 0
    agreement: float | None = None
    kappa: float | None = None
    first: str | None = None
    last: str | None = None
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    additional_labels: dict[str, int] = field(default_factory=dict)
    lost_labels: dict[str, int] = field(default_factory=dict)
    top_additional: list[dict[str, Any]] = field(default_factory=list)
    gate: list[GateCheck] = field(default_factory=list)

    @property
    def days(self) -> float:
        """Days between the first and the last shadow pair."""
        if not self.first or not self.last:
            return 0.0
        return (parse_iso(self.last) - parse_iso(self.first)).total_seconds() / 86400

    def per_1000(self, alerts: int) -> float | None:
        """Alerts per 1,000 sampled events."""
        return 1000.0 * alerts / self.sampled if self.sampled else None

    @property
    def gate_passed(self) -> bool:
        """True when every gate rule passed."""
        return bool(self.gate) and all(c.passed for c in self.gate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; keys include sampled, additional_detections, lost_detections, agreement, kappa."""
        data = asdict(self)
        data.update(days=self.days, production_alerts_per_1000=self.per_1000(self.production_alerts),
                    candidate_alerts_per_1000=self.per_1000(self.candidate_alerts), gate_passed=self.gate_passed,
                    gate=[{**asdict(c), "text": str(c)} for c in self.gate])
        return data


def _candidate_ref(db: Any, detector: str, candidate: str | None) -> str:
    """The candidate to report on: given (`dga@3` or `3`), or the most recently shadowed one of `detector`."""
    if candidate:
        return candidate if "@" in candidate else f"{detector}@{candidate}"
    row = db.execute("SELECT candidate FROM shadow_pairs WHERE detector = ? OR candidate LIKE ? ORDER BY id DESC LIMIT 1",
                     (detector, f"{detector}@%")).fetchone()
    if row is None:
        raise InputError(f"no shadow pairs for {detector!r} in the store; run `nightjar scan ... --shadow {detector}@VERSION` first")
    return str(row[0])


def build_shadow_report(store: Any, detector: str, settings: Settings, candidate: str | None = None, top: int = 20) -> ShadowReport:
    """The report of `candidate` (default: the latest shadowed version of `detector`), with the gate evaluated."""
    db = store.db
    ref = _candidate_ref(db, detector, candidate)
    r = ShadowReport(detector=ref.split("@", 1)[0], candidate=ref)
    rows = db.execute(f"SELECT p.production_alert, p.candidate_alert, {LABEL_SQL}, COUNT(*) FROM shadow_pairs p "
                      "WHERE p.candidate = ? GROUP BY 1, 2, 3", (ref,)).fetchall()
    for prod, cand, label, n in rows:
        r.sampled += n
        r.production_alerts += n * prod
        r.candidate_alerts += n * cand
        if prod and cand:
            r.both += n
        elif cand:
            r.additional_detections += n
            r.additional_labels[label or "unlabelled"] = r.additional_labels.get(label or "unlabelled", 0) + n
        elif prod:
            r.lost_detections += n
            r.lost_labels[label or "unlabelled"] = r.lost_labels.get(label or "unlabelled", 0) + n
    neither = r.sampled - r.both - r.additional_detections - r.lost_detections
    if r.sampled:
        r.agreement = (r.both + neither) / r.sampled
        r.kappa = cohen_kappa(r.both, r.lost_detections, r.additional_detections, neither)
    r.production = [p for (p,) in db.execute("SELECT DISTINCT production FROM shadow_pairs WHERE candidate = ?", (ref,))]
    r.first, r.last = db.execute("SELECT MIN(created_at), MAX(created_at) FROM shadow_pairs WHERE candidate = ?", (ref,)).fetchone()
    batches = db.execute("SELECT events, sampled, missing_key, production_seconds, candidate_seconds FROM shadow_batches "
                         "WHERE candidate = ?", (ref,)).fetchall()
    r.events_seen, r.missing_key = sum(b[0] for b in batches), sum(b[2] for b in batches)
    prod_lat = [1000.0 * b[3] / b[0] for b in batches if b[0]]
    cand_lat = [1000.0 * b[4] / b[1] for b in batches if b[1]]
    for name, values in (("production", prod_lat), ("candidate", cand_lat)):
        if values:
            r.latency[name] = {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)}
    cols = ("id", "entity", "pairs", "hosts", "first_seen", "candidate_score", "production_score", "label")
    r.top_additional = [dict(zip(cols, row)) for row in db.execute(
        f"SELECT MIN(p.id), p.entity, COUNT(*), COUNT(DISTINCT p.host_name), MIN(p.timestamp), MAX(p.candidate_score), "
        f"MAX(p.production_score), MAX({LABEL_SQL}) FROM shadow_pairs p "
        "WHERE p.candidate = ? AND p.candidate_alert = 1 AND p.production_alert = 0 "
        "GROUP BY p.entity ORDER BY MAX(p.candidate_score) DESC, COUNT(*) DESC, MIN(p.id) LIMIT ?", (ref, int(top)))]
    r.gate = evaluate_gate(r, settings)
    return r


def label_pairs(db: Any, pair_id: int, label: str, note: str | None, when: str) -> int:
    """Label a pair; a candidate-only pair's label also goes to the other candidate-only pairs of its entity.

    Returns how many pairs were labelled (0 when the id is unknown).
    """
    row = db.execute("SELECT candidate, entity, candidate_alert, production_alert FROM shadow_pairs WHERE id = ?", (pair_id,)).fetchone()
    if row is None:
        return 0
    candidate, entity, cand, prod = row
    if cand and not prod and entity:
        sql, args = ("UPDATE shadow_pairs SET label = ?, note = ?, labelled_at = ? WHERE candidate = ? AND entity = ? "
                     "AND candidate_alert = 1 AND production_alert = 0", (label, note, when, candidate, entity))
    else:
        sql, args = "UPDATE shadow_pairs SET label = ?, note = ?, labelled_at = ? WHERE id = ?", (label, note, when, pair_id)
    return int(db.execute(sql, args).rowcount)


def evaluate_gate(r: ShadowReport, s: Settings) -> list[GateCheck]:
    """The gate rules of the `gate.*` settings applied to a report."""
    reviewed = sum(v for k, v in r.additional_labels.items() if k != "unlabelled")
    true_share = r.additional_labels.get("tp", 0) / reviewed if reviewed else None
    lost_counted = r.lost_detections - r.lost_labels.get("fp", 0) - r.lost_labels.get("benign", 0)
    lost_share = lost_counted / r.production_alerts if r.production_alerts else (0.0 if lost_counted == 0 else 1.0)
    prod_rate, cand_rate = r.per_1000(r.production_alerts), r.per_1000(r.candidate_alerts)
    if prod_rate:
        increase = (cand_rate or 0.0) / prod_rate - 1
    else:
        increase = 0.0 if not cand_rate else float("inf")
    lat_p, lat_c = r.latency.get("production", {}).get("p95"), r.latency.get("candidate", {}).get("p95")
    regression = (lat_c / lat_p - 1) if lat_p and lat_c is not None else None
    need_reviews = r.additional_detections > 0
    return [
        GateCheck("events", r.sampled, s["gate.min_events"], r.sampled >= s["gate.min_events"], ">="),
        GateCheck("days", r.days, s["gate.min_days"], r.days >= s["gate.min_days"], ">="),
        GateCheck("reviewed_additional", reviewed, s["gate.min_reviewed"],
                  reviewed >= min(s["gate.min_reviewed"], r.additional_detections), ">="),
        GateCheck("true_share_additional", true_share, s["gate.min_true_share"],
                  (true_share is not None and true_share >= s["gate.min_true_share"]) or not need_reviews, ">="),
        GateCheck("lost_share", lost_share, s["gate.max_lost_share"], lost_share <= s["gate.max_lost_share"], "<="),
        GateCheck("alert_increase", increase, s["gate.max_alert_increase"], increase <= s["gate.max_alert_increase"], "<="),
        GateCheck("latency_regression", regression, s["gate.max_latency_regression"],
                  regression is None or regression <= s["gate.max_latency_regression"]
                  or (lat_c or 0.0) - (lat_p or 0.0) <= s["gate.latency_slack"], "<="),
    ]
