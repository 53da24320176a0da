"""The beacon evaluation as one self-contained HTML page: recall-versus-jitter curve, score histograms, tables."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from nightjar.plots import histogram, line_plot
from nightjar.report_html import _env

TEMPLATE = """{% extends "base.html" %}
{% block body %}
<p class="meta">Split: {{ f.split }}. Threshold {{ "%.5f"|format(f.threshold) }}, chosen on validation only
(lowest with at most 1 false alert per 10,000 background pairs), then fixed for the test.
rita_missing_host is not an independent test (its top pairs were read while designing the scores).</p>
<h2>Synthetic beacons: recall versus jitter</h2>
<div class="plots">{{ curve }}{{ hist }}</div>
<table><tr><th>setting</th><th>validation recall</th><th>test recall</th></tr>
{% for k, v in f.synthetic_test.recall.items() %}
<tr><td>{{ k }}</td><td class="num">{{ "%.2f"|format(f.synthetic_validation.recall[k]) }}</td><td class="num">{{ "%.2f"|format(v) }}</td></tr>
{% endfor %}
<tr><td>false alerts per 10k background pairs</td><td class="num">{{ f.synthetic_validation.false_alerts_per_10k }}
({{ f.synthetic_validation.background_pairs|count }} pairs)</td><td class="num">{{ f.synthetic_test.false_alerts_per_10k }}
({{ f.synthetic_test.background_pairs|count }} pairs)</td></tr></table>
<p>Test recall by path: {% for k, v in f.synthetic_test.recall_by_kind.items() %}{{ k }} {{ "%.2f"|format(v) }}{{ ", " if not loop.last }}{% endfor %};
by period (s): {% for k, v in f.synthetic_test.recall_by_period.items() %}{{ k }} {{ "%.2f"|format(v) }}{{ ", " if not loop.last }}{% endfor %}.</p>
<h2>rita_missing_host (72 h of real internet traffic)</h2>
<p>{{ f.rita_missing_host.pairs|count }} pairs; the documented beacon 73.54.23.243 &rarr; 64.225.56.201:80 ranks
<b>#{{ f.rita_missing_host.beacon_rank }}</b> (score {{ f.rita_missing_host.beacon_score }}); {{ f.rita_missing_host.alerts }} pairs alert;
{{ f.rita_missing_host.long_connections }} long connections.</p>
<table><tr><th>source</th><th>destination</th><th>port</th><th>score</th></tr>
{% for r in f.rita_missing_host.alerting %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td><td class="num">{{ r[3] }}</td></tr>{% endfor %}
</table>
<h2>slips_test_cc_synthetic</h2>
<table><tr><th>capture</th><th>pairs</th><th>alerts</th><th>top pair</th><th>score</th><th>reasons</th></tr>
{% for k, v in f.slips_test_cc.items() %}<tr><td>{{ k }}</td><td class="num">{{ v.pairs }}</td><td class="num">{{ v.alerts }}</td>
<td>{{ v.top }}</td><td class="num">{{ v.top_score }}</td><td>{{ v.top_reasons }}</td></tr>{% endfor %}
</table>
<h2>otrf_lsass_campaign_zeek (Meterpreter, not periodic)</h2>
<table><tr><th>run</th><th>pairs</th><th>alerts</th><th>max score</th><th>max DNS score</th></tr>
{% for k, v in f.otrf_lsass.items() %}<tr><td>{{ k }}</td><td class="num">{{ v.pairs }}</td><td class="num">{{ v.alerts }}</td>
<td class="num">{{ v.max_score }}</td><td class="num">{{ v.max_dns_score }}</td></tr>{% endfor %}
</table>
{% endblock %}
"""


def _jitter_curve(recall: dict[str, float]) -> tuple[list[float], list[float]]:
    pts = sorted((float(k.split()[1]), v) for k, v in recall.items() if k.startswith("jitter"))
    return [x for x, _ in pts], [y for _, y in pts]


def plots(figures: dict[str, Any]) -> dict[str, Markup]:
    """The report's SVG figures by file stem: the recall-versus-jitter curve and the test score histograms."""
    curve = line_plot({"validation": _jitter_curve(figures["synthetic_validation"]["recall"]),
                       "test": _jitter_curve(figures["synthetic_test"]["recall"])},
                      title="Recall at the shipped threshold versus jitter", x_label="jitter (% of the period)",
                      y_label="recall", y_range=(0.0, 1.0), markers=True, legend="lower right")
    h = figures.get("histograms", {})
    hist = histogram({"background pairs": h.get("test_background", []), "injected beacons": h.get("test_beacons", [])},
                     bins=40, density=True, title="Test split: score distributions", x_label="score")
    return {"beacon_recall_jitter": Markup(curve), "beacon_scores": Markup(hist)}


def report_html(figures: dict[str, Any]) -> str:
    """The evaluation page for `figures` as written by evaluation.main (with a `histograms` entry)."""
    from datetime import UTC, datetime

    from nightjar import __version__

    svg = plots(figures)
    return _env().from_string(TEMPLATE).render(
        title="Nightjar beacon detector: evaluation", f=figures, curve=svg["beacon_recall_jitter"], hist=svg["beacon_scores"],
        version=__version__, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
