"""URL parsing of junk, features, brand matching, n-gram hashing and kit templates (small fixtures)."""

from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pytest

from nightjar.detectors.url import features as F
from nightjar.detectors.url.brands import BrandIndex, build_brands, unleet
from nightjar.detectors.url.campaigns import campaigns, template
from nightjar.detectors.url.model import NGRAMS, hashed_ngrams
from nightjar.detectors.url.parse import parse

BRANDS = BrandIndex(["paypal", "microsoft", "netflix"], {"paypal.com", "microsoftonline.com"})


@pytest.mark.parametrize(("raw", "host", "path", "note"), [
    ("example.com/login", "example.com", "/login", "no scheme"),
    ("http://a.com/x y z", "a.com", "/x%20y%20z", "spaces encoded"),
    ("http://a.com/\x00x\x1f", "a.com", "/x", "control characters removed"),
    ("hxxp://evil[.]com/a", "evil.com", "/a", "defanged URL restored"),
    ("http://b\ufffdd.com/", None, None, None),
    ("HTTP://WWW.Example.COM./A", "www.example.com", "/A", None),
    ("http:\\\\a.com\\b", "a.com", "/b", None),
    ("http://paypal.com@evil.com/x", "evil.com", "/x", None),
    ("http://[::1]:80/x", "[::1]", "/x", None),
    ("http://a.com/%zz%41", "a.com", "/%zz%41", None),
])
def test_parse_recovers_urls_from_junk(raw: str, host: str | None, path: str | None, note: str | None) -> None:
    p = parse([raw])
    if host is None:
        assert p.reason[0] is not None
        return
    assert p.reason[0] is None, p.reason[0]
    assert p.host[0].as_py() == host
    assert p.path[0].as_py() == path
    if note:
        assert note in p.note[0]


@pytest.mark.parametrize(("raw", "why"), [
    ("", "empty line"), (None, "empty line"), ("n/a", "placeholder"), ("N/A", "placeholder"), ("hello", "no host name"),
    ("http://%zz.com/", "percent-encoding"), ("javascript:alert(1)", "no host name"), ("http:///path", "no host"),
])
def test_parse_rejects_what_holds_no_url(raw: str | None, why: str) -> None:
    p = parse([raw])
    assert p.reason[0] is not None and why in p.reason[0]


def test_split_equals_the_url_regex_on_random_strings() -> None:
    import pyarrow.compute as pc

    from nightjar.detectors.url.split import PARTS, URL_RE, split_urls

    rng = np.random.default_rng(0)
    pieces = ["http", "H", "x+y.z", ":", "/", "//", "?", "#", "@", "[", "]", "[::1]", ".", "%", " ", "\n", "é", "a", "80", "a" * 17, "ftp://"]
    texts = ["".join(rng.choice(pieces, rng.integers(0, 12))) for _ in range(5000)] + [""]
    arr = pa.array(texts).slice(3)
    fields, no_match = split_urls(arr)
    expected = pc.extract_regex(arr, URL_RE)
    assert no_match.tolist() == pc.is_null(expected).to_pylist() and no_match.any()
    for name in PARTS:
        assert fields[name].to_pylist() == pc.fill_null(pc.struct_field(expected, name), "").to_pylist(), name


def test_parse_agrees_with_urlsplit_on_ordinary_urls() -> None:
    urls = ["https://user:pw@sub.example.co.uk:8443/a/b.php?x=1&y=2#frag", "http://example.com", "https://a.b.c.d.com/?q",
            "http://x.org/path;params/more?a=b=c", "ftp://files.example.net/pub/file.zip", "https://example.com/#only-frag"]
    p = parse(urls)
    for i, u in enumerate(urls):
        s = urlsplit(u)
        assert p.host[i].as_py() == s.hostname
        assert p.path[i].as_py() == s.path
        assert p.query[i].as_py() == s.query
        assert p.fragment[i].as_py() == s.fragment
        assert p.userinfo[i].as_py() == (s.netloc.rpartition("@")[0] if "@" in s.netloc else "")


def test_long_query_is_scored_with_a_note() -> None:
    p = parse(["http://a.com/?" + "q" * 10_000])
    assert p.reason[0] is None and "very long URL" in p.note[0]


def test_host_features_and_brands() -> None:
    x, parts = F.host_table(["paypal.com.verify-acct.xyz", "www.paypal.com", "1.2.3.4", "login-paypa1.vercel.app",
                             "sites.google.com", "bit.ly", "xn--pple-43d.com"], BRANDS)
    f = {name: x[:, i] for i, name in enumerate(F.HOST_FEATURES)}
    assert f["brand_in_sub"].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert f["brand_near"][3] == 1 and f["free_hosting"][3] == 1
    assert f["is_ip"].tolist() == [0, 0, 1, 0, 0, 0, 0]
    assert f["free_hosting"][4] == 1 and f["shortener"][5] == 1
    assert f["mixed_script"][6] == 1 and f["punycode"][6] == 1
    assert parts["registered"][0] == "verify-acct.xyz" and parts["sub"][0] == "paypal.com"
    assert parts["registered"][3] == "login-paypa1.vercel.app"


