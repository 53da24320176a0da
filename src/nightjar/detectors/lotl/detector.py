"""LotlDetector: the Detector contract around features.py, model.py, rarity.py and reasons.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nightjar.detectors.base import ALERT, REASONS, SCORE, Detector
from nightjar.detectors.lotl import features as F
from nightjar.detectors.lotl.attack import Knowledge
from nightjar.detectors.lotl.model import LotlModel
from nightjar.detectors.lotl.prepared import STREAM_KEYS, ParentMemory, Prepared, combine, encode
from nightjar.detectors.lotl.rarity import RarityState
from nightjar.detectors.lotl.reasons import LOW, evidence_phrases, model_phrases
from nightjar.errors import ConfigError, InputError, Location

DETECTOR_FILE = "detector.json"
TECHNIQUE = "threat.technique.id"
CMD_KEY = ("name", "cmd", "exe", "ofn")  # what the command-line features depend on
OUTPUT_COLUMNS = ("@timestamp", "host.name", "process.entity_id", "process.pid", "process.name",
                  "process.command_line", "process.parent.name")


@dataclass
class Featurised:
    """Prepared events and their distinct rows (`codes` maps each event to its row), with features per row on demand.

    Scoring needs the features only of rows it has not judged before, so `dense_of`, `tokens_of` and
    `evidence_of` compute them for the rows asked for; `dense`, `tokens` and `evidence` for every row.
    """

    prep: Prepared
    codes: np.ndarray
    first: np.ndarray  # index of one event per distinct row
    rows: pd.DataFrame  # the distinct rows' prepared strings
    keys: np.ndarray  # the distinct rows' keys
    usable: np.ndarray  # per event
    names: list[str]
    command_of: np.ndarray  # per row: its distinct (name, command line, executable, original name)
    command: Callable[[int], tuple[tuple[float, ...], dict[str, Any], tuple[str, ...]]]  # features, evidence, tokens of one
    context: bool = False
    parent_tokens: bool = True

    def dense_of(self, rows: np.ndarray) -> np.ndarray:
        """Numeric features of the given rows."""
        per = np.asarray([self.command(k)[0] for k in self.command_of[rows]], dtype=np.float64).reshape(len(rows), len(F.NUMERIC))
        sub = self.rows.iloc[rows]
        parts = {**F.relation_features(sub), **(F.context_features(sub) if self.context else {})}
        return np.column_stack([per, *parts.values()]) if len(rows) else np.zeros((0, len(self.names)))

    def tokens_of(self, rows: np.ndarray) -> list[list[str]]:
        """Tokens of the given rows."""
        return F.event_tokens(self.rows.iloc[rows], [self.command(k)[2] for k in self.command_of[rows]], self.parent_tokens)

    def evidence_of(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """What the knowledge matched, per given row."""
        return [self.command(k)[1] for k in self.command_of[rows]]

    @cached_property
    def dense(self) -> np.ndarray:
        return self.dense_of(np.arange(len(self.first)))

    @cached_property
    def tokens(self) -> list[list[str]]:
        return self.tokens_of(np.arange(len(self.first)))

    @cached_property
    def evidence(self) -> list[dict[str, Any]]:
        return self.evidence_of(np.arange(len(self.first)))


_MADE_WITH = "made with"  # the memo entry naming what a model memo was filled with


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


class LotlDetector(Detector):
    """Scores Windows process-creation events by how much they look like living-off-the-land abuse.

    Example:
        >>> det = LotlDetector.load(model_dir)  # doctest: +SKIP
        >>> det.score(events)[["process.name", "score", "alert", "reasons"]]  # doctest: +SKIP
    """

    kind: ClassVar[str] = "lotl"
    model_class: ClassVar[Any] = LotlModel  # files: the model, knowledge, rarity, detector.json
    reads: ClassVar[tuple[str, ...]] = ("process",)
    output_columns: ClassVar[tuple[str, ...]] = OUTPUT_COLUMNS
    summary_views: ClassVar[tuple[str, ...]] = ("trees",)

    def __init__(self, model_kind: str = "lgbm", n_trees: int = 300, num_leaves: int = 15, min_groups: int = 3,
                 max_vocab: int = 3000, neutral_parents: tuple[str, ...] = ("wsmprovhost.exe",), context: bool = False,
                 parent_tokens: bool = True, target_fpr: float = 1e-3, rarity_weight: float = 1.5, rarity_min_history: int = 100,
                 explain_above: float = 0.5, seed: int = 0, num_threads: int = 1) -> None:
        self.model_kind = model_kind
        self.n_trees = n_trees
        self.num_leaves = num_leaves
        self.min_groups = min_groups
        self.max_vocab = max_vocab
        self.neutral_parents = tuple(neutral_parents)
        self.context = context
        self.parent_tokens = parent_tokens
        self.target_fpr = target_fpr
        self.rarity_weight = rarity_weight
        self.rarity_min_history = rarity_min_history
        self.explain_above = explain_above
        self.seed = seed
        self.num_threads = num_threads

    # --- features ----------------------------------------------------------------------------------
    def featurise(self, events: pd.DataFrame, knowledge: Knowledge | None = None) -> Featurised:
        """The distinct rows of `events` (same name, command line, paths, parents: same row), features on demand.

        Telemetry repeats itself, so features, model scores and reasons are computed once per distinct
        row, and the command-line features once per distinct command (memoised across batches).
        """
        know = knowledge or self.knowledge_
        prep = encode(events, self.neutral_parents, earlier=getattr(self, "lineage_", None))
        c, v = prep.codes, prep.values
        row_cols = [*CMD_KEY, "parent", "grandparent", "parent_exe", *(("integrity", "user") if self.context else ())]
        codes, first = combine(*(c[k] for k in row_cols))
        at = {k: c[k][first] for k in row_cols}
        rows = pd.DataFrame({k: v[k][at[k]] for k in row_cols}, dtype=object)
        command_of, cfirst = combine(*(at[k] for k in CMD_KEY))
        commands = list(zip(*(rows[k].to_numpy()[cfirst] for k in CMD_KEY)))
        cache = self._model_cache("_command_cache") if knowledge is None else {}

        def command(k: int) -> tuple[tuple[float, ...], dict[str, Any], tuple[str, ...]]:
            name, cmd, exe, ofn = commands[k]
            key = f"{name}\0{cmd}\0{exe}\0{ofn}"
            hit = cache.get(key)
            if hit is None:
                values, evidence = F.command_features(name, cmd, exe, ofn, know)
                hit = cache[key] = (tuple(values), evidence, tuple(F.tokens(cmd)))  # tuples: fewer objects for the GC to track
            return hit

        usable = ((v["cmd"] != "")[c["cmd"]] | (v["exe"] != "")[c["exe"]])
        keys = np.array(["\0".join(r) for r in zip(*(rows[k].to_numpy() for k in row_cols))], dtype=object)
        empty = rows.iloc[:0]
        names = [*F.NUMERIC, *F.relation_features(empty), *(F.context_features(empty) if self.context else {})]
        return Featurised(prep, codes, first, rows, keys, usable, names, command_of, command, self.context, self.parent_tokens)

    def _cache(self, name: str, limit: int = 50_000) -> dict:
        """A per-detector memo of distinct rows (telemetry repeats across batches), emptied past `limit`."""
        cache: dict = self.__dict__.setdefault(name, {})
        if len(cache) > limit:
            cache.clear()
        return cache

    def _model_cache(self, name: str, limit: int = 50_000) -> dict:
        """`_cache`, emptied too when the model, knowledge or feature settings differ from those that filled it."""
        cache = self._cache(name, limit)
        made_with = cache.get(_MADE_WITH)
        settings = (self.neutral_parents, self.context, self.parent_tokens)
        model, knowledge = getattr(self, "model_", None), getattr(self, "knowledge_", None)
        if made_with is None or made_with[0] is not model or made_with[1] is not knowledge or made_with[2] != settings:
            cache.clear()
            cache[_MADE_WITH] = (model, knowledge, settings)
        return cache

    # --- fit ---------------------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame, labels: pd.Series | np.ndarray, groups: np.ndarray | None = None,
            knowledge: Knowledge | None = None, validation: tuple[pd.DataFrame, np.ndarray] | None = None,
            weights: np.ndarray | None = None) -> Self:
        """Fit on events with boolean labels; `groups` (e.g. Atomic test) gate the vocabulary.

        The threshold is set for `target_fpr` on the benign events of `validation` when given, else on
        the training benign events (optimistic: say so).
        """
        if self.model_kind not in ("lgbm", "lr"):
            raise ConfigError(f"The 'model_kind' parameter of LotlDetector must be 'lgbm' or 'lr'. Got {self.model_kind!r}.")
        self.__dict__.pop("_command_cache", None)
        self.__dict__.pop("_reason_cache", None)
        self.__dict__.pop("_probability_cache", None)
        self.__dict__.pop("_contribution_cache", None)
        self.__dict__.pop("lineage_", None)  # a refit learns no grandparents from an earlier stream
        if knowledge is not None:
            self.knowledge_ = knowledge
        elif not hasattr(self, "knowledge_"):
            self.knowledge_ = Knowledge()
        y = np.asarray(labels, dtype=bool)
        feats = self.featurise(events)
        groups = np.arange(len(y)) if groups is None else np.asarray(groups, dtype=object)
        params = {"n_trees": self.n_trees, "num_leaves": self.num_leaves, "min_groups": self.min_groups,
                  "max_vocab": self.max_vocab, "num_threads": self.num_threads}
        if len(set(groups.tolist())) == len(groups):
            params["min_groups"] = 1
        if weights is not None:
            params["weights"] = np.asarray(weights, dtype=np.float64)
        dense, tokens = feats.dense[feats.codes], [feats.tokens[c] for c in feats.codes]
        self.model_ = LotlModel(kind=self.model_kind, params=params).fit(dense, feats.names, tokens, y, groups, self.seed)
        self.rarity_, self.lineage_ = RarityState(min_history=self.rarity_min_history), ParentMemory()
        if validation is not None:
            v_events, v_y = validation
            return self.calibrate({"validation": self.model_scores(v_events)[~np.asarray(v_y, dtype=bool)]})
        return self.calibrate({"training (optimistic)": self.model_scores(events)[~y]})

    def calibrate(self, benign: dict[str, np.ndarray]) -> Self:
        """Set the threshold for `target_fpr` on the pooled benign scores of the named sources; record them."""
        from nightjar.training.metrics import threshold_at_fpr

        pooled = np.concatenate(list(benign.values())) if benign else np.zeros(0)
        self.threshold_ = threshold_at_fpr(np.zeros(len(pooled), bool), pooled, self.target_fpr)
        self.validation_ = {"benign_events": int(len(pooled)), "source": " + ".join(f"{n} ({len(v):,})" for n, v in benign.items()),
                            "fpr": float((pooled >= self.threshold_).mean()) if len(pooled) else float("nan")}
        return self

    # --- score -------------------------------------------------------------------------------------
    def model_scores(self, events: pd.DataFrame, kind: str | None = None) -> np.ndarray:
        """The model's probability per event, without rarity, thresholds or reasons."""
        self.check_fitted()
        f = self.featurise(events)
        if not len(f.codes):
            return np.zeros(0)
        return self.model_.predict(self.model_.matrix(f.dense, f.tokens), kind)[f.codes]

    def score(self, events: pd.DataFrame, rarity: bool = True) -> pd.DataFrame:
        """A copy of `events` with the contract columns, `score`, `alert`, `reasons` and `threat.technique.id`.

        Rarity is judged against the saved state plus these events; the state itself only changes
        through `observe`.
        """
        self.check_fitted()
        f = self.featurise(events)
        n = len(events)
        prob = self._row_probabilities(f)[f.codes] if n else np.zeros(0)
        rare, rare_words = (self.rarity_.rarity(f.prep) if rarity and self.rarity_weight > 0 and n
                            else (np.zeros(n), [""] * n))
        score = 1.0 / (1.0 + np.exp(-(_logit(prob) + self.rarity_weight * rare)))
        score = np.where(f.usable, score, np.nan)
        alert = np.nan_to_num(score, nan=-1.0) >= self.threshold_
        reasons = np.full(n, LOW, dtype=object)
        techniques = np.full(n, None, dtype=object)
        explain = np.flatnonzero(np.nan_to_num(score, nan=-1.0) >= min(self.explain_above, self.threshold_))
        rows = np.unique(f.codes[explain])
        memo = self._model_cache("_reason_cache")
        memo_key = f"{self.threshold_!r}"
        alerted = np.unique(f.codes[alert])  # the model's own contributions (costly) only for alerting rows
        alerted = np.array([r for r in alerted if (memo_key, f.keys[r]) not in memo], dtype=np.int64)
        x = self.model_.matrix(f.dense_of(alerted), f.tokens_of(alerted))
        names = self.model_.feature_names
        phrases = self._model_phrases(x, alerted, f, names)
        where = {int(r): k for k, r in enumerate(alerted)}
        words_of: dict[int, tuple[list[str], list[str]]] = {}
        evidence = f.evidence_of(rows)
        for r, ev, name, parent, gparent, exe in zip(rows, evidence, *(f.rows[k].to_numpy()[rows] for k in ("name", "parent", "grandparent", "exe"))):
            if (memo_key, f.keys[r]) in memo:
                words_of[int(r)] = memo[(memo_key, f.keys[r])]
                continue
            words, ids = evidence_phrases(name, parent, gparent, exe, ev)
            if int(r) in where:
                words += phrases[where[int(r)]]
                memo[(memo_key, f.keys[r])] = (tuple(words), tuple(ids))
            words_of[int(r)] = (words, ids)
        for i in explain:
            words, ids = words_of[int(f.codes[i])]
            if rare[i] > 0:
                words = [*words, rare_words[i]]
            reasons[i] = "; ".join(dict.fromkeys(words)) or "model score"
            if alert[i] and ids:
                techniques[i] = ",".join(ids)
        reasons[~f.usable] = "no command line or executable: not scored"
        out = events.copy(deep=False)  # copy-on-write: the new columns never reach `events`
        for col in OUTPUT_COLUMNS:
            if col not in out.columns:
                out[col] = None
        if out["process.pid"].dtype.kind == "f":
            out["process.pid"] = out["process.pid"].astype("Int64")
        out[SCORE], out[ALERT], out[REASONS], out[TECHNIQUE] = score, alert, reasons, techniques
        first = [*OUTPUT_COLUMNS, SCORE, ALERT, REASONS, TECHNIQUE]
        return out[first + [c for c in out.columns if c not in first]]

    def _row_probabilities(self, f: Featurised) -> np.ndarray:
        """The model's probability per distinct row, predicted once per row key and model kind (memo across batches)."""
        memo = self._model_cache("_probability_cache")
        keys = [(self.model_.kind, k) for k in f.keys]
        prob = np.array([memo.get(k, np.nan) for k in keys], dtype=np.float64)
        todo = np.flatnonzero(np.isnan(prob))
        if len(todo):
            prob[todo] = self.model_.predict(self.model_.matrix(f.dense_of(todo), f.tokens_of(todo)))
            memo.update(zip([keys[r] for r in todo], prob[todo].tolist()))
        return prob

    def _model_phrases(self, x: sp.csr_matrix, rows: np.ndarray, f: Featurised, names: list[str]) -> list[list[str]]:
        """The model's reasons for each row of `x` (the distinct rows `rows` of `f`): its largest contributions in words.

        Contributions come per tree and branch pattern (treeshap.py), within a proven bound of LightGBM's
        own; a row whose words that bound leaves in doubt gets LightGBM's exact contributions instead.
        """
        approx = self.model_.approximate_contributions(x) if len(rows) else None
        contrib, eps = approx if approx is not None else (None, None)
        out: list[list[str] | None] = [None] * len(rows)
        unsure: list[int] = []
        labels = list(zip(*(f.rows[c].to_numpy()[rows] for c in ("name", "parent"))))
        for k, (name, parent) in enumerate(labels):
            if contrib is not None:
                out[k] = model_phrases(contrib[k], _row_values(x, k), names, name, parent, eps=eps)
            if out[k] is None:
                unsure.append(k)
        if unsure:
            for k, row in zip(unsure, self._contributions(x[unsure])):
                out[k] = model_phrases(row, _row_values(x, k), names, *labels[k])
        self.__dict__["_exact_asked"] = self.__dict__.get("_exact_asked", 0) + len(unsure)  # rows LightGBM explained
        return out  # type: ignore[return-value]

    def _contributions(self, x: sp.csr_matrix) -> np.ndarray:
        """The model's contributions per row of `x`, computed once per branch key (see LotlModel.branch_keys).

        Kept across batches (sparse: features that took part) until the memo passes 4,096 keys.
        """
        memo = self._model_cache("_contribution_cache", limit=4096)
        keys = [(self.model_.kind, k) for k in self.model_.branch_keys(x)] if x.shape[0] else []
        todo = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in memo}.items())
        if todo:
            fresh = self.model_.contributions(x[[i for _, i in todo]])
            for (key, _), row in zip(todo, fresh):
                used = np.flatnonzero(row)
                memo[key] = (used, row[used])
        out = np.zeros((len(keys), x.shape[1]))
        for i, key in enumerate(keys):
            used, values = memo[key]
            out[i, used] = values
        return out

    def monitor_features(self, events: pd.DataFrame | None, scored: pd.DataFrame) -> dict[str, np.ndarray]:
        """Command-line length and character entropy per event (NaN without a command line), for drift monitoring."""
        frame = scored if events is None else events
        if "process.command_line" not in frame.columns:
            return {}
        codes, uniques = pd.factorize(frame["process.command_line"].astype("string").fillna(""), use_na_sentinel=False)
        length = np.array([len(c) if c else np.nan for c in uniques], dtype=float)
        entropy = np.array([F.entropy(c) if c else np.nan for c in uniques], dtype=float)
        return {"cmdline_length": length[codes], "cmdline_entropy": entropy[codes]}

    def summary_view(self, name: str, scored: pd.DataFrame) -> pd.DataFrame:
        """`trees`: one row per process tree holding an alert (see trees.py)."""
        if name != "trees":
            raise ConfigError(f"the lotl detector has no {name!r} view; known: trees")
        from nightjar.detectors.lotl.trees import build_trees

        return build_trees(scored)

    def observe(self, events: pd.DataFrame) -> None:
        """Learn the events into the rarity state (the stream learning of rarity.py), and remember each process's
        parent so that children in later batches get their grandparent (`lineage_`; saved with `save_state`)."""
        self.check_fitted()
        prep = encode(events, self.neutral_parents, STREAM_KEYS)
        self.rarity_.observe(prep)
        self.lineage_.add(prep)

    def load_state(self, path: Path) -> None:
        """Start from the state saved at `path` by `save_state`: per-host counts of earlier runs and the parent
        memory (empty when the file has none: written before it was saved)."""
        try:
            rarity, lineage = RarityState.load_with_lineage(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a lotl rarity state ({type(exc).__name__}: {exc})", Location(str(path))) from None
        self.rarity_, self.lineage_ = rarity, lineage

    def save_state(self, path: Path) -> Path:
        """Write the rarity state and the latest ids of the parent memory (what `observe` has learnt) to `path`,
        atomically, one JSON file (see `ParentMemory` for how many ids and the size)."""
        return self.rarity_.save(path, lineage=self.lineage_)

    # --- files -------------------------------------------------------------------------------------
    def save_extra(self, directory: Path) -> list[Path]:
        """The knowledge (LOLBAS, keywords) and the rarity state, beside the model and `detector.json`."""
        return [self.knowledge_.save(directory), self.rarity_.save(directory)]

    def load_extra(self, directory: Path) -> None:
        """Read what `save_extra` wrote."""
        self.knowledge_ = Knowledge.load(directory)
        self.rarity_, self.lineage_ = RarityState.load(directory), ParentMemory()


def _row_values(x: sp.csr_matrix, k: int) -> np.ndarray:
    """Row `k` of `x` as a dense vector."""
    values = np.zeros(x.shape[1])
    values[x.indices[x.indptr[k]:x.indptr[k + 1]]] = x.data[x.indptr[k]:x.indptr[k + 1]]
    return values
