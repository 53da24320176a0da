"""features.py and names.py: pure, deterministic, vectorised."""

from __future__ import annotations

import numpy as np
import pytest

from nightjar.detectors.dga import features as F
from nightjar.detectors.dga.names import split_names


def test_char_stats_known_values() -> None:
    stats = F.char_stats(F.encode(["aaaa", "ab12", "deadbeef99"]))
    assert stats["length"].tolist() == [4, 4, 10]
    assert stats["entropy"][0] == pytest.approx(0.0)
    assert stats["entropy"][1] == pytest.approx(2.0)
    assert stats["digit_share"][1] == pytest.approx(0.5)
    assert stats["max_vowel_run"][0] == 4
    assert stats["all_hex"].tolist() == [0, 0, 1]


def test_features_are_pure_and_deterministic() -> None:
    labels = np.array(["google", "xjw8qkz3", "heavenshake", "a"], dtype=object)
    before = labels.copy()
    a = F.char_stats(F.encode(labels))
    b = F.char_stats(F.encode(labels))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (labels == before).all()


def test_word_segmentation_counts_words() -> None:
    keys = F.word_keys(["heaven", "shake", "score", "admire", "luck"])
    w = F.word_stats(F.encode(["heavenshake", "scoreadmireluck", "qxzvbn"]), keys)
    assert w["words"].tolist() == [2, 3, 0]
    assert w["word_cover"].tolist() == [1.0, 1.0, 0.0]


def test_ngram_ids_include_boundaries() -> None:
    row, ids = F.ngram_ids(F.encode(["ab"]), 2)
    assert len(ids) == 3  # ^a, ab, b$
    assert row.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "raw, name, registered, label, reason",
    [
        ("Google.COM.", "google.com", "google.com", "google", None),
        ("x.duckdns.org", "x.duckdns.org", "x.duckdns.org", "x", None),
        ("a.b.co.uk", "a.b.co.uk", "b.co.uk", "b", None),
        ("d1234abcd.cloudfront.net", "d1234abcd.cloudfront.net", "d1234abcd.cloudfront.net", "cloudfront", None),
        ("", None, "", "", "empty domain"),
        ("192.168.1.1", None, "", "", "IP address, not a domain"),
        ("n/a", None, "", "", "not a domain name"),
        ("a" * 64 + ".com", None, "", "", "label longer than 63 characters"),
        (".".join(["b" * 60] * 5) + ".com", None, "", "", "name longer than 253"),
        ("bücher.de", "xn--bcher-kva.de", "xn--bcher-kva.de", "bcher", None),
        ("github.io", "github.io", "github.io", "github", None),
        ("localhost", None, "", "", "single-label"),
    ],
)
def test_split_names_table(raw: str, name: str | None, registered: str, label: str, reason: str | None) -> None:
    s = split_names([raw])
    if name is not None:
        assert s.name[0] == name
    assert s.registered[0] == registered
    if reason is None:
        assert s.reason[0] is None and s.label[0] == label
    else:
        assert s.reason[0] is not None and s.reason[0].startswith(reason)
