"""Model cards: what was trained on what, how it was split, and how it did, as JSON and as HTML.

A card holds several models evaluated on the same split (the chosen one, a baseline, variants), the
data sources with their licences, and free-form tables (e.g. leave-one-family-out recall). The HTML
file is self-contained: inline CSS and inline SVG plots, no JavaScript, nothing fetched.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from nightjar import __version__
from nightjar.errors import ConfigError
from nightjar.plots import PALETTE, histogram
from nightjar.report_html import render
from nightjar.report_html import write_html as write_html_file
from nightjar.training.card_plots import curve_plot, grouped_bars
from nightjar.training.curves import MIN_FPR, pr_points, roc_points, score_histogram
from nightjar.training.metrics import Metrics, check_scores, json_ready

ROLES = ("train", "validation", "test")


@dataclass
class DataSource:
    """A dataset used for training or evaluation, with its licence."""

    name: str
    licence: str
    rows: int
    role: str  # "train", "validation" or "test"
    url_or_path: str
    notes: str = ""


@dataclass
class ModelResult:
    """One model's test metrics with the test labels and scores (summarised, never stored raw)."""

    name: str
    description: str
    metrics: Metrics
    y_true: Any
    scores: Any
    groups: Any = None
    chosen: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False


@dataclass
class ModelCard:
    """A report on one split: sources, models side by side (one chosen), notes and extra tables."""

    title: str
    detector: str
    split_description: str
    sources: list[DataSource]
    models: list[ModelResult]
    operating_fpr: float
    notes: list[str] = field(default_factory=list)
    extra_tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def chosen(self) -> ModelResult:
        """The model marked chosen (the first model when none is marked)."""
        self._check()
        return next((m for m in self.models if m.chosen), self.models[0])

    def baseline(self) -> ModelResult | None:
        """The model marked baseline, else the first model that is not chosen, else None."""
        chosen = self.chosen()
        others = [m for m in self.models if m is not chosen]
        return next((m for m in others if m.baseline), others[0] if others else None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but raw scores; curves are summarised to a few hundred points."""
        chosen, baseline = self.chosen(), self.baseline()
        models = []
        for m in self.models:
            y, s = check_scores(m.y_true, m.scores)
            models.append({
                "name": m.name, "description": m.description, "chosen": m is chosen, "baseline": m is baseline,
                "params": m.params, "metrics": m.metrics.as_dict(),
                "curves": {"roc": roc_points(y, s), "pr": pr_points(y, s), "score_histogram": score_histogram(y, s)},
            })
        result: dict[str, Any] = json_ready({
            "title": self.title, "detector": self.detector, "split": self.split_description,
            "operating_fpr": self.operating_fpr, "chosen": chosen.name,
            "baseline": baseline.name if baseline else None,
            "sources": [asdict(s) for s in self.sources], "models": models,
            "notes": list(self.notes), "extra_tables": self.extra_tables,
            "nightjar_version": __version__, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        return result

    def write_json(self, path: str | Path) -> Path:
        """Write `as_dict()` as indented JSON; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return path

    def render_html(self) -> str:
        """The card as one self-contained HTML page."""
        data = self.as_dict()
        colors = {m["name"]: PALETTE[i % len(PALETTE)] for i, m in enumerate(data["models"])}
        fprs = sorted({p["target_fpr"] for m in data["models"] for p in m["metrics"]["operating_points"]})
        return render("model_card.html", title=self.title, card=data, fprs=fprs, colors=colors,
                      columns={name: _columns(rows) for name, rows in data["extra_tables"].items()},
                      plots=self._plots(data, colors), fmt=_fmt)

    def write_html(self, path: str | Path) -> Path:
        """Write `render_html()` to `path` atomically; returns the path."""
        return write_html_file(path, self.render_html())

    def _check(self) -> None:
        if not self.models:
            raise ConfigError("a model card needs at least one model")
        if sum(m.chosen for m in self.models) > 1:
            raise ConfigError("only one model can be marked chosen; got "
                              + ", ".join(m.name for m in self.models if m.chosen))
        off = [m.name for m in self.models if not math.isclose(m.metrics.operating_fpr, self.operating_fpr)]
        if off:
            raise ConfigError(f"models {', '.join(off)} were evaluated with another operating_fpr than the card's "
                              f"{self.operating_fpr:g}; evaluate them with operating_fpr={self.operating_fpr:g}")
        bad = [s.name for s in self.sources if s.role not in ROLES]
        if bad:
            raise ConfigError(f"data source role must be one of {', '.join(ROLES)}; wrong for {', '.join(bad)}")

    def _plots(self, data: dict[str, Any], colors: dict[str, str]) -> dict[str, Any]:
        """The SVG plots, keyed by section."""
        roc, pr, roc_points_, pr_points_ = {}, {}, {}, {}
        shade = None
        for m in data["models"]:
            op = next(p for p in m["metrics"]["operating_points"] if math.isclose(p["target_fpr"], self.operating_fpr))
            label = f"threshold {_fmt(op['threshold'])}, TPR {_fmt(op['tpr'])} at test FPR {_fmt(op['fpr'])}"
            if m["curves"]["roc"]:
                roc[m["name"]] = (m["curves"]["roc"]["fpr"], m["curves"]["roc"]["tpr"])
                shade = max(shade or 0.0, m["curves"]["roc"]["measurable_from"])
                if op["fpr"] is not None and op["tpr"] is not None:
                    roc_points_[m["name"]] = (max(op["fpr"], MIN_FPR), op["tpr"], label)
            if m["curves"]["pr"]:
                pr[m["name"]] = (m["curves"]["pr"]["recall"], m["curves"]["pr"]["precision"])
                if op["tpr"] is not None and op["precision"] is not None:
                    pr_points_[m["name"]] = (op["tpr"], op["precision"], label)
        target = f"target FPR {self.operating_fpr:g}"
        plots: dict[str, Any] = {
            "roc": curve_plot(roc, title="ROC (log FPR)", x_label="false-positive rate (test)", y_label="TPR",
                              log_x=True, x_range=(MIN_FPR, 1.0), points=roc_points_, colors=colors,
                              vline=(self.operating_fpr, target), shade_below=shade, diagonal=True,
                              legend="bottom right") if roc else None,
            "pr": curve_plot(pr, title="Precision-recall", x_label="recall (test)", y_label="precision",
                             points=pr_points_, colors=colors, legend="bottom left") if pr else None,
        }
        shown = [m for m in (self.chosen(), self.baseline()) if m is not None]
        plots["histograms"] = [self._histogram(m) for m in shown]
        plots["groups"] = self._group_bars(shown, colors)
        return plots

    def _histogram(self, model: ModelResult) -> Markup:
        y, s = check_scores(model.y_true, model.scores)
        title = f"{model.name}: test scores (threshold {_fmt(model.metrics.threshold)})"
        classes = {"benign": s[~y].tolist(), "malicious": s[y].tolist()}
        return histogram({k: v for k, v in classes.items() if v}, bins=40, density=True, title=title, x_label="score")

    def _group_bars(self, shown: list[ModelResult], colors: dict[str, str]) -> Markup | None:
        names = sorted({g for m in shown for g in m.metrics.group_recall})
        if not names:
            return None
        first = shown[0].metrics.group_recall
        names.sort(key=lambda g: (first.get(g, math.inf), g))
        series = {m.name: [m.metrics.group_recall.get(g) for g in names] for m in shown}
        counts = {g: max(m.metrics.group_counts.get(g, 0) for m in shown) for g in names}
        labels = [f"{g} (n={counts[g]:,})" for g in names]
        return grouped_bars(labels, series, title=f"Recall per group at FPR {self.operating_fpr:g}",
                            colors={m.name: colors[m.name] for m in shown})


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """The union of keys over the rows, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _fmt(value: Any, digits: int = 4) -> str:
    """Numbers for people: 4 significant digits, integers with separators, None as an en dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)
