"""`nightjar evaluate lotl`: leave-technique-out figures, confounder variants, external tests, model card.

Writes `lotl_evaluation.json` and `lotl_model_card.html` into the output folder. The confounders
(item 6 of the issue): the test account and High integrity of every Atomic attack, and the harness
parent (wsmprovhost.exe). Each is measured three ways: how well it alone separates the labels, how
much a model given it leans on it (share of mean |contribution|), and what re-admitting it does to
the alert share on the hold-out dual-use admin commands and on sysmon-modular's benign command lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from nightjar.detectors.lotl import benign as B
from nightjar.detectors.lotl import data as D
from nightjar.detectors.lotl.attack import Knowledge
from nightjar.detectors.lotl.detector import LotlDetector
from nightjar.detectors.lotl import training as T
from nightjar.detectors.lotl.evaluation import (
    CvResult,
    leave_lab_out,
    leave_technique_out,
    per_technique,
)
from nightjar.training.card import DataSource, ModelCard, ModelResult
from nightjar.training.metrics import evaluate

OTRF_SPLIT = ("OTRF, leave-lab-out (data.otrf_lab: host DNS domain, else capture year; 10 labs): each lab scored by the recipe "
              "fitted without it, threshold on the Atomic validation benign events plus the other labs' background scored out of lab (nested)")
SPLIT = ("Atomic-EVTX, 5-fold leave-technique-out (GroupKFold on ATT&CK technique); thresholds for FPR 1e-3 chosen on "
         "the benign events of 20 % of each training part's techniques (validation), pooled; per-event figures on the "
         "pooled out-of-fold test scores")
VARIANTS = {
    "chosen": ({}, True),
    "with user + integrity features": ({"context": True}, True),
    "harness parent kept (wsmprovhost.exe not blanked)": ({"neutral_parents": ()}, True),
    "no dual-use admin training rows": ({}, False),
}


def confounder_separation(atomic: pd.DataFrame) -> dict[str, float]:
    """ROC-AUC of each confounder alone against the Atomic labels (0.5 = no information)."""
    y = atomic["label"].to_numpy(bool)
    user = atomic["user.name"].astype("string").str.lower().fillna("")
    integ = atomic["winlog.event_data.IntegrityLevel"].astype("string").str.lower().fillna("")
    parent = atomic["process.parent.name"].astype("string").str.lower().fillna("")
    return {"user_is_test_account": float(roc_auc_score(y, user.str.endswith("admin_test").to_numpy(float))),
            "integrity_high": float(roc_auc_score(y, (integ == "high").to_numpy(float))),
            "parent_is_wsmprovhost": float(roc_auc_score(y, (parent == "wsmprovhost.exe").to_numpy(float)))}


def contribution_shares(det: LotlDetector, events: pd.DataFrame) -> dict[str, float]:
    """Share of the booster's mean |contribution| carried by the context and parent features."""
    f = det.featurise(events)
    x = det.model_.matrix(f.dense, f.tokens)
    c = np.abs(det.model_.contributions(x)).mean(axis=0)
    names = det.model_.feature_names
    total = c.sum() or 1.0
    pick = {"integrity": lambda n: n == "integrity", "system_user": lambda n: n == "system_user",
            "parent_missing": lambda n: n == "parent_missing",
            "parent tokens (parent=, gparent=, pair=)": lambda n: n.startswith(("tok:parent=", "tok:gparent=", "tok:pair=")),
            "wsmprovhost tokens": lambda n: "wsmprovhost" in n}
    return {k: float(sum(ci for ci, n in zip(c, names) if fn(n)) / total) for k, fn in pick.items()}


