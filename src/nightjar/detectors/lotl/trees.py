"""Process trees: scored events grouped by their parent chain, one row per tree that holds an alert.

Events link to their parent by `process.parent.entity_id` (the Sysmon ProcessGuid), else by host and
parent pid. Links into system hubs that parent unrelated work (services.exe, svchost.exe,
explorer.exe, wmiprvse.exe, ...) are cut, so one incident is one tree and not a whole host. The
analyst sees the chain from the tree's root to its highest-scoring alert, how many events and alerts
it holds, the techniques, and the ids of its events.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

HUBS = {"services.exe", "svchost.exe", "explorer.exe", "wmiprvse.exe", "wininit.exe", "winlogon.exe", "userinit.exe",
        "smss.exe", "csrss.exe", "system", "taskeng.exe", "taskhostw.exe", "wsmprovhost.exe", "dllhost.exe"}
TREE_COLUMNS = ["tree.id", "host.name", "tree.root", "tree.chain", "@timestamp.first", "@timestamp.last", "events", "alerts",
                "score", "threat.technique.id", "reasons", "process.entity_ids", "alert.entity_ids"]


def _s(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[col].astype("string").fillna("").to_numpy(dtype=object)


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def tree_roots(scored: pd.DataFrame) -> np.ndarray:
    """For each event, the row index of its tree's root within `scored`."""
    n = len(scored)
    host = np.char.lower(_s(scored, "host.name").astype(str))
    ids, pids = _s(scored, "process.entity_id"), _s(scored, "process.pid")
    pids = np.array([p.removesuffix(".0") for p in pids], dtype=object)
    parent_ids, ppids = _s(scored, "process.parent.entity_id"), _s(scored, "process.parent.pid")
    ppids = np.array([p.removesuffix(".0") for p in ppids], dtype=object)
    names = np.char.lower(_s(scored, "process.name").astype(str))
    by_id = {v: i for i, v in enumerate(ids) if v}
    by_pid = {(h, p): i for i, (h, p) in enumerate(zip(host, pids)) if p}
    link = np.arange(n)
    for i in range(n):
        j = by_id.get(parent_ids[i]) if parent_ids[i] else None
        if j is None and ppids[i] and not parent_ids[i]:
            j = by_pid.get((host[i], ppids[i]))
        if j is not None and j != i and names[j] not in HUBS:
            link[i] = j
    return np.array([_find(link, i) for i in range(n)], dtype=np.int64)


def _chain(i: int, scored: pd.DataFrame, parent_row: dict[int, int]) -> str:
    """Names from the tree's root (with the root's parent name) down to row `i`."""
    names: list[str] = []
    seen: set[int] = set()
    last = i
    while i is not None and i not in seen:
        seen.add(i)
        last = i
        names.append(str(scored["process.name"].iat[i]))
        i = parent_row.get(i)  # type: ignore[assignment]
    root_parent = scored["process.parent.name"].iat[last] if "process.parent.name" in scored.columns else None
    chain = list(reversed(names))
    if isinstance(root_parent, str) and root_parent:
        chain.insert(0, root_parent)
    return " > ".join(chain)


def build_trees(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per tree with at least one alert, highest score first (columns: TREE_COLUMNS)."""
    if scored.empty or "alert" not in scored.columns:
        return pd.DataFrame(columns=TREE_COLUMNS)
    scored = scored.reset_index(drop=True)
    roots = tree_roots(scored)
    ids = _s(scored, "process.entity_id")
    by_id = {v: i for i, v in enumerate(ids) if v}
    parent_row = {i: by_id[p] for i, p in enumerate(_s(scored, "process.parent.entity_id")) if p in by_id and by_id[p] != i}
    parent_row = {i: j for i, j in parent_row.items() if roots[j] == roots[i]}
    alert = scored["alert"].fillna(False).to_numpy(bool)
    score = scored["score"].to_numpy(float)
    rows = []
    for root in np.unique(roots[alert]):
        members = np.flatnonzero(roots == root)
        hits = members[alert[members]]
        top = hits[np.nanargmax(score[hits])]
        techs = sorted({t for v in scored["threat.technique.id"].iloc[hits].dropna() for t in str(v).split(",") if t}) \
            if "threat.technique.id" in scored.columns else []
        times = pd.to_datetime(scored["@timestamp"].iloc[members], errors="coerce", utc=True) if "@timestamp" in scored.columns else pd.Series(dtype="datetime64[ns, UTC]")
        rows.append({
            "tree.id": ids[root] or f"row-{root}", "host.name": scored["host.name"].iat[root] if "host.name" in scored.columns else None,
            "tree.root": f"{scored['process.name'].iat[root]}: {str(scored['process.command_line'].iat[root])[:300]}",
            "tree.chain": _chain(int(top), scored, parent_row), "@timestamp.first": times.min(), "@timestamp.last": times.max(),
            "events": int(len(members)), "alerts": int(len(hits)), "score": float(score[top]),
            "threat.technique.id": ",".join(techs) or None, "reasons": scored["reasons"].iat[top],
            "process.entity_ids": json.dumps([ids[m] for m in members]), "alert.entity_ids": json.dumps([ids[m] for m in hits]),
        })
    out = pd.DataFrame(rows, columns=TREE_COLUMNS)
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
