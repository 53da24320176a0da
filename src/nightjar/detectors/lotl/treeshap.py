"""LightGBM's TreeSHAP contributions, computed once per tree and branch pattern, with a proven error bound.

Explaining a row costs LightGBM a TreeSHAP walk of every tree (~0.5 ms for 300 trees). Within one
tree, though, TreeSHAP depends on a row only through its pattern: which way the row goes at each of
the tree's splits, and a 15-leaf tree meets a few dozen patterns where a batch holds thousands of
rows. `PatternShap` asks LightGBM once per new (tree, pattern): it rewrites the booster so that
every tree reads its own copy of its split features (disjoint columns), cut into small boosters of
`group` consecutive trees each, and one `pred_contrib` call per small booster on synthetic rows (row
k carries, for every tree of the group, the k-th new pattern of that tree) gives each tree's
contributions separately. Small boosters keep LightGBM's work near one walk per new (tree, pattern):
a call costs as many rows as the group's tree with the most new patterns, and a row as many columns
as the group reads. A row's contributions are the sum of its trees'.

That sum adds the same TreeSHAP terms as LightGBM's own `pred_contrib`, in another order, so the two
differ by rounding only: by at most `eps` per feature (`2 * gamma(n) * sum |terms|`, with n the number
of terms and |term| <= |leaf value|), about 1e-9 here. Callers that rank contributions use `eps` to
tell whether the ranking is certain and ask LightGBM for the exact values when it is not.

Only plain boosters qualify (one tree per iteration, numeric `<=` splits without missing-value
handling, no linear trees); `PatternShap.from_booster` returns None otherwise.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import scipy.sparse as sp

ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold: smaller absolute values are read as 0 at a split
UNIT = 2.0**-53
BLOCK = 128  # rows whose patterns are read at once (their bits stay in cache)
_HEAD_KEYS = ("max_feature_idx=", "feature_names=", "feature_infos=", "tree_sizes=")


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def _model_text(head: str, blocks: list[str], width: int) -> str:
    """A LightGBM model text of `blocks` (trees) reading `width` anonymous features."""
    lines = [ln for ln in head.splitlines() if not ln.startswith(_HEAD_KEYS)]
    lines += [f"max_feature_idx={max(width - 1, 0)}", "feature_names=" + " ".join(f"w{i}" for i in range(max(width, 1))),
              "feature_infos=" + " ".join(["none"] * max(width, 1))]
    return "\n".join(lines) + "\n\n" + "".join(f"Tree={t}\n{b}\n\n" for t, b in enumerate(blocks)) + "end of trees\n"


class PatternShap:
    """`contributions(x)`: LightGBM's `pred_contrib` (without the bias column) to within `eps` per feature.

    Example:
        >>> shap = PatternShap.from_booster(booster, n_features)  # doctest: +SKIP
        >>> approx = shap.contributions(x_dense)  # |approx - exact| <= shap.eps  # doctest: +SKIP
    """

    def __init__(self, n_features: int, head: str, trees: list[dict[str, str]], memo_limit: int = 100_000, group: int = 4) -> None:
        self.n_features = n_features
        self.memo_limit = memo_limit
        feats = [[int(v) for v in t["split_feature"].split()] for t in trees]
        self.node_feature = np.array([f for fs in feats for f in fs], dtype=np.int64)  # every split node, tree by tree
        self.node_threshold = np.array([float(v) for t in trees for v in t["threshold"].split()])
        node_tree = np.repeat(np.arange(len(trees)), [len(fs) for fs in feats])
        node_bit = np.concatenate([np.arange(len(fs)) for fs in feats]).astype(np.int64) if feats else np.zeros(0, np.int64)
        self.bits = next(b for b in (8, 16, 32) if b >= max(map(len, feats), default=0))  # a pattern's width: bit k = split k
        self.node_slot = node_tree * self.bits + node_bit
        tests, self.node_test = np.unique(np.column_stack([self.node_feature, self.node_threshold]), axis=0, return_inverse=True)
        self.node_test = self.node_test.ravel()  # the node's (feature, threshold): nodes share a few hundred
        self.test_threshold = tests[:, 1]
        self.split_features = np.unique(self.node_feature)
        self.columns = [np.array(sorted(set(fs)), dtype=np.int64) for fs in feats]  # per tree: its split features
        self.offsets = np.cumsum([0, *(len(c) for c in self.columns)])
        width = int(self.offsets[-1])
        self.wide_feature = np.concatenate(self.columns) if width else np.zeros(0, np.int64)  # per wide column
        self.wide_column = np.searchsorted(self.split_features, self.wide_feature)  # in the compact input
        self.test_column = np.searchsorted(self.split_features, tests[:, 0].astype(np.int64))
        self.wide_tree = np.repeat(np.arange(len(trees)), [len(c) for c in self.columns])
        self.tree_columns = [np.searchsorted(self.split_features, c) for c in self.columns]  # in the compact input
        terms_bound = np.zeros(n_features)
        n_terms = 0
        blocks = []
        for t, (fields, fs) in enumerate(zip(trees, feats)):
            leaves = [float(v) for v in fields["leaf_value"].split()]
            n_terms += len(leaves)
            terms_bound[self.columns[t]] += sum(abs(v) for v in leaves)  # one term per leaf at most, |term| <= |leaf|
            first = self.offsets[t - t % group]  # the tree's group reads its columns from 0
            slot = {f: self.offsets[t] - first + k for k, f in enumerate(self.columns[t])}
            fields = {**fields, "split_feature": " ".join(str(slot[f]) for f in fs)}
            blocks.append("\n".join(f"{k}={v}" for k, v in fields.items()))
        gamma = n_terms * UNIT / (1 - n_terms * UNIT)
        self.eps = 2 * gamma * 2 * terms_bound  # both sums within gamma * sum|terms| of the real sum; |w| <= 1 with room
        self.groups = [(a, min(a + group, len(trees))) for a in range(0, len(trees), group)] if width else []
        self.boosters = [lgb.Booster(model_str=_model_text(head, blocks[a:b], int(self.offsets[b] - self.offsets[a])))
                         for a, b in self.groups]
        self.width = width
        self._forget()

    def _forget(self) -> None:
        """Empty the memo: known (tree << 32 | pattern) keys, sorted, where their values start in `_values`."""
        self._keys = np.zeros(0, np.int64)
        self._starts = np.zeros(0, np.int64)
        self._values = np.zeros(0)  # per known key, its tree's contributions to its columns, one after another

    @classmethod
    def from_booster(cls, booster: lgb.Booster, n_features: int) -> PatternShap | None:
        head, _, body = booster.model_to_string().partition("\nTree=")
        meta = _fields(head)
        if meta.get("num_tree_per_iteration", "1") != "1" or int(meta["max_feature_idx"]) + 1 != n_features:
            return None
        trees = []
        for block in body.partition("\nend of trees")[0].split("\nTree="):
            fields = _fields(block)
            if int(fields.get("num_cat", "0")) or int(fields.get("is_linear", "0")) or int(fields["num_leaves"]) < 2:
                return None
            decisions = fields["decision_type"].split()
            if len(decisions) > 31 or any(int(d) not in (0, 2) for d in decisions):  # numeric, missing type None
                return None
            trees.append(fields)
        return cls(n_features, head, trees)

    def patterns(self, compact: np.ndarray) -> np.ndarray:
        """Per row and tree, the row's branch pattern (bit k: left at the tree's split k), as LightGBM decides.

        `compact`: the rows' values of `split_features` only.
        """
        values = np.where(np.abs(compact) > ZERO, compact, 0.0)  # NaN and |v| <= 1e-35 count as 0
        passed = values[:, self.test_column] <= self.test_threshold
        out = np.empty((len(values), len(self.columns)), dtype=np.int64)
        for a in range(0, len(values), BLOCK):  # a block of rows at a time: the bits stay in cache
            left = np.zeros((len(passed[a:a + BLOCK]), len(self.columns) * self.bits), dtype=bool)
            left[:, self.node_slot] = passed[a:a + BLOCK, self.node_test]
            packed = np.packbits(left, axis=1, bitorder="little")  # each tree's bits, little-endian
            out[a:a + BLOCK] = packed.view(f"<u{self.bits // 8}")
        return out

    def contributions(self, x: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Contributions per row of `x` (rows x features, dense or sparse), to within `eps`; no bias column."""
        n = x.shape[0]
        if not n or not self.width:
            return np.zeros((n, self.n_features))
        x = x[:, self.split_features]
        x = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
        if len(self._keys) > self.memo_limit:
            self._forget()
        keys = (self.patterns(x) | (np.arange(len(self.columns), dtype=np.int64) << 32)).ravel()
        codes, unique = pd.factorize(keys)  # a hash table: no sort of rows x trees keys
        realised = np.empty(len(unique), dtype=np.int64)
        realised[codes] = np.arange(len(keys)) // len(self.columns)  # a row with that key (any: they are alike)
        starts = self._known(unique)
        new = np.flatnonzero(starts < 0)
        if len(new):
            new = new[np.argsort(unique[new])]
            starts[new] = self._ask(x, unique[new], realised[new])
        starts = starts[codes].reshape(n, len(self.columns)).T.copy()  # trees x rows
        sums = np.zeros((len(self.split_features), n))  # transposed: a tree adds to whole rows
        for t, columns in enumerate(self.tree_columns):
            sums[columns] += self._values[starts[t] + np.arange(len(columns))[:, None]]
        out = np.zeros((n, self.n_features))
        out[:, self.split_features] = sums.T
        return out

    def _known(self, keys: np.ndarray) -> np.ndarray:
        """Where each key's values start, -1 for keys not yet asked."""
        at = np.minimum(np.searchsorted(self._keys, keys), max(len(self._keys) - 1, 0))
        if not len(self._keys):
            return np.full(len(keys), -1, dtype=np.int64)
        return np.where(self._keys[at] == keys, self._starts[at], -1)

    def _ask(self, x: np.ndarray, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """LightGBM's per-tree contributions for new (tree, pattern) `keys` (sorted), `rows` realising them, one call per group.

        Returns where each key's values start.
        """
        tree = keys >> 32
        rank = np.arange(len(keys)) - np.searchsorted(tree, tree)  # k-th new pattern of its tree
        sizes = np.diff(self.offsets)[tree]
        parts = []
        for (a, b), booster in zip(self.groups, self.boosters):
            lo, hi = np.searchsorted(tree, [a, b])
            if lo < hi:
                parts.append(self._ask_group(booster, a, b, x, tree[lo:hi], rank[lo:hi], rows[lo:hi], sizes[lo:hi]))
        starts = len(self._values) + np.cumsum(sizes) - sizes
        self._values = np.concatenate([self._values, *parts])
        order = np.argsort(np.concatenate([self._keys, keys]), kind="stable")
        self._keys = np.concatenate([self._keys, keys])[order]
        self._starts = np.concatenate([self._starts, starts])[order]
        return starts

    def _ask_group(self, booster: lgb.Booster, a: int, b: int, x: np.ndarray, tree: np.ndarray, rank: np.ndarray,
                   rows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """The values of the keys of trees a..b-1 (`tree`, `rank`, `rows` realising them), one after another."""
        pick = np.full((int(rank.max()) + 1, b - a), rows[0])  # trees with fewer new patterns read any row there (not kept)
        pick[rank, tree - a] = rows
        cols = slice(self.offsets[a], self.offsets[b])
        wide = x[pick[:, self.wide_tree[cols] - a], self.wide_column[cols]]
        result = np.asarray(booster.predict(wide, pred_contrib=True, num_threads=1))
        within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # k-th value of its key
        return result[np.repeat(rank, sizes), np.repeat(self.offsets[tree] - self.offsets[a], sizes) + within]