def otrf_figures(otrf: pd.DataFrame, alert: np.ndarray) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Share of OTRF attack datasets with an alert in the attack tree; alerts per 1,000 background events."""
    y = otrf["label"].to_numpy(bool)
    alert = np.asarray(alert, dtype=bool)
    per = pd.DataFrame({"dataset": otrf["dataset"].to_numpy(), "lab": D.otrf_lab(otrf), "y": y, "alert": alert})
    rows = []
    for (name, lab), g in per.groupby(["dataset", "lab"]):
        rows.append({"dataset": name, "lab": lab, "events": len(g), "attack_events": int(g["y"].sum()),
                     "attack_alerts": int((g["y"] & g["alert"]).sum()), "background_alerts": int((~g["y"] & g["alert"]).sum())})
    with_attack = [r for r in rows if r["attack_events"]]
    figures = {"datasets": len(rows), "datasets_with_labelled_attack": len(with_attack),
               "attack_datasets_alerted": float(np.mean([r["attack_alerts"] > 0 for r in with_attack])) if with_attack else None,
               "attack_datasets_alerted_count": int(sum(r["attack_alerts"] > 0 for r in with_attack)),
               "alerts_per_1000_background": 1000 * float(alert[~y].mean()), "background_events": int((~y).sum()),
               "background_alerts": int(alert[~y].sum()),
               "attack_event_recall": float(alert[y].mean()), "attack_events": int(y.sum())}
    return figures, rows


def evaluate_all(data: Path, out: Path, det: LotlDetector | None = None, num_threads: int = 2,
                 variants: bool = True, log: Callable[[str], None] = print, figures: Path | None = None) -> dict[str, Any]:
    """Run every evaluation; write the JSON report and the HTML card into `out`; return the summary."""
    from nightjar.detectors.lotl.training import synthetic_events, train_detector

    data, out = Path(data), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic, otrf = D.load_atomic(data, artefacts=T.RECIPE.artefacts), D.load_otrf(data)
    know = Knowledge.from_catalogues(data)
    benign_sets = {"admin_holdout": B.admin_events(B.ADMIN_HOLDOUT), "sysmon_modular": B.sysmon_modular_events(data)}
    summary: dict[str, Any] = {"split": SPLIT, "confounder_separation_auc": confounder_separation(atomic), "variants": {}}
    results: dict[str, CvResult] = {}
    for name, (params, with_admin) in VARIANTS.items():
        if name != "chosen" and not variants:
            continue
        log(f"leave-technique-out: {name}")
        admin = None if with_admin else B.admin_events([])
        results[name] = leave_technique_out(atomic, know, params, admin=admin, external=benign_sets, num_threads=num_threads, log=log,
                                            synthetic=synthetic_events(data, know), otrf=otrf if T.RECIPE.otrf else None)
        summary["variants"][name] = {k: results[name].summary(k) for k in ("lgbm", "lr")}
    res = results["chosen"]
    summary["lto"] = summary["variants"]["chosen"]
    summary["per_technique"] = per_technique(res)
    if det is None:
        log("training the shipped recipe")
        det = train_detector(data, num_threads=num_threads)
    ctx = LotlDetector(context=True, num_threads=num_threads)
    ctx.fit(*_train_args(atomic), knowledge=know)
    summary["contribution_share_with_context"] = contribution_shares(ctx, atomic)
    summary["contribution_share_chosen"] = contribution_shares(det, atomic)
    summary["shipped"] = {"threshold": det.threshold_, "validation": det.validation_}
    for name, ev in benign_sets.items():
        s = det.score(ev, rarity=False)
        summary["shipped"][f"{name}_alert_share"] = float(s["alert"].mean())
        summary["shipped"][f"{name}_alerts"] = s.loc[s["alert"], ["process.command_line", "score"]].to_dict("records")
    if T.RECIPE.otrf:
        log("leave-lab-out on OTRF")
        labs = leave_lab_out(atomic, otrf, know, num_threads=num_threads, log=log, synthetic=synthetic_events(data, know))
        summary["otrf_split"] = OTRF_SPLIT
        summary["otrf_thresholds"] = {lab: float(labs.threshold[labs.lab == lab][0]) for lab in sorted(set(labs.lab))}
        summary["otrf"], otrf_rows = otrf_figures(otrf, labs.alerts())
        summary["otrf_with_rarity"], _ = otrf_figures(otrf, labs.alerts(rarity=True))
    else:  # the captures are a pure external test of the given model
        summary["otrf_split"] = "external test: never trained on"
        summary["otrf"], otrf_rows = otrf_figures(otrf, det.score(otrf, rarity=False)["alert"].to_numpy(bool))
        summary["otrf_with_rarity"], _ = otrf_figures(otrf, det.score(otrf, rarity=True)["alert"].to_numpy(bool))
    summary["otrf_labelling"] = D.label_otrf.__doc__
    (out / "lotl_evaluation.json").write_text(json.dumps({**summary, "otrf_per_dataset": otrf_rows}, indent=1, default=float))
    _card(res, summary, otrf_rows, det).write_html(out / "lotl_model_card.html")
    write_figures(res, summary, figures or out)
    return summary


def _train_args(atomic: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    from nightjar.detectors.lotl.training import training_frame

    events, y, groups, weights = training_frame(atomic, B.admin_events(B.ADMIN_TRAIN))
    return events, y, groups


def _card(res: CvResult, summary: dict[str, Any], otrf_rows: list[dict[str, Any]], det: LotlDetector) -> ModelCard:
    models = []
    for kind, desc in (("lgbm", "LightGBM on numeric features + vocabulary tokens"), ("lr", "logistic regression, same features (baseline)")):
        m = evaluate(res.y, res.scores[kind], validation=(res.val_y, res.val_scores[kind]), groups=res.technique, split=SPLIT)
        models.append(ModelResult(kind, desc, m, res.y, res.scores[kind], groups=res.technique, chosen=kind == "lgbm", baseline=kind == "lr"))
    sources = [DataSource(r["name"], r["licence"], r.get("rows") or 0, "train", r["path"]) for r in D.source_records(["atomic_evtx", "lolbas", "elastic_problemchild"])]
    sources += [DataSource("otrf_security_datasets", "MIT", summary["otrf"]["background_events"] + summary["otrf"]["attack_events"],
                           "train" if T.RECIPE.otrf else "test", D.OTRF, f"attack labels by tree walk from launchers; {summary['otrf_split']}"),
                DataSource("sysmon_modular", "MIT", 0, "test", D.SOURCES["sysmon_modular"][2], "benign command lines (exact rules)"),
                DataSource("admin_dual_use", "project-written", len(B.ADMIN_TRAIN) + len(B.ADMIN_HOLDOUT), "test",
                           "nightjar.detectors.lotl.benign", "training half + hold-out half (only the hold-out is a test)")]
    variant_rows = [{"variant": n, "model": k, **{m: round(v[k][m], 4) for m in ("roc_auc", "tpr", "fpr", "tests_alerted",
                                                                               "admin_holdout_alert_share", "sysmon_modular_alert_share")}}
                    for n, v in summary["variants"].items() for k in ("lgbm", "lr")]
    notes = [f"Shipped model: threshold {det.threshold_:.4f} chosen on {det.validation_}.",
             f"OTRF ({summary['otrf_split']}): {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in summary['otrf'].items()})}",
             f"Confounders alone (ROC-AUC): {json.dumps({k: round(v, 3) for k, v in summary['confounder_separation_auc'].items()})}",
             f"Share of |contribution| when user/integrity are allowed: {json.dumps({k: round(v, 3) for k, v in summary['contribution_share_with_context'].items()})}"]
    return ModelCard("LotL detector: leave-technique-out evaluation", "lotl", SPLIT, sources, models, 1e-3, notes=notes,
                     extra_tables={"confounder variants": variant_rows, "per technique (LightGBM)": summary["per_technique"][:60],
                                   "OTRF per dataset": otrf_rows})


# --- hooks of `nightjar train lotl` / `nightjar evaluate lotl` (commands/train.py) ------------------
def _print_figures(summary: dict[str, Any], log: Callable[[str], None]) -> None:
    for kind in ("lgbm", "lr"):
        m = summary["lto"][kind]
        log(f"{kind}: leave-technique-out ROC-AUC {m['roc_auc']:.4f}, PR-AUC {m['pr_auc']:.4f}, TPR {m['tpr']:.3f} at realised FPR "
            f"{m['fpr']:.4f} (target 1e-3, threshold from validation), Atomic tests alerted {m['tests_alerted']:.3f}, "
            f"admin hold-out alerting {m['admin_holdout_alert_share']:.3f}")
    o = summary["otrf"]
    log(f"OTRF ({summary['otrf_split'].split(' (')[0]}): attack datasets alerted {o['attack_datasets_alerted']:.3f} "
        f"({o['attack_datasets_alerted_count']} of {o['datasets_with_labelled_attack']}), {o['alerts_per_1000_background']:.2f} alerts per "
        f"1,000 background events ({o['background_alerts']} of {o['background_events']:,})")


def train_command(data: Path, out: Path, threads: int, log: Callable[[str], None]) -> Path:
    """Train the shipped recipe, evaluate it and write `out/model` with its manifest; returns that folder."""
    from nightjar.detectors.lotl.training import train_detector, write_model

    log(f"training lotl on {data}")
    det = train_detector(data, num_threads=threads)
    summary = evaluate_all(data, out, det=det, num_threads=threads, log=log)
    keep = {k: summary[k] for k in ("split", "lto", "otrf_split", "otrf", "otrf_with_rarity", "confounder_separation_auc")}
    keep["admin_holdout_alert_share"] = summary["shipped"]["admin_holdout_alert_share"]
    keep["sysmon_modular_alert_share"] = summary["shipped"]["sysmon_modular_alert_share"]
    manifest = write_model(det, out / "model", metrics=json.loads(json.dumps(keep, default=float)))
    _print_figures(summary, log)
    log(f"model: {manifest.parent}; report: {out / 'lotl_evaluation.json'}, card: {out / 'lotl_model_card.html'}")
    return manifest.parent


def evaluate_command(model: str | None, data: Path, out: Path, threads: int, log: Callable[[str], None]) -> None:
    """Evaluate the recipe (leave-technique-out refits) and the given model on the external tests."""
    from nightjar.scoring import load_scoring_detector

    det, ref = load_scoring_detector("lotl", model)
    log(f"evaluating {ref} on {data}")
    summary = evaluate_all(data, out, det=det, num_threads=threads, log=log)  # type: ignore[arg-type]
    _print_figures(summary, log)
    log(f"report: {out / 'lotl_evaluation.json'}, card: {out / 'lotl_model_card.html'}")


# --- figures for docs/lotl.md ---------------------------------------------------------------------
def write_figures(res: CvResult, summary: dict[str, Any], folder: Path) -> list[Path]:
    """SVG figures: ROC on a log-FPR axis (both models, leave-technique-out) and the confounder variants."""
    from nightjar.plots import bar_chart
    from nightjar.training.card_plots import curve_plot
    from nightjar.training.curves import roc_points

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    curves, points = {}, {}
    for kind, label in (("lgbm", "LightGBM"), ("lr", "LR baseline")):
        roc = roc_points(res.y, res.scores[kind])
        curves[label] = (roc["fpr"], roc["tpr"])
        m = summary["lto"][kind]
        points[label] = (max(m["fpr"], 1e-4), m["tpr"], f"TPR {m['tpr']:.2f} @ FPR {m['fpr']:.4f}")
    roc_svg = curve_plot(curves, title="Leave-technique-out ROC (Atomic-EVTX, pooled out-of-fold)", x_label="FPR per benign event (log)",
                         y_label="TPR per attack event", log_x=True, x_range=(1e-4, 1.0), points=points, vline=(1e-3, "1e-3"),
                         legend="bottom right")
    paths = [folder / "lotl_roc.svg", folder / "lotl_confounders.svg", folder / "lotl_admin.svg"]
    paths[0].write_text(str(roc_svg))
    names = list(summary["variants"])
    paths[1].write_text(str(bar_chart([f"{n} (LGBM)" for n in names], [summary["variants"][n]["lgbm"]["tpr"] for n in names],
                                      title="TPR at the validation threshold (FPR 1e-3), by variant", value_format="{:.3f}", width=640)))
    paths[2].write_text(str(bar_chart([f"{n} ({k})" for n in names for k in ("LGBM", "LR")],
                                      [summary["variants"][n][k]["admin_holdout_alert_share"]
                                       for n in names for k in ("lgbm", "lr")],
                                      title="Share of hold-out dual-use admin commands that alert", value_format="{:.3f}", width=640)))
    return paths
