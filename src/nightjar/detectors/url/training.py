"""The shipped model's recipe (fixed seeds, so figures reproduce) and writing it with its manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.url import data as D
from nightjar.detectors.url.brands import BrandIndex, build_brands
from nightjar.detectors.url.detector import UrlDetector

SEED = 0
SYNTHETIC = {"train": 40000, "validation": 8000, "test": 8000}
OPENPHISH_TRAIN_CAP = 200000  # every pre-July URL (136,842); a seeded sample when more
N_TREES = 120
LEARNING_RATE = 0.15
TRAIN_SOURCES = ["openphish", "esdaung", "hannousse", "cao2019", "iscx_benign", "tranco_part", "majestic_20k", "alexa_100k"]


def corpus(data: Path, seed: int = SEED) -> pd.DataFrame:
    """Labelled URLs plus synthetic benign URLs, each with its role (train/validation/test/test_oot/test_older)."""
    labelled = D.load_labelled(data)
    domains = D.benign_domains(data)
    syn = D.synthetic_benign(domains, labelled, SYNTHETIC, seed)
    return pd.concat([labelled, syn], ignore_index=True)


def brands_for(train: pd.DataFrame, data: Path) -> BrandIndex:
    """The brand list from the top lists, kept to the names training phishing carries (training rows only)."""
    domains = D.benign_domains(data)
    ranked = domains.loc[domains["source"] == "tranco_part", "domain"].tolist()
    text = train["url"].str.lower().str.replace(r"^[a-z]+://", "", regex=True)
    pairs = list(zip(train["regdom"], text))
    lab = train["label"].to_numpy()
    return build_brands(ranked, domains["domain"].tolist(), [p for p, y in zip(pairs, lab) if y], [p for p, y in zip(pairs, lab) if not y])


def training_rows(df: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """The train role (OpenPhish capped by a seeded sample) and class-balancing weights (each class sums to the same)."""
    train = df[df["role"] == "train"]
    op = train[train["source"] == "openphish"]
    if len(op) > OPENPHISH_TRAIN_CAP:
        train = pd.concat([train[train["source"] != "openphish"], op.sample(n=OPENPHISH_TRAIN_CAP, random_state=seed)])
    train = train.reset_index(drop=True)
    y = train["label"].to_numpy()
    weight = np.where(y, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    return train, weight


def train_detector(data: Path, model_kind: str = "lgbm", seed: int = SEED, num_threads: int = 2,
                   df: pd.DataFrame | None = None) -> tuple[UrlDetector, pd.DataFrame]:
    """Fit on the train role, fix the threshold on the validation role's benign URLs (per source); returns (detector, corpus)."""
    df = corpus(data, seed) if df is None else df
    train, weight = training_rows(df, seed)
    brands = brands_for(train, data)
    det = UrlDetector(model_kind=model_kind, n_trees=N_TREES, learning_rate=LEARNING_RATE, seed=seed, num_threads=num_threads)
    det.fit(train[["url"]], train["label"].to_numpy(), brands=brands, groups=train["regdom"].to_numpy(), weight=weight)
    val = df[(df["role"] == "validation") & ~df["label"]]
    scores = det.score_values(val["url"].to_numpy(dtype=object), explain_rows=False)[0]
    names = sorted(val["source"].unique())
    by_source = {name: np.nan_to_num(scores[(val["source"] == name).to_numpy()], nan=0.0) for name in names}
    groups = {name: val.loc[val["source"] == name, "regdom"].to_numpy(dtype=object) for name in names}
    det.set_threshold(by_source, groups)
    det.num_threads = 1
    det.model_.params["num_threads"] = 1
    return det, df


def write_model(det: UrlDetector, out: Path, metrics: dict | None = None, name: str = "url", version: int = 1) -> Path:
    """Save `det` into `out` (emptied first) with a registry manifest: sources, licences, threshold, metrics."""
    from nightjar.registry.export import export_model

    return export_model(
        det, out, name=name, version=version, training_data=D.source_records(TRAIN_SOURCES),
        feature_schema={"input": "url, url.full, or url.domain + url.original (Zeek http)", "features": det.model_.feature_names,
                        "ngrams": "hashed byte 3-5-grams of host + path (no scheme, no www.)", "brands": len(det.model_.brands.brands)},
        metrics={"validation": det.validation_, "threshold_rule": "max over validation benign sources of the threshold at 1% FPR, each registered domain weighing the same within its source",
                 **(metrics or {})},
        params={"openphish_train_cap": OPENPHISH_TRAIN_CAP, "synthetic": SYNTHETIC},
    )
