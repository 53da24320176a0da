"""The monitoring report as text (terminal, email, Slack), self-contained HTML (inline SVG) and a notification."""

from __future__ import annotations

import hashlib

import numpy as np
from markupsafe import Markup

from nightjar import plots, report_html
from nightjar.ops.drift import SCORE_EDGES
from nightjar.ops.monitor import ModelReport, MonitorReport
from nightjar.ops.notify import Message


def _num(x: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def to_text(report: MonitorReport) -> str:
    """A plain-text summary: one block per model, then the tripped checks."""
    head = "TRIPPED: " + ", ".join(f"{c.name} ({c.model})" for c in report.tripped) if report.tripped else "all checks passed"
    lines = [f"Nightjar monitoring {report.start[:16]} .. {report.end[:16]} UTC ({report.store})", head,
             f"jobs: {report.jobs}, failed: {len(report.failed_jobs)}"]
    if not report.models:
        lines.append("no scored events in the window")
    for m in report.models:
        lines += ["", f"{m.model} ({m.detector}): {m.scored:,} events scored, {m.alerts:,} alerts "
                      f"({m.alerts_per_1000:.2f} per 1,000), {m.rejected:,} rejected ({m.rejected_share:.2%})"]
        for s in m.by_source[:5]:
            lines.append(f"  source {s.source or '?'}: {s.events:,} events, {s.alerts:,} alerts ({s.alerts_per_1000:.2f} per 1,000)")
        if m.drift:
            d = m.drift
            lines.append(f"  drift: PSI {d.psi:.3f}, KS {d.ks:.3f}, JS {d.js:.3f} "
                         f"(n reference {d.n_reference:,}, n window {d.n_current:,}, {d.bins} bins)")
        lines.append(f"  reference: {m.reference}")
        for name, d in m.feature_drift.items():
            lines.append(f"  feature {name}: PSI {d.psi:.3f}, KS {d.ks:.3f}, JS {d.js:.3f} "
                         f"(n reference {d.n_reference:,}, n window {d.n_current:,}, {d.bins} bins)")
        if m.feature_reference:
            lines.append(f"  feature reference: {m.feature_reference}")
        share = f"{m.labelled / m.alerts:.0%}" if m.alerts else "-"
        ttl = f", median {m.hours_to_label['median']:.1f} h to label" if m.hours_to_label else ""
        lines.append(f"  labels: {m.labelled} ({share} of alerts): {m.tp} tp, {m.fp} fp, {m.benign} benign; "
                     f"precision {_num(m.precision)}{ttl}")
        if m.latency:
            lines.append(f"  latency per 1,000 events: p50 {m.latency['p50']:.3f} s, p95 {m.latency['p95']:.3f} s, "
                         f"p99 {m.latency['p99']:.3f} s over {m.batches} batches")
    if report.tripped:
        lines += ["", "tripped checks:"] + [f"  {c}" for c in report.tripped]
    return "\n".join(lines) + "\n"


def score_plot(m: ModelReport) -> Markup | None:
    """Reference vs window share of scores per grid bin, on the logit(score) axis."""
    if m.current_counts is None or not np.sum(m.current_counts):
        return None
    inner = SCORE_EDGES[1:-1]
    mids = np.log(inner[:-1] / (1 - inner[:-1])) + np.diff(np.log(inner / (1 - inner))) / 2
    xs = np.concatenate([[mids[0] - 0.12], mids, [mids[-1] + 0.12]])
    series = {"window": (xs.tolist(), (np.asarray(m.current_counts) / np.sum(m.current_counts)).tolist())}
    if m.reference_counts is not None and np.sum(m.reference_counts):
        series["reference"] = (xs.tolist(), (np.asarray(m.reference_counts) / np.sum(m.reference_counts)).tolist())
    return plots.line_plot(series, title=f"{m.model}: score distribution", x_label="logit(score)", y_label="share",
                           width=460, height=220)


def to_html(report: MonitorReport) -> str:
    """A self-contained HTML report: summary table, checks, per-model plots (inline SVG)."""
    figures = {}
    for m in report.models:
        parts = [p for p in (score_plot(m),) if p is not None]
        if len(m.by_source) > 1:
            parts.append(plots.bar_chart([s.source for s in m.by_source], [s.alerts_per_1000 for s in m.by_source],
                                         title="alerts per 1,000 events by source", value_format="{:.2f}", width=460))
        figures[m.model] = parts
    return report_html.render("monitor.html", title="Nightjar monitoring", report=report, figures=figures,
                              num=_num)


def message(report: MonitorReport) -> Message:
    """The notification: keyed by day and outcome, so a re-run of the same day's report is not sent twice."""
    tripped = sorted(f"{c.name}:{c.model}" for c in report.tripped)
    digest = hashlib.sha256("|".join(tripped).encode()).hexdigest()[:12]
    subject = (f"monitoring {report.end[:10]}: {len(tripped)} check(s) tripped" if tripped
               else f"monitoring {report.end[:10]}: all checks passed")
    return Message(key=f"monitor:{report.store}:{report.end[:10]}:{digest}", subject=subject, text=to_text(report),
                   html=to_html(report), data=report.to_dict(), severity="warning" if tripped else "info",
                   attachment_name=f"nightjar-monitor-{report.end[:10]}.json")
