"""DgaDetector: the contract checks, bad inputs, and the shipped model on known names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.base import NotFittedError
from nightjar.detectors.dga import DgaDetector

from .conftest import synthetic

BAD = ["", None, "   ", "EXAMPLE.COM.", "192.168.1.1", "::1", "a" * 64 + ".com", "n/a", "bücher.de", "xn--fiqs8s.cn",
       "http://x.com/a", "localhost", "co.uk", "..com", "1.0.168.192.in-addr.arpa"]


def test_score_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        DgaDetector().score(pd.DataFrame({"domain": ["google.com"]}))


def test_small_fit_separates(small_detector: DgaDetector) -> None:
    events, labels = synthetic(200, seed=1)
    scores = small_detector.score(events)["score"].to_numpy()
    assert scores[labels].mean() > 0.8 > 0.2 > scores[~labels].mean()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_save_load_round_trip_without_pickle(small_detector: DgaDetector, tmp_path: Path) -> None:
    paths = small_detector.save(tmp_path)
    for p in paths:
        head = p.read_bytes()[:64]
        assert not head.startswith(b"\x80"), f"{p.name} looks pickled"
        if p.suffix == ".json":
            json.loads(p.read_text())
    assert (tmp_path / "lgbm.txt").read_text().startswith("tree")
    again = DgaDetector.load(tmp_path)
    events, _ = synthetic(100, seed=2)
    a, b = small_detector.score(events), again.score(events)
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert again.threshold_ == small_detector.threshold_


def test_fixed_seed_gives_identical_model() -> None:
    events, labels = synthetic(200, seed=3)
    a = DgaDetector(n_trees=10, buckets=1 << 10, min_data_in_leaf=20).fit(events, labels).score(events)["score"]
    b = DgaDetector(n_trees=10, buckets=1 << 10, min_data_in_leaf=20).fit(events, labels).score(events)["score"]
    assert np.array_equal(a.to_numpy(), b.to_numpy())


def test_input_not_mutated_and_column_order_irrelevant(small_detector: DgaDetector) -> None:
    events = pd.DataFrame({"rank": range(4), "domain": ["google.com", "qwxzkjhgfdsa.biz", "", "shopnews.net"]})
    copy = events.copy()
    a = small_detector.score(events)
    pd.testing.assert_frame_equal(events, copy)
    b = small_detector.score(events[["domain", "rank"]])
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy(), equal_nan=True)
    assert a["reasons"].tolist() == b["reasons"].tolist()


def test_bad_inputs_keep_their_rows(small_detector: DgaDetector) -> None:
    out = small_detector.score(pd.DataFrame({"domain": BAD}))
    assert len(out) == len(BAD)
    rejected = out["score"].isna()
    assert not out.loc[rejected, "alert"].any()
    reasons = dict(zip(BAD, out["reasons"]))
    assert reasons[""] == "empty domain"
    assert reasons["192.168.1.1"] == "IP address, not a domain"
    assert reasons["a" * 64 + ".com"] == "label longer than 63 characters"
    assert not rejected[BAD.index("EXAMPLE.COM.")]
    assert not rejected[BAD.index("bücher.de")]


def test_dns_question_name_column(small_detector: DgaDetector) -> None:
    out = small_detector.score(pd.DataFrame({"dns.question.name": ["google.com", "zzqxkwvbnm.ru"]}))
    assert out["score"].notna().all()


CDN = ["d1a2b3c4d5e6f7.cloudfront.net", "e6858.dsce9.akamaiedge.net", "a1234.dscg.akamai.net", "r20swj13mr.microsoft.com",
       "v10.vortex-win.data.microsoft.com", "nexusrules.officeapps.live.com", "self.events.data.microsoft.com",
       "mobile.events.data.microsoft.com", "ecs.office.com", "x1y2z3.execute-api.us-east-1.amazonaws.com",
       "s3-us-west-2.amazonaws.com", "bucket-9f8e7d.s3.amazonaws.com", "ec2-3-91-1-2.compute-1.amazonaws.com",
       "myapp-7x9k2.azurewebsites.net", "dsfhjk3h4.blob.core.windows.net", "weu.measure.office.com",
       "fp-afd-nocache-ccp.azureedge.net", "prod.do.dsp.mp.microsoft.com", "settings-win.data.microsoft.com",
       "gvt1.com", "r3---sn-4g5e6nsz.gvt1.com", "2mdn.net", "1e100.net", "safebrowsing.googleapis.com"]
DGA = ["15m1h3fyoclosp5xspl1d57mt4.net", "1bwbyrhc08jfk1knfjtpicuf7e.biz", "ofdhiydrrttpblp.com",
       "puciftnfkplcbhp.net", "biaymnbqqshyllcqjlfhlj.ru", "cikiugcaqcegsimg.org", "gllcsbqrbfch.com", "hkgjjokkwodt.com",
       "1vz89zm5b2e981bgfhqdzbke3m.org", "71sz271y6jw0m1nmkgq11owix1f.com"]
# short random (conficker) and word-list (matsnu) names: at FPR 1e-3 most are missed (docs/dga.md), but they rank high
HARD_DGA = ["uhbqolxf.org", "scoreadmireluckapplyfitcouple.com", "theirtheandaloneinto.com"]
BENIGN = ["google.com", "wikipedia.org", "bbc.co.uk", "stackoverflow.com", "mail.yahoo.co.jp", "weather.com"]


def test_shipped_model_cdn_and_telemetry_names_do_not_alert(shipped: DgaDetector) -> None:
    out = shipped.score(pd.DataFrame({"domain": CDN}))
    assert out["score"].notna().all()
    alerts = out.loc[out["alert"], "domain"].tolist()
    assert alerts == [], f"CDN/telemetry false positives: {alerts}"


def test_shipped_model_known_dga_alert(shipped: DgaDetector) -> None:
    out = shipped.score(pd.DataFrame({"domain": DGA}))
    missed = out.loc[~out["alert"], "domain"].tolist()
    assert len(missed) <= 1, f"missed: {missed}"
    assert out["reasons"].str.contains("DGA-like").sum() >= len(DGA) - 1


def test_shipped_model_ranks_hard_dga_above_benign(shipped: DgaDetector) -> None:
    hard = shipped.score(pd.DataFrame({"domain": HARD_DGA}))["score"]
    benign = shipped.score(pd.DataFrame({"domain": BENIGN}))
    assert hard.min() > 0.5 > benign["score"].max()
    assert not benign["alert"].any()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NAMEISH = st.text(alphabet=st.sampled_from(list("abcxyz019-_.ÄéöλЖ中 /:@\t")), max_size=80)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_NAMEISH, st.none(), st.text(max_size=300)), max_size=20))
def test_any_text_never_crashes_and_keeps_rows(small_detector: DgaDetector, values: list[str | None]) -> None:
    names, score, alert, reasons = small_detector.score_values(np.asarray(values, dtype=object))
    assert len(score) == len(alert) == len(reasons) == len(values)
    ok = ~np.isnan(score)
    assert ((score[ok] >= 0) & (score[ok] <= 1)).all()
    assert not alert[~ok].any()
    assert all(isinstance(r, str) and r for r in reasons)
