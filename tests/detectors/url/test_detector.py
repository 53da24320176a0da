"""UrlDetector contract on a small model fitted in the test, and the shipped model on the bad-input cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from nightjar.detectors.base import NotFittedError, detector_class
from nightjar.detectors.url import UrlDetector
from nightjar.detectors.url.brands import BrandIndex
from nightjar.errors import ConfigError, SchemaError

WORDS = ["news", "sport", "about", "contact", "products", "blog", "team", "careers", "docs", "help", "2021", "article"]


def _fixture(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    benign, phish = [], []
    for i in range(n):
        a, b = rng.choice(WORDS, 2)
        benign.append(f"https://www.site{i}{a}.com/{a}/{b}-{i}.html")
        kit = rng.choice(["login/verify.php", "webscr/update", "secure/account/signin", "wallet/connect"])
        host = rng.choice([f"paypal.com.{a}{i}.xyz", f"acct-{i}.vercel.app", f"{i}{b}.top", f"paypa1-{a}{i}.com"])
        phish.append(f"http://{host}/{kit}?id={rng.integers(1e9):x}")
    events = pd.DataFrame({"url": benign + phish})
    return events, np.r_[np.zeros(n, bool), np.ones(n, bool)]


@pytest.fixture(scope="module")
def fitted() -> UrlDetector:
    events, y = _fixture()
    det = UrlDetector(n_trees=20, buckets=1 << 12)
    return det.fit(events, y, brands=BrandIndex(["paypal", "microsoft"], {"paypal.com"}))


def test_lookup_by_kind() -> None:
    assert detector_class("url") is UrlDetector


def test_score_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        UrlDetector().score(pd.DataFrame({"url": ["http://a.com/"]}))


def test_bad_model_kind_is_a_config_error() -> None:
    events, y = _fixture(20)
    with pytest.raises(ConfigError, match="'model_kind' parameter of UrlDetector"):
        UrlDetector(model_kind="svm").fit(events, y)


def test_separates_the_fixture_and_keeps_rows(fitted: UrlDetector) -> None:
    events, y = _fixture(100, seed=1)
    junk = pd.DataFrame({"url": ["", "n/a", "http://%zz.com/", None, "example.com/x y", "\x00http://a.com/"]})
    allrows = pd.concat([events, junk], ignore_index=True)
    before = allrows.copy()
    out = fitted.score(allrows)
    pd.testing.assert_frame_equal(allrows, before)  # input not mutated
    assert list(out.columns[:1]) == ["url"] and {"score", "alert", "reasons"} <= set(out.columns)
    assert len(out) == len(allrows)
    assert roc_auc_score(y, out["score"][: len(y)]) > 0.9
    tail = out.iloc[len(y):]
    assert tail["score"].isna().tolist() == [True, True, True, True, False, False]
    assert not tail["alert"].iloc[:4].any()
    assert tail["reasons"].iloc[0] == "empty line" and "placeholder" in tail["reasons"].iloc[1]
    assert "spaces encoded" in tail["reasons"].iloc[4]


def test_save_load_round_trip_and_determinism(fitted: UrlDetector, tmp_path) -> None:  # type: ignore[no-untyped-def]
    events, y = _fixture(50, seed=2)
    fitted.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl"))
    again = UrlDetector.load(tmp_path)
    a, b = fitted.score(events), again.score(events)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6)
    twin = fitted.clone().fit(*_fixture(), brands=fitted.model_.brands)
    np.testing.assert_allclose(twin.score(events)["score"], a["score"], rtol=1e-9)


def test_lr_baseline_scores_in_range() -> None:
    events, y = _fixture(80)
    det = UrlDetector(model_kind="lr", buckets=1 << 12).fit(events, y)
    s = det.score(events)["score"]
    assert s.between(0, 1).all() and roc_auc_score(y, s) > 0.9


def test_column_order_and_zeek_http_columns(fitted: UrlDetector) -> None:
    events = pd.DataFrame({"other": [1, 2], "url": ["http://a.com/x", "https://b.org/"]})
    np.testing.assert_allclose(fitted.score(events)["score"], fitted.score(events[["url", "other"]])["score"])
    zeek = pd.DataFrame({"url.domain": ["a.com", "b.org"], "url.original": ["/x", "https://b.org/"]})
    out = fitted.score(zeek)
    assert out["url"].tolist() == ["http://a.com/x", "https://b.org/"]
    np.testing.assert_allclose(out["score"], fitted.score(events)["score"])
    with pytest.raises(SchemaError):
        fitted.score(pd.DataFrame({"domain": ["a.com"]}))


def test_reasons_name_the_brand_and_the_platform(fitted: UrlDetector) -> None:
    fitted.threshold_ = 0.0  # explain everything
    out = fitted.score(pd.DataFrame({"url": ["http://paypal.com.secure-x.xyz/login", "https://acct-9.vercel.app/signin"]}))
    assert "brand 'paypal' in subdomain of unrelated domain secure-x.xyz" in out["reasons"][0]
    assert "login/verify-style path on free hosting" in out["reasons"][1]
