"""The monitoring report: per model, what it scored, how often it alerted, drift, precision, errors, latency.

`build_report(store, settings, since=..., until=...)` reads the alert store (alerts, feedback, job runs
and the `score_stats` rows the scan records) and returns a `MonitorReport` whose `checks` say which
thresholds of the `monitor.*` settings tripped. Rendering (text, HTML, JSON) is in `monitor_render`.

Drift compares the window's score histogram with the model's reference: `metrics["score_reference"]`
in its manifest or a `reference.json` file in its folder (see `drift.reference_from_scores`). A model
without one is compared with its first day in the store, and the report says so. The same holds for
the detector's monitoring features (`nightjar.ops.features`): the reference's `features` histograms
against the window's, one PSI/KS/JS per feature, and `monitor.feature_psi_max` trips on the PSI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from nightjar.errors import NightjarError
from nightjar.ops import features as FX
from nightjar.ops import stats
from nightjar.ops.drift import DriftResult, compare_histograms, reference_counts
from nightjar.ops.settings import Settings

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Check:
    """One threshold check of one model (or of the whole store: `model` = `*`)."""

    description: ClassVar[str] = "a monitoring threshold"
    name: str
    model: str
    value: float
    limit: float
    tripped: bool
    direction: str = ">"  # trips when value > limit (or < for precision)

    def __str__(self) -> str:
        state = "TRIPPED" if self.tripped else "ok"
        return f"check={self.name} model={self.model} value={self.value:.4g} limit={self.direction}{self.limit:g} state={state}"


@dataclass
class SourceRow:
    """Events and alerts of one model from one source."""

    source: str
    events: int
    alerts: int

    @property
    def alerts_per_1000(self) -> float:
        """Alerts per 1,000 events."""
        return 1000.0 * self.alerts / self.events if self.events else 0.0


@dataclass
class ModelReport:
    """The monitoring figures of one model version in the window."""

    model: str
    detector: str
    events: int = 0
    scored: int = 0
    rejected: int = 0
    alerts: int = 0
    batches: int = 0
    by_source: list[SourceRow] = field(default_factory=list)
    drift: DriftResult | None = None
    reference: str = ""
    labelled: int = 0
    tp: int = 0
    fp: int = 0
    benign: int = 0
    hours_to_label: dict[str, float] | None = None
    latency: dict[str, float] | None = None  # seconds per 1,000 events: p50, p95, p99 over batches
    checks: list[Check] = field(default_factory=list)
    current_counts: Any = None  # grid histogram (for plots; not in JSON)
    reference_counts: Any = None
    feature_drift: dict[str, DriftResult] = field(default_factory=dict)  # worst PSI first
    feature_reference: str = ""
    current_features: dict[str, Any] = field(default_factory=dict)  # feature grid histograms (not in JSON)
    reference_features: dict[str, Any] = field(default_factory=dict)

    @property
    def alerts_per_1000(self) -> float:
        """Alerts per 1,000 events scored."""
        return 1000.0 * self.alerts / self.scored if self.scored else 0.0

    @property
    def rejected_share(self) -> float:
        """Share of the records read that could not be scored."""
        return self.rejected / self.events if self.events else 0.0

    @property
    def precision(self) -> float | None:
        """TP / labelled (`fp` and `benign` count against it); None when nothing is labelled."""
        return self.tp / self.labelled if self.labelled else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        hidden = ("current_counts", "reference_counts", "checks", "by_source", "drift", "feature_drift", "current_features",
                  "reference_features")
        data = {k: v for k, v in asdict(self).items() if k not in hidden}
        data.update(alerts_per_1000=self.alerts_per_1000, rejected_share=self.rejected_share, precision=self.precision,
                    share_labelled=self.labelled / self.alerts if self.alerts else None,
                    by_source=[{**asdict(s), "alerts_per_1000": s.alerts_per_1000} for s in self.by_source],
                    drift=self.drift.to_dict() if self.drift else None, checks=[asdict(c) for c in self.checks],
                    feature_drift={name: d.to_dict() for name, d in self.feature_drift.items()})
        return data


@dataclass
class MonitorReport:
    """Every model's report for the window [start, end), plus store-wide job failures."""

    start: str
    end: str
    store: str
    models: list[ModelReport] = field(default_factory=list)
    jobs: int = 0
    failed_jobs: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # store-wide checks

    @property
    def all_checks(self) -> list[Check]:
        """Store-wide checks, then each model's."""
        return self.checks + [c for m in self.models for c in m.checks]

    @property
    def tripped(self) -> list[Check]:
        """The checks that tripped."""
        return [c for c in self.all_checks if c.tripped]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: window, store, jobs, models, checks and `tripped` (names, model)."""
        return {"start": self.start, "end": self.end, "store": self.store, "jobs": self.jobs, "failed_jobs": self.failed_jobs,
                "models": [m.to_dict() for m in self.models], "checks": [asdict(c) for c in self.checks],
                "tripped": [str(c) for c in self.tripped], "ok": not self.tripped}


CLOCK_SLACK = timedelta(minutes=5)


def window(since: str | float, until: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end): `since` is a duration (seconds, `1d`, `6h`) before `until` (default now) or an ISO time."""
    from nightjar.ops.constraints import parse_duration

    end = (until or datetime.now(UTC)).astimezone(UTC)
    if isinstance(since, str) and len(since) >= 10 and since[4:5] == "-":
        try:
            return stats.parse_iso(since), end
        except ValueError:
            raise NightjarError(f"--since {since!r} is neither a duration (1d, 6h) nor an ISO time") from None
    return end - timedelta(seconds=parse_duration(since)), end


