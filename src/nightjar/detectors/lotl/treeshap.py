"""LightGBM's TreeSHAP contributions, computed once per tree and branch pattern, with a proven error bound.

Explaining a row costs LightGBM a TreeSHAP walk of every tree (~0.5 ms for 300 trees). Within one
tree, though, TreeSHAP depends on a row only through its pattern: which way the row goes at each of
the tree's splits, and a 15-leaf tree meets a few dozen patterns where a batch holds thousands of
rows. `PatternShap` asks LightGBM once per new (tree, pattern): it rewrites the booster so that
every tree reads its own copy of its split features (disjoint columns), and a single
`pred_contrib` call on synthetic rows (row k carries, for every tree, the k-th new pattern of that
tree) gives each tree's contributions separately. A row's contributions are the sum of its trees'.

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
import scipy.sparse as sp

ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold: smaller absolute values are read as 0 at a split
UNIT = 2.0**-53


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


class PatternShap:
    """`contributions(x)`: LightGBM's `pred_contrib` (without the bias column) to within `eps` per feature.

    Example:
        >>> shap = PatternShap.from_booster(booster, n_features)  # doctest: +SKIP
        >>> approx = shap.contributions(x_dense)  # |approx - exact| <= shap.eps  # doctest: +SKIP
    """

    def __init__(self, n_features: int, head: str, trees: list[dict[str, str]], memo_limit: int = 100_000) -> None:
        self.n_features = n_features
        self.memo_limit = memo_limit
        feats = [[int(v) for v in t["split_feature"].split()] for t in trees]
        self.node_feature = np.array([f for fs in feats for f in fs], dtype=np.int64)  # every split node, tree by tree
        self.node_threshold = np.array([float(v) for t in trees for v in t["threshold"].split()])
        self.node_tree = np.repeat(np.arange(len(trees)), [len(fs) for fs in feats])
        self.node_bit = np.concatenate([np.arange(len(fs)) for fs in feats]).astype(np.int64) if feats else np.zeros(0, np.int64)
        self.split_features, self.node_column = np.unique(self.node_feature, return_inverse=True)
        self.starts = np.cumsum([0, *(len(fs) for fs in feats)])[:-1]
        self.columns = [np.array(sorted(set(fs)), dtype=np.int64) for fs in feats]  # per tree: its split features
        self.offsets = np.cumsum([0, *(len(c) for c in self.columns)])
        width = int(self.offsets[-1])
        self.wide_feature = np.concatenate(self.columns) if width else np.zeros(0, np.int64)  # per wide column
        self.wide_column = np.searchsorted(self.split_features, self.wide_feature)  # in the compact input
        self.wide_tree = np.repeat(np.arange(len(trees)), [len(c) for c in self.columns])
        terms_bound = np.zeros(n_features)
        n_terms = 0
        blocks = []
        for t, (fields, fs) in enumerate(zip(trees, feats)):
            leaves = [float(v) for v in fields["leaf_value"].split()]
            n_terms += len(leaves)
            terms_bound[self.columns[t]] += sum(abs(v) for v in leaves)  # one term per leaf at most, |term| <= |leaf|
            slot = {f: self.offsets[t] + k for k, f in enumerate(self.columns[t])}
            fields = {**fields, "split_feature": " ".join(str(slot[f]) for f in fs)}
            blocks.append("\n".join(f"{k}={v}" for k, v in fields.items()))
        gamma = n_terms * UNIT / (1 - n_terms * UNIT)
        self.eps = 2 * gamma * 2 * terms_bound  # both sums within gamma * sum|terms| of the real sum; |w| <= 1 with room
        lines = [ln for ln in head.splitlines() if not ln.startswith(("max_feature_idx=", "feature_names=", "feature_infos=", "tree_sizes="))]
        lines += [f"max_feature_idx={max(width - 1, 0)}", "feature_names=" + " ".join(f"w{i}" for i in range(max(width, 1))),
                  "feature_infos=" + " ".join(["none"] * max(width, 1))]
        text = "\n".join(lines) + "\n\n" + "".join(f"Tree={t}\n{b}\n\n" for t, b in enumerate(blocks)) + "end of trees\n"
        self.wide = lgb.Booster(model_str=text) if blocks else None
        self.width = width
        self._index: dict[int, int] = {}  # tree << 32 | pattern -> its row in its tree's `_values`
        self._values: list[list[np.ndarray]] = [[] for _ in trees]  # per tree, per pattern: contributions to its columns
        self._tables: list[np.ndarray | None] = [None] * len(trees)

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
        values = compact.T.copy()  # split features x rows
        values[~(np.abs(values) > ZERO)] = 0.0  # NaN and |v| <= 1e-35 count as 0
        left = (values[self.node_column] <= self.node_threshold[:, None]).astype(np.int32) << self.node_bit[:, None].astype(np.int32)
        return np.add.reduceat(left, self.starts, axis=0).T.astype(np.int64)

    def contributions(self, x: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Contributions per row of `x` (rows x features, dense or sparse), to within `eps`; no bias column."""
        n = x.shape[0]
        if not n or self.wide is None:
            return np.zeros((n, self.n_features))
        x = x[:, self.split_features]
        x = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
        if len(self._index) > self.memo_limit:
            self._index, self._values, self._tables = {}, [[] for _ in self.columns], [None] * len(self.columns)
        keys = self.patterns(x) | (np.arange(len(self.columns), dtype=np.int64) << 32)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        at = np.array([self._index.get(k, -1) for k in unique.tolist()], dtype=np.int64)
        new = at < 0
        if new.any():
            at[new] = self._ask(x, unique[new], first[new] // len(self.columns))
        local = at[inverse.reshape(keys.shape)]
        out = np.zeros((self.n_features, n))  # transposed: a tree adds to whole rows
        for t, cols in enumerate(self.columns):
            out[cols] += self._table(t)[local[:, t]].T
        return out.T

    def _table(self, t: int) -> np.ndarray:
        table = self._tables[t]
        if table is None or len(table) != len(self._values[t]):
            table = self._tables[t] = np.array(self._values[t])
        return table

    def _ask(self, x: np.ndarray, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """LightGBM's per-tree contributions for new (tree, pattern) `keys` (sorted), `rows` realising them, in one call.

        Returns where each key's values are kept.
        """
        tree = keys >> 32
        rank = np.arange(len(keys)) - np.searchsorted(tree, tree)  # k-th new pattern of its tree
        pick = np.empty((int(rank.max()) + 1, len(self.columns)), dtype=np.int64)
        pick[:] = rows[0]  # trees with fewer new patterns read any row there (computed, not kept)
        pick[rank, tree] = rows
        wide = x[pick[:, self.wide_tree], self.wide_column]
        result = np.asarray(self.wide.predict(wide, pred_contrib=True, num_threads=1))
        at = np.empty(len(keys), dtype=np.int64)
        for i, (key, t, k) in enumerate(zip(keys.tolist(), tree.tolist(), rank.tolist())):
            values = self._values[t]
            at[i] = self._index[key] = len(values)
            values.append(result[k, self.offsets[t]:self.offsets[t + 1]])
        return at
