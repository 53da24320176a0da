"""The URL training and evaluation data under ../shared/data, its split, and the synthetic benign URLs.

Every row gets its registered domain (public-suffix list, as the detector computes it) and a bucket
`crc32(registered domain) % 10`: buckets 0-5 train, 6-7 validation, 8-9 test, for every source, so no
registered domain is on two sides. OpenPhish is split by time instead: first seen until 2025-06-30 is
train (validation: its buckets 6-7), 2025-07-01 .. 2025-12-31 is the out-of-time test. ISCX phishing
and malware are test-only (older positives).

Synthetic benign URLs (`synthetic_benign`): registered domains of the benign top lists (Tranco part
without rows flagged as phishing hosts, Majestic 20k, Alexa 100k), each given a host (the domain 50 %,
`www.` + domain 35 %, one common subdomain 15 %: m, en, blog, shop, support, help, docs, news, store,
mail, app, account, login, secure), a scheme (https 80 %, http 20 %) and a path: the home page (30 %)
or the path and query of a real benign URL of the same split side (70 %, "path transplant"), so the
model sees real benign paths on popular domains and never learns "has a path, so it is phishing".
This module reads files; it is the only one that does.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nightjar.errors import InputError

CUT, END = "2025-07-01", "2026-01-01"
ROLE_OF_BUCKET = ["train"] * 6 + ["validation"] * 2 + ["test"] * 2
SUBDOMAINS = ("m", "en", "blog", "shop", "support", "help", "docs", "news", "store", "mail", "app", "account", "login", "secure")
ISCX_HOST_CAP = 150


@dataclass(frozen=True)
class Source:
    """One dataset: where it is, its licence and which class it gives."""

    name: str
    path: str
    licence: str
    label: str  # "phishing", "benign", "mixed"


SOURCES = [
    Source("openphish", "url/openphish_feed_history/openphish_feed_history_until_2025.csv.gz",
           "OpenPhish Community feed terms: NON-COMMERCIAL USE ONLY", "phishing"),
    Source("esdaung", "url/esdaung_2021_part/esdaung_imbal_part.csv.gz", "none stated (research use; cite Aung & Yamana 2021)", "mixed"),
    Source("hannousse", "url/hannousse_2021_mendeley_half/dataset_phishing_half.csv.gz", "CC BY 4.0 (Hannousse & Yahiouche 2021)", "mixed"),
    Source("cao2019", "url/cao2019_benign_urls3k/cao2019_benign_urls.csv.gz", "none stated (student project; research use)", "benign"),
    Source("iscx_benign", "url/iscx_url_2016/Benign_list_big_final.csv.gz", "CIC/UNB dataset terms (research, cite NSS 2016)", "benign"),
    Source("iscx_phishing", "url/iscx_url_2016/phishing_dataset.csv.gz", "CIC/UNB dataset terms (research, cite NSS 2016)", "phishing"),
    Source("iscx_malware", "url/iscx_url_2016/Malware_dataset.csv.gz", "CIC/UNB dataset terms (research, cite NSS 2016)", "phishing"),
    Source("tranco_part", "dga/tranco_top100k_part/tranco_part.csv.gz", "Tranco: free for research (Le Pochat et al., NDSS 2019)", "benign"),
    Source("majestic_20k", "dga/dgarchive_majestic_20k/majestic_20k_domains.csv", "CC BY-NC-SA 4.0 (NON-COMMERCIAL)", "benign"),
    Source("alexa_100k", "dga/clicksecurity_alexa100k/alexa_100k.csv", "MIT (ClickSecurity data_hacking)", "benign"),
]
BY_NAME = {s.name: s for s in SOURCES}


def _path(data: Path, name: str) -> Path:
    p = Path(data) / BY_NAME[name].path
    if not p.exists():
        raise InputError(f"{p}: missing (expected the shared datasets, e.g. ../shared/data)")
    return p


def bucket_of(values: np.ndarray | list[str]) -> np.ndarray:
    """crc32(value) % 10 for each value."""
    return np.fromiter((zlib.crc32(str(v).encode()) % 10 for v in values), dtype=np.int64, count=len(values))


def registered_domains(urls: list[str] | np.ndarray) -> np.ndarray:
    """The registered domain of each URL ('' when it does not parse), as the detector computes it."""
    from nightjar.detectors.url.features import split_hosts
    from nightjar.detectors.url.parse import parse

    p = parse(pa.array(list(urls), pa.string(), from_pandas=True))
    hosts = p.host.to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(pd.Series(hosts, dtype=object))
    regs = split_hosts(pa.array(list(uniques), pa.string()))[0]
    out = regs[codes]
    out[~p.ok] = ""
    return out


def _lines(path: Path, sep: str = "\n") -> list[str]:
    import gzip

    text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    return [ln.strip() for ln in text.replace("\r\n", "\n").split(sep) if ln.strip()]


def load_labelled(data: Path) -> pd.DataFrame:
    """Every labelled URL: url, label (True = phishing), source, time (OpenPhish first seen), regdom, bucket, role."""
    parts = []
    op = pd.read_csv(_path(data, "openphish"), usecols=["url", "first_seen_utc"])
    parts.append(pd.DataFrame({"url": op["url"], "label": True, "source": "openphish", "time": op["first_seen_utc"]}))
    es = pd.read_csv(_path(data, "esdaung"))
    legit_bad = (es["label"] == 0) & ((es["host_in_known_phish_or_malware_list"] == 1) | (es["host_also_in_this_sets_phish_side"] == 1))
    es = es[~legit_bad]
    parts.append(pd.DataFrame({"url": es["url"], "label": es["label"] == 1,
                               "source": np.where(es["label"] == 1, "esdaung_phish", "esdaung_legit")}))
    ha = pd.read_csv(_path(data, "hannousse"), usecols=["url", "status"])
    parts.append(pd.DataFrame({"url": ha["url"], "label": ha["status"] == "phishing",
                               "source": np.where(ha["status"] == "phishing", "hannousse_phish", "hannousse_legit")}))
    cao = pd.read_csv(_path(data, "cao2019"), usecols=["url_schemeless", "host_in_phish_lists"])
    cao = cao[cao["host_in_phish_lists"] == 0]
    parts.append(pd.DataFrame({"url": cao["url_schemeless"], "label": False, "source": "cao2019"}))
    for name, label in (("iscx_benign", False), ("iscx_phishing", True), ("iscx_malware", True)):
        urls = list(dict.fromkeys(_lines(_path(data, name))))
        parts.append(pd.DataFrame({"url": urls, "label": label, "source": name}))
    df = pd.concat(parts, ignore_index=True).drop_duplicates(["url", "source"]).reset_index(drop=True)
    df["time"] = pd.to_datetime(df["time"], utc=True, errors="coerce")
    df["regdom"] = registered_domains(df["url"].to_numpy(dtype=object))
    df = df[df["regdom"] != ""].reset_index(drop=True)
    df["bucket"] = bucket_of(df["regdom"].to_numpy())
    role = np.asarray(ROLE_OF_BUCKET, dtype=object)[df["bucket"].to_numpy()]
    is_op = (df["source"] == "openphish").to_numpy()
    t = df["time"]
    role[is_op] = np.where(df.loc[is_op, "bucket"].isin([6, 7]), "validation", "train")
    late = is_op & (t >= pd.Timestamp(CUT, tz="UTC")).to_numpy()
    role[late] = "test_oot"
    role[df["source"].isin(["iscx_phishing", "iscx_malware"]).to_numpy()] = "test_older"
    df["role"] = role
    # a registered domain with training phishing (shared platforms) keeps only its phishing rows in training
    phish_regs = set(df.loc[df["label"] & (df["role"] == "train"), "regdom"])
    df = df[~((~df["label"]) & (df["role"] == "train") & df["regdom"].isin(phish_regs))].reset_index(drop=True)
    iscx = (df["source"] == "iscx_benign") & (df["role"] == "train")
    rank = df[iscx].groupby("regdom").cumcount()
    df = df.drop(index=rank[rank >= ISCX_HOST_CAP].index).reset_index(drop=True)
    return df


def benign_domains(data: Path) -> pd.DataFrame:
    """Registered domains of the benign top lists, in rank order: domain, source."""
    tr = pd.read_csv(_path(data, "tranco_part"), usecols=["domain", "regdom", "exact_host_in_phish_lists", "in_dga_lists"])
    tr = tr[(tr["exact_host_in_phish_lists"] == 0) & (tr["in_dga_lists"] == 0)]
    ma = pd.read_csv(_path(data, "majestic_20k"), usecols=["domain"])
    al = pd.read_csv(_path(data, "alexa_100k"), header=None, names=["rank", "domain"])
    out = pd.concat([pd.DataFrame({"domain": tr["regdom"], "source": "tranco_part"}),
                     pd.DataFrame({"domain": ma["domain"], "source": "majestic_20k"}),
                     pd.DataFrame({"domain": al["domain"], "source": "alexa_100k"})], ignore_index=True)
    out["domain"] = out["domain"].astype(str).str.strip().str.lower()
    return out.drop_duplicates("domain").reset_index(drop=True)


def synthetic_benign(domains: pd.DataFrame, labelled: pd.DataFrame, per_role: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """Synthetic benign URLs on benign top-list domains (see the module docstring), split by the same buckets."""
    rng = np.random.default_rng(seed)
    dom = domains.copy()
    dom["regdom"] = registered_domains(("http://" + dom["domain"]).to_numpy(dtype=object))
    dom = dom[(dom["regdom"] != "") & ~dom["regdom"].isin(set(labelled.loc[labelled["label"], "regdom"]))]
    dom["role"] = np.asarray(ROLE_OF_BUCKET, dtype=object)[bucket_of(dom["regdom"].to_numpy())]
    from urllib.parse import urlsplit

    out = []
    for role, n in per_role.items():
        pool = dom[dom["role"] == role]
        pick = pool.sample(n=min(n, len(pool)), random_state=seed)
        donors = labelled[(~labelled["label"]) & (labelled["role"] == role) & (labelled["source"] != "iscx_benign")]["url"].to_numpy()
        paths = []
        for u in donors:
            try:
                s = urlsplit(u if "://" in u else "http://" + u)
            except ValueError:
                continue
            if s.path not in ("", "/"):
                paths.append(s.path + (f"?{s.query}" if s.query else ""))
        m = len(pick)
        kind = rng.random(m)
        sub = rng.choice(SUBDOMAINS, size=m)
        host = np.where(kind < 0.5, pick["domain"], np.where(kind < 0.85, "www." + pick["domain"], sub + "." + pick["domain"]))
        scheme = np.where(rng.random(m) < 0.8, "https://", "http://")
        home = rng.random(m) < 0.3
        path = np.where(home, np.where(rng.random(m) < 0.5, "/", ""), rng.choice(np.asarray(paths, dtype=object), size=m) if paths else "/")
        out.append(pd.DataFrame({"url": scheme + host + path, "label": False, "source": "synthetic_" + pick["source"],
                                 "regdom": pick["regdom"].to_numpy(), "role": role}))
    syn = pd.concat(out, ignore_index=True)
    syn["bucket"] = bucket_of(syn["regdom"].to_numpy())
    syn["time"] = pd.NaT
    return syn


def source_records(names: list[str]) -> list[dict[str, str]]:
    """Manifest entries (name, path, licence) for the named sources."""
    return [{"name": n, "path": BY_NAME[n].path, "licence": BY_NAME[n].licence} for n in names]
