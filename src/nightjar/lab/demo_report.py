"""The demo's report: JSON (every figure) and one self-contained HTML page (templates/demo.html)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from markupsafe import Markup

from nightjar import plots
from nightjar.report_html import render, write_html

if TYPE_CHECKING:
    from nightjar.lab.demo import DemoResult

DETECTOR_NAMES = {"dga": "DGA domains", "url": "Phishing URLs", "lotl": "Living off the land", "beacon": "C2 beacons"}


def summary_rows(result: DemoResult) -> list[dict[str, Any]]:
    """One row per detector: planted, found, alerts, true/false positives (the console table and the report share it)."""
    rows = []
    for kind, r in sorted(result.results.items()):
        det = result.scan.get("detectors", {}).get(kind, {})
        rows.append({"detector": kind, "title": DETECTOR_NAMES.get(kind, kind), "ran": r.ran, "model": det.get("model", ""),
                     "threshold": det.get("threshold"), "records": det.get("records", 0), "planted": r.planted, "found": r.found,
                     "missed": len(r.missed), "alerts": r.alerts, "tp": r.true_positives, "other": r.other_attack,
                     "fp": r.false_positives, "fp_entities": r.fp_entities})
    return rows


def write_report(result: DemoResult, alerts: list[dict[str, Any]], profile_body: Markup) -> None:
    """Write `result.json` and `result.html`."""
    from nightjar.lab.demo import alert_hours

    data = {"config": result.truth.config, "cached": result.cached, "seconds": result.seconds, "summary": summary_rows(result),
            "results": {k: r.as_dict() for k, r in result.results.items()},
            "scan": {k: result.scan.get(k) for k in ("read", "scored", "rejected", "alerts", "skipped", "incomplete", "notes")}}
    if result.ops is not None:
        data["operations"] = ops_data(result.ops)
    result.json.parent.mkdir(parents=True, exist_ok=True)
    result.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str) + b"\n")
    attacks = []
    for a in result.truth.attacks:
        r = result.results.get(a.detector)
        found = bool(r and a.id in r.found_ids)
        attacks.append({"attack": a, "found": found, "ran": bool(r and r.ran), "score": r.best_scores.get(a.id) if r else None,
                        "what": _what(a.entity)})
    hours = alert_hours(alerts)
    plot = None
    if hours:
        plot = plots.line_plot({k: (sorted(v), [v[h] for h in sorted(v)]) for k, v in hours.items()},
                               title="Alerts per hour of the event (UTC)", y_label="alerts", markers=True, width=900,
                               x_format=lambda x: datetime.fromtimestamp(x * 3600, UTC).strftime("%a %H:00"))
    html = render("demo.html", title="Nightjar demo: the lab, scanned", result=result, rows=summary_rows(result), attacks=attacks,
                  plot=plot, profile_body=profile_body, inputs=result.scan.get("inputs", {}), ops=_ops_view(result.ops))
    write_html(result.html, html)


def ops_data(ops: Any) -> dict[str, Any]:
    """The operations act as JSON: candidate, training, shadow report and monitoring report."""
    return {"registry": str(ops.registry), "production": ops.production, "candidate": ops.candidate, "fraction": ops.fraction,
            "key": ops.key, "shadow_from": ops.since, "training": ops.training, "notes": ops.notes,
            "shadow": ops.shadow.to_dict() if ops.shadow is not None else None,
            "monitor": ops.monitor.to_dict() if ops.monitor is not None else None}


def _ops_view(ops: Any) -> dict[str, Any] | None:
    """What the template shows of the operations act (texts and plots)."""
    if ops is None:
        return None
    from nightjar.commands.shadow import report_text
    from nightjar.ops.monitor_render import score_plot

    plots_by_model = {}
    if ops.monitor is not None:
        plots_by_model = {m.model: p for m in ops.monitor.models if (p := score_plot(m)) is not None}
    return {"ops": ops, "shadow_lines": report_text(ops.shadow) if ops.shadow is not None else [], "plots": plots_by_model}


def _what(entity: dict[str, Any]) -> str:
    for key in ("process.command_line", "url", "registered"):
        if entity.get(key):
            value = entity[key]
            return ", ".join(value) if isinstance(value, list) else str(value)
    if "destination.domain" in entity:
        return f"{entity['source.ip']} -> {entity['destination.domain']} ({entity['destination.ip']}:{entity['destination.port']}), " \
               f"every {entity['interval']:.0f} s ± {entity['jitter']:.0%}"
    return ""