def model_reference(model: str, registry: Any) -> tuple[Any, str]:
    """(grid counts, description) of the reference stored with `model` (`name@version`), or (None, why not)."""
    ref, where = _stored_reference(model, registry)
    if ref is None:
        return None, where
    counts = reference_counts(ref)
    if counts is None:
        return None, f"the reference in {where} is not on the score grid of this version of nightjar"
    return counts, f"{where}: {int(counts.sum()):,} scores" + (f" ({ref['source']})" if ref.get("source") else "")


def model_feature_reference(model: str, registry: Any) -> tuple[dict[str, Any], str]:
    """({feature: grid counts}, description) of the feature reference stored with `model`, or ({}, why not)."""
    ref, where = _stored_reference(model, registry)
    if ref is None:
        return {}, where
    hists = FX.from_json(ref.get("features"))
    if not hists:
        return {}, f"no feature reference in {where}"
    return hists, f"{where}: " + ", ".join(f"{k} ({int(v.sum()):,})" for k, v in hists.items())


def _stored_reference(model: str, registry: Any) -> tuple[dict[str, Any] | None, str]:
    """(the reference dict, where it was found) of `model`, or (None, why not)."""
    name, _, version = model.partition("@")
    try:
        manifest = registry.manifest(name, int(version) if version.isdigit() else version or "production")
        folder = registry.path(name, manifest.version)
    except (NightjarError, ValueError) as exc:
        return None, f"{model} is not in the registry ({exc})"
    ref = manifest.metrics.get("score_reference") if isinstance(manifest.metrics, dict) else None
    where = "its manifest (metrics.score_reference)"
    if ref is None and "reference.json" in manifest.files:
        import json

        ref, where = json.loads((folder / "reference.json").read_text(encoding="utf-8")), "its reference.json"
    if not isinstance(ref, dict):
        return None, f"no reference stored with {model}"
    return ref, where


def store_baseline(db: Any, model: str, start: str) -> tuple[Any, str]:
    """The model's first day in the store as a reference, when that day ended before `start`."""
    rows, why = _first_day(db, model, start)
    if rows is None:
        return None, why
    counts = np.sum([r.counts for r in rows], axis=0)
    return counts, f"computed from its first day in the store ({why}, {int(counts.sum()):,} scores)"


def store_feature_baseline(db: Any, model: str, start: str) -> tuple[dict[str, Any], str]:
    """The model's first day in the store as a feature reference (as `store_baseline`)."""
    rows, why = _first_day(db, model, start)
    if rows is None:
        return {}, why
    hists: dict[str, Any] = {}
    for r in rows:
        FX.add(hists, r.features)
    return hists, (f"computed from its first day in the store ({why})" if hists else "no features in the store")


def _first_day(db: Any, model: str, start: str) -> tuple[list[stats.BatchStats] | None, str]:
    """The rows of the model's first day in the store and that day, or (None, why not)."""
    first = stats.first_scored(db, model)
    if first is None:
        return None, "no scores in the store"
    first_end = stats.iso(stats.parse_iso(first) + DAY)
    if first_end > start:
        return None, "no scored history before the window to compare with"
    return stats.load(db, since=first, until=first_end, model=model), first[:10]


def build_report(store: Any, settings: Settings, since: str | float | None = None, until: datetime | None = None,
                 registry: Any = None) -> MonitorReport:
    """The monitoring report of `store` (an AlertStore) over the window (default: `monitor.since`)."""
    if registry is None:
        from nightjar.registry import default_registry

        registry = default_registry()
    start_dt, end_dt = window(settings["monitor.since"] if since is None else since, until)
    start = stats.iso(start_dt)
    db = store.db
    report = MonitorReport(start, stats.iso(end_dt), str(store.path))
    # a window that ends now also takes records stamped a little after now (a clock stepped back by NTP)
    end = stats.iso(end_dt + CLOCK_SLACK) if until is None else stats.iso(end_dt)
    jobs = db.execute("SELECT id, status, started_at, inputs FROM job_runs WHERE started_at >= ? AND started_at < ?",
                      (start, end)).fetchall()
    report.jobs = len(jobs)
    report.failed_jobs = [{"id": j, "started_at": t, "inputs": i} for j, s, t, i in jobs if s == "failed"]
    limit = int(settings["monitor.errors_max"])
    report.checks.append(Check("failed_jobs", "*", len(report.failed_jobs), limit, len(report.failed_jobs) > limit))
    rows = stats.load(db, since=start, until=end)
    for model in sorted({r.model for r in rows}):
        report.models.append(_model_report(db, model, [r for r in rows if r.model == model], start, end, settings, registry))
    return report


