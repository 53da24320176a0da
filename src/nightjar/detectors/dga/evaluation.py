"""The DGA evaluation: leave-one-family-out, unseen benign sources, FPR operating points, adversarial names.

Split (stated in every report): benign training = Majestic + Alexa + Tranco part (minus rows flagged
as phishing hosts or DGA), *vetted*: kept when the domain ranks in the top 20,000 of its list (the
Majestic file's own depth, applied to all three) or appears in at least two of the three lists; the
long tail of one list alone is dropped (it holds abusive and DGA-like names: label noise). 20 % of
the vetted benign labels (by a hash of the label) are the validation split where the threshold is
chosen at FPR 1e-3 and then applied unchanged (`vet_rank=None` gives the unvetted split). Unseen benign = OpenDNS
top and random, the Umbrella FQDN head and the anudeep whitelist (never trained on). For each DGA
family: train on every other family, test on that family's names (deduplicated). The LR baseline and
LightGBM come from the same fit, so they are compared on identical splits.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.detectors.dga import corpus
from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.detector import threshold_at_fpr
from nightjar.detectors.dga.model import DgaModel
from nightjar.detectors.dga.names import split_names
from nightjar.detectors.dga.synthetic import synthetic_names
from nightjar.detectors.dga.training import PER_FAMILY, SEED, VET_RANK

FPRS = (1e-2, 1e-3, 1e-4)
TARGET_FPR = 1e-3
TEST_PER_FAMILY = 2000
KINDS = ("lgbm", "lr", "blend")
UNSEEN = ("opendns_top", "opendns_random", "umbrella_fqdn_head", "anudeep_whitelist")


@dataclass
class Corpus:
    """Every name, split once: scored label per name, with family / source and role."""

    dga: pd.DataFrame  # domain, family, label
    benign: pd.DataFrame  # domain, source, role, label, val


def prepare(data: Path, per_family: int = PER_FAMILY, seed: int = SEED, vet_rank: int | None = VET_RANK) -> Corpus:
    """Load and split the sources; DGA capped per family for training, test names kept aside.

    With `vet_rank`, benign training names outside the top `vet_rank` of their list and in one list
    only are dropped (role `benign_unvetted`): neither trained on nor used for the threshold.
    """
    dga = corpus.load_dga(data, per_family=per_family + TEST_PER_FAMILY, seed=seed)
    benign = corpus.load_benign(data)
    benign = mark_unvetted(benign, vet_rank)
    for df in (dga, benign):
        s = split_names(df["domain"].to_numpy(dtype=object))
        df["label"] = s.label
        df.drop(df.index[(s.reason != None) | (s.label == "")], inplace=True)  # noqa: E711
    dga = dga.drop_duplicates(["family", "label"]).reset_index(drop=True)
    dga["test"] = dga.groupby("family").cumcount() >= per_family  # the sample is shuffled: tail = test pool
    small = dga.groupby("family")["label"].transform("size") <= per_family
    dga.loc[small, "test"] = False  # small families: every name is both (only used when held out)
    train_b = benign["role"] == "benign_train"
    benign = benign[~(train_b & benign["label"].isin(set(dga["label"])))].reset_index(drop=True)
    hashes = np.fromiter((zlib.crc32(s.encode()) % 1000 for s in benign["label"]), dtype=np.int64, count=len(benign))
    benign["val"] = (benign["role"] == "benign_train") & (hashes < 200)
    return Corpus(dga, benign)


def mark_unvetted(benign: pd.DataFrame, vet_rank: int | None) -> pd.DataFrame:
    """A copy where benign training rows ranked below `vet_rank` in their list and present in one training
    list only get role `benign_unvetted` (None: unchanged). Needs `domain`, `source`, `role`, `rank`."""
    out = benign.copy()
    if vet_rank is None:
        return out
    train = out["role"] == "benign_train"
    lists = out["domain"].map(out.loc[train].groupby("domain")["source"].nunique()).fillna(0)
    out.loc[train & (out["rank"] > vet_rank) & (lists < 2), "role"] = "benign_unvetted"
    return out


def fit_fold(c: Corpus, exclude: str | None, seed: int = SEED, num_threads: int = 2, params: dict | None = None) -> DgaModel:
    """A model trained without family `exclude` (None = every family)."""
    btrain = c.benign[(c.benign["role"] == "benign_train") & ~c.benign["val"]].drop_duplicates("label")["label"].to_numpy(dtype=object)
    dga = c.dga[(c.dga["family"] != exclude) & ~c.dga["test"]].drop_duplicates("label")
    params = {"num_threads": num_threads, "family_balanced": True, "synthetic": True, **(params or {})}
    if params.get("synthetic"):  # generic random-string positives (synthetic.py), the same in every fold
        # never a benign training label, nor any DGA name (a held-out family's test names included)
        taken = set(c.benign.loc[c.benign["role"] == "benign_train", "label"]) | set(c.dga["label"])
        syn, fam = synthetic_names(taken, seed=seed)
        dga = pd.concat([dga, pd.DataFrame({"label": syn, "family": fam})], ignore_index=True)
    d = dga["label"].to_numpy(dtype=object)
    labels = np.concatenate([btrain, d])
    y = np.r_[np.zeros(len(btrain), bool), np.ones(len(d), bool)]
    weight = None
    if params.get("family_balanced"):
        per = dga["family"].map(1.0 / dga["family"].value_counts()).to_numpy(dtype=np.float64)
        weight = np.r_[np.ones(len(btrain)), per]
    return DgaModel(params=params).fit(labels, y, btrain, seed=seed, sample_weight=weight)


def both_scores(model: DgaModel, labels: np.ndarray) -> dict[str, np.ndarray]:
    """{"lgbm": ..., "lr": ..., "blend": ...} probabilities for `labels` (blend = mean of the two logits)."""
    feats = model.features(F.encode(labels))
    x = np.column_stack([feats[n] for n in model.feature_names])
    raw = model.booster.predict(x, raw_score=True, num_threads=model.params.get("num_threads", 1))
    lr = feats["lr_logit"]
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    return {"lgbm": sig(raw), "lr": sig(lr), "blend": sig((raw + lr) / 2.0)}


@dataclass
class FoldResult:
    """One held-out family: recall at each validation threshold, for both models."""

    family: str
    n_test: int
    recall: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> fpr -> recall
    unseen_fpr: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> source -> fpr at 1e-3
    auc: dict[str, float] = field(default_factory=dict)


def run_fold(c: Corpus, family: str, seed: int = SEED, num_threads: int = 2, params: dict | None = None) -> tuple[FoldResult, dict[str, np.ndarray]]:
    """Leave `family` out: fit, threshold on benign validation, score the family and unseen benign."""
    from sklearn.metrics import roc_auc_score

    model = fit_fold(c, family, seed, num_threads, params)
    val = both_scores(model, c.benign.loc[c.benign["val"], "label"].to_numpy(dtype=object))
    fam = c.dga[c.dga["family"] == family]
    fam = fam[fam["test"]] if fam["test"].any() else fam
    fam = fam.head(TEST_PER_FAMILY)
    pos = both_scores(model, fam["label"].to_numpy(dtype=object))
    res = FoldResult(family, len(fam))
    unseen = {src: both_scores(model, c.benign.loc[c.benign["source"] == src, "label"].to_numpy(dtype=object)) for src in UNSEEN}
    for kind in KINDS:
        thr = {f"{f:g}": threshold_at_fpr(val[kind], f) for f in FPRS}
        res.recall[kind] = {k: float((pos[kind] >= t).mean()) for k, t in thr.items()}
        res.auc[kind] = float(roc_auc_score(np.r_[np.zeros(len(val[kind])), np.ones(len(pos[kind]))], np.r_[val[kind], pos[kind]]))
        res.unseen_fpr[kind] = {src: float((unseen[src][kind] >= thr[f"{TARGET_FPR:g}"]).mean()) for src in UNSEEN}
    return res, {f"{w}_{k}": d[k] for w, d in (("val", val), ("pos", pos)) for k in KINDS}
