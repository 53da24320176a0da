"""The benign vetting rule of the DGA evaluation split (pure, on a small table)."""

from __future__ import annotations

import pandas as pd

from nightjar.detectors.dga.evaluation import mark_unvetted

ROWS = [  # domain, source, role, rank
    ("google.com", "majestic_20k", "benign_train", 1),  # top of its list: kept
    ("rarebrand.com", "tranco_part", "benign_train", 50_000),  # long tail of one list: dropped
    ("twolists.net", "alexa_100k", "benign_train", 60_000),  # long tail, but in two lists: kept
    ("twolists.net", "tranco_part", "benign_train", 70_000),
    ("edge.org", "tranco_part", "benign_train", 20_000),  # exactly at the bar: kept
    ("dkitrxmdwoqruvsi.net", "tranco_part", "benign_train", 90_000),  # DGA-looking tail name: dropped
    ("obscure.com", "opendns_random", "benign_test", None),  # test sources are never touched
]


def _table() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["domain", "source", "role", "rank"])


def test_long_tail_of_one_list_is_unvetted() -> None:
    out = mark_unvetted(_table(), 20_000)
    dropped = out.loc[out["role"] == "benign_unvetted", "domain"].tolist()
    assert dropped == ["rarebrand.com", "dkitrxmdwoqruvsi.net"]
    assert out.loc[out["source"] == "opendns_random", "role"].tolist() == ["benign_test"]


def test_none_keeps_every_row_and_input_is_not_mutated() -> None:
    table = _table()
    assert mark_unvetted(table, None).equals(table)
    mark_unvetted(table, 10)
    assert table.equals(_table())


def test_a_stricter_bar_drops_more() -> None:
    loose = (mark_unvetted(_table(), 60_000)["role"] == "benign_unvetted").sum()
    strict = (mark_unvetted(_table(), 1_000)["role"] == "benign_unvetted").sum()
    assert (loose, strict) == (1, 3)  # loose keeps rarebrand.com; strict drops edge.org too; twolists.net stays