def _model_report(db: Any, model: str, rows: list[stats.BatchStats], start: str, end: str, settings: Settings,
                  registry: Any) -> ModelReport:
    m = ModelReport(model, rows[0].detector, batches=len(rows))
    for r in rows:
        m.events, m.scored, m.rejected, m.alerts = m.events + r.events, m.scored + r.scored, m.rejected + r.rejected, m.alerts + r.alerts
    sources: dict[str, SourceRow] = {}
    for r in rows:
        row = sources.setdefault(r.source or "", SourceRow(r.source or "", 0, 0))
        row.events, row.alerts = row.events + r.scored, row.alerts + r.alerts
    m.by_source = sorted(sources.values(), key=lambda s: -s.events)
    m.current_counts = np.sum([r.counts for r in rows], axis=0)
    ref, why = model_reference(model, registry)
    if ref is None:
        base, how = store_baseline(db, model, start)
        ref, why = base, (f"{why}; {how}" if base is not None else f"{why}; {how}: drift not computed")
    m.reference, m.reference_counts = why, ref
    for r in rows:
        FX.add(m.current_features, r.features)
    if m.current_features:
        fref, fwhy = model_feature_reference(model, registry)
        if not fref:
            base_f, how_f = store_feature_baseline(db, model, start)
            fref, fwhy = base_f, (f"{fwhy}; {how_f}" if base_f else f"{fwhy}; {how_f}: feature drift not computed")
        m.feature_reference, m.reference_features = fwhy, fref
    per_1000 = np.array([1000.0 * r.seconds / r.events for r in rows if r.events])
    if len(per_1000):
        m.latency = {f"p{q}": float(np.percentile(per_1000, q)) for q in (50, 95, 99)}
    _labels(db, m, start, end)
    _checks(m, settings)
    return m


def _labels(db: Any, m: ModelReport, start: str, end: str) -> None:
    """Latest label per alert of the model raised in the window, and hours from alert to first label."""
    sql = ("SELECT a.created_at, (SELECT f.label FROM feedback f WHERE f.alert_id = a.id ORDER BY f.id DESC LIMIT 1), "
           "(SELECT MIN(f.created_at) FROM feedback f WHERE f.alert_id = a.id) FROM alerts a "
           "WHERE a.model = ? AND a.created_at >= ? AND a.created_at < ?")
    hours = []
    for created, label, first in db.execute(sql, (m.model, start, end)):
        if label is None:
            continue
        m.labelled += 1
        m.tp, m.fp, m.benign = m.tp + (label == "tp"), m.fp + (label == "fp"), m.benign + (label == "benign")
        hours.append((stats.parse_iso(first) - stats.parse_iso(created)).total_seconds() / 3600)
    if hours:
        m.hours_to_label = {"median": float(np.median(hours)), "p90": float(np.percentile(hours, 90))}


def _checks(m: ModelReport, s: Settings) -> None:
    checks = [Check("alert_rate", m.model, m.alerts_per_1000, s["monitor.alert_rate_max"], m.alerts_per_1000 > s["monitor.alert_rate_max"]),
              Check("rejected", m.model, m.rejected_share, s["monitor.rejected_max"], m.rejected_share > s["monitor.rejected_max"])]
    if m.reference_counts is not None and m.scored >= s["monitor.min_events"]:
        m.drift = compare_histograms(m.reference_counts, m.current_counts)
        checks += [Check(name, m.model, getattr(m.drift, name), s[f"monitor.{name}_max"], getattr(m.drift, name) > s[f"monitor.{name}_max"])
                   for name in ("psi", "ks", "js")]
    elif m.reference_counts is not None:
        m.reference += f"; drift not judged: {m.scored:,} scores < monitor.min_events ({s['monitor.min_events']:,})"
    if m.reference_features:
        m.feature_drift = FX.compare_features(m.reference_features, m.current_features, s["monitor.min_events"])
        limit = s["monitor.feature_psi_max"]
        checks += [Check(f"feature_psi:{name}", m.model, d.psi, limit, d.psi > limit) for name, d in m.feature_drift.items()]
    if m.precision is not None and m.labelled >= s["monitor.min_labelled"]:
        checks.append(Check("precision", m.model, m.precision, s["monitor.precision_min"], m.precision < s["monitor.precision_min"], "<"))
    if m.latency is not None:
        checks.append(Check("latency", m.model, m.latency["p95"], s["monitor.latency_max"], m.latency["p95"] > s["monitor.latency_max"]))
    m.checks = checks