def test_brand_near_misses() -> None:
    assert unleet("paypa1") == "paypal"
    assert BRANDS.near("paypa1") == "paypal"
    assert BRANDS.near("paypall") == "paypal"
    assert BRANDS.near("paypl") == "paypal"
    assert BRANDS.near("pyapal") == "paypal"
    assert BRANDS.near("paypal") is None
    assert BRANDS.near("weather") is None
    assert BRANDS.host_matches("login", "paypal", "paypal.com") == (None, None, None, None)


def test_long_brands_match_at_two_edits_and_suffix_swaps_are_flagged() -> None:
    index = BrandIndex(["paypal", "steamcommunity"], {"paypal.com", "steamcommunity.com"})
    assert index.near("stearncommunty") == "steamcommunity"  # rn for m and a dropped letter
    assert index.near("steamcomunnity") == "steamcommunity"
    assert index.near("pypl") is None  # short brands: one edit only
    assert index.near("steamcomnnunitty") is None  # three edits
    assert index.suffix_swap("paypal", "paypal.com.ge") == "paypal"
    assert index.suffix_swap("paypal", "paypal.com") is None
    x, parts = F.host_table(["paypal.com.ge", "paypal.com", "mail._domainkey.shop.com.au"], index)
    f = {name: x[:, i] for i, name in enumerate(F.HOST_FEATURES)}
    assert f["suffix_swap"].tolist() == [1, 0, 0]
    assert f["host_underscore"].tolist() == [0, 0, 1]
    assert index.host_matches("", "paypal", "paypal.com.ge")[3] == "paypal"


def test_build_brands_keeps_brands_that_phishing_carries() -> None:
    ranked = ["paypal.com", "weather.com", "netflix.com"]
    phish = [("evil.xyz", "paypal.evil.xyz/login")] * 6 + [("bad.top", "netflix-bad.top/")] * 6
    benign = [("news.com", "news.com/weather/today")] * 50 + [("blog.com", "blog.com/netflix-review")] * 40
    index = build_brands(ranked, ranked, phish, benign, min_phish=5, min_ratio=5.0)
    assert index.brands == ["paypal"]  # netflix: common in benign text too; weather: never in phishing
    assert "paypal.com" in index.own_domains


def test_url_features() -> None:
    p = parse(["http://a.com/login/verify.php?user=x@corp.com&next=https%3A%2F%2Fb.com", "http://a.com/setup.exe",
               "https://u@a.com:8080//x/~y/%zz"])
    x = F.url_table(p, BRANDS)
    f = {name: x[:, i] for i, name in enumerate(F.URL_FEATURES)}
    assert f["email_in_url"].tolist() == [1, 0, 0]
    assert f["url_in_query"].tolist() == [1, 0, 0]
    assert f["path_words"][0] == 2 and f["ext_php"][0] == 1
    assert f["ext_binary"].tolist() == [0, 1, 0]
    assert f["userinfo"].tolist() == [0, 0, 1] and f["port"].tolist() == [0, 0, 1]
    assert f["pct_invalid"][2] == 1 and f["pct_valid"][0] == 3
    assert f["path_dslash"][2] == 1 and f["tilde"][2] == 1


def _reference_grams(text: str) -> set[bytes]:
    b = text.encode()
    return {b[i:i + k] for k in NGRAMS for i in range(len(b) - k + 1)}


def test_ngrams_stay_inside_their_row() -> None:
    texts = ["abcdef", "", "xy", "abc", "é-ü/path"]
    row, col, norm = hashed_ngrams(pa.array(texts), 1 << 20)
    for i, t in enumerate(texts):
        assert (row == i).sum() == sum(max(len(t.encode()) - k + 1, 0) for k in NGRAMS)
    # the same n-gram hashes to the same bucket in any row: "abc" appears in rows 0 and 3
    assert set(col[row == 3]) <= set(col[row == 0])
    assert np.isclose(norm[0], 1 / np.sqrt((row == 0).sum())) and norm[1] == 1.0


def test_kit_template_and_campaigns() -> None:
    assert template("http://a.com/ap/89e6a3b4b063b8d/?cmd=_update&dispatch=1") == "/ap/*/?cmd&dispatch"
    assert template("https://b.org/ap/0123456789abcdef0/?dispatch=9&cmd=x") == "/ap/*/?cmd&dispatch"
    import pandas as pd

    urls = [f"http://host{i}.example{i}.com/ap/{i:016x}/?cmd=_update" for i in range(5)] + ["http://lone.net/other/x.php"]
    scored = pd.DataFrame({"url": urls, "score": 0.99, "alert": True})
    camp = campaigns(scored, registered=np.array([f"example{i}.com" for i in range(5)] + ["lone.net"], dtype=object))
    assert len(camp) == 1
    assert camp.loc[0, "summary"].startswith("5 URLs, 5 hosts, one kit")


def test_near_hosts_agrees_with_near_host() -> None:
    subs = ["", "login-paypa1", "a.b_c", "www", "secure.rnicrosoft-x", ""]
    labels = ["g00gle", "shop", "netf1ix_app", "paypal", "mail", ""]
    expected = [BRANDS.near_host(s, lab) is not None for s, lab in zip(subs, labels)]
    assert BRANDS.near_hosts(pa.array(subs), pa.array(labels)).tolist() == expected
    assert expected == [False, True, True, False, True, False]
