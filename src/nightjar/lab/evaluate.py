"""Alerts against the lab's ground truth: per detector, true and false positives and missed attacks.

An alert is an ECS document as `nightjar scan` writes it (nested or with dotted keys); its detector
is the key under `nightjar` that holds the score. It matches an attack of its own detector when:
- `dga`: its name (`domain.normalized`, `domain`, `dns.question.name`) is one of the names the
  infected host's DGA looked up (or a host-level alert carries the infected `source.ip`);
- `url`: its URL (`url.full`, `url`, or Zeek http's `url.domain` + `url.original`) equals the planted URL (scheme and host case-insensitive), or, for a
  click, it is another request from the clicking client to the same attacker host (the page's resources);
- `lotl`: its `process.entity_id` is a planted process's;
- `beacon`: `source.ip` and `destination.ip` (and the port when both have one), or `source.ip` and
  `destination.domain`, are the planted pair's.
An alert that matches no attack of its detector but points at attacker infrastructure planted for
another detector (a phishing or C2 name resolved in dns.log) is counted as `other_attack`, neither
true nor false positive. Everything else is a false positive; `fp_entities` counts distinct ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nightjar.lab.truth import Attack, Truth

CLICK = "T1204.001"  # a user's click: the page's other requests from that client belong to it


@dataclass
class DetectorResult:
    """How one detector did on the lab."""

    detector: str
    planted: int = 0
    found: int = 0
    alerts: int = 0
    true_positives: int = 0
    false_positives: int = 0
    other_attack: int = 0
    fp_entities: int = 0
    missed: list[Attack] = field(default_factory=list)
    found_ids: list[str] = field(default_factory=list)
    top_false: list[tuple[str, int]] = field(default_factory=list)
    best_scores: dict[str, float] = field(default_factory=dict)  # attack id -> highest score among its alerts
    ran: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "ran": self.ran, "planted": self.planted, "found": self.found,
                "alerts": self.alerts, "true_positives": self.true_positives, "false_positives": self.false_positives,
                "other_attack": self.other_attack, "fp_entities": self.fp_entities,
                "missed": [a.id for a in self.missed], "found_ids": self.found_ids,
                "top_false": [list(t) for t in self.top_false], "best_scores": self.best_scores}


def get(doc: dict[str, Any], dotted: str) -> Any:
    """A field by dotted name from a nested or flat document."""
    if dotted in doc:
        return doc[dotted]
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def detector_of(doc: dict[str, Any]) -> str | None:
    """The detector that raised `doc` (the `nightjar.<kind>` object with a score)."""
    ours = doc.get("nightjar") if isinstance(doc.get("nightjar"), dict) else None
    if ours:
        for key, value in ours.items():
            if isinstance(value, dict) and "score" in value:
                return key
    for key in doc:
        if key.startswith("nightjar.") and key.endswith(".score"):
            return key.split(".")[1]
    return None


def norm_url(url: Any) -> str:
    text = str(url or "").strip()
    if "://" not in text:
        text = "http://" + text
    scheme, rest = text.split("://", 1)
    host, _, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}/{path}".rstrip("/")


def _host_of(url: str) -> str:
    return norm_url(url).split("://", 1)[1].split("/", 1)[0]


def _name(doc: dict[str, Any]) -> str:
    for col in ("domain.normalized", "domain", "dns.question.name", "nightjar.input.domain"):
        value = get(doc, col)
        if value:
            return str(value).lower().rstrip(".")
    return ""


class _Matcher:
    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.by = truth.by_detector()
        self.names: dict[str, str] = {}  # DGA name -> attack id
        for a in self.by.get("dga", []):
            for name in a.entity.get("domains", []):
                self.names[name.lower()] = a.id
        self.infra: set[str] = {_host_of(a.entity["url"]) for a in self.by.get("url", [])}
        self.infra |= {str(a.entity.get("destination.domain", "")).lower() for a in self.by.get("beacon", [])} - {""}
        self.processes = {a.entity.get("process.entity_id"): a.id for a in self.by.get("lotl", [])}
        self.urls: dict[str, list[Attack]] = {}
        for a in self.by.get("url", []):
            self.urls.setdefault(norm_url(a.entity["url"]), []).append(a)

    def match(self, kind: str, doc: dict[str, Any]) -> list[str] | None:
        """Ids of the attacks `doc` finds; [] for attacker infrastructure of another detector; None for a false positive."""
        if kind == "dga":
            name = _name(doc)
            if name in self.names:
                return [self.names[name]]
            ip = get(doc, "source.ip")
            if not name and ip:
                hits = [a.id for a in self.by.get("dga", []) if a.entity.get("source.ip") == ip]
                return hits or None
            return [] if name in self.infra else None
        if kind == "url":
            url = _url(doc)
            hits = [a.id for a in self.urls.get(norm_url(url), []) if _same_where(a, doc)]
            if hits:
                return hits
            host, ip = _host_of(url), get(doc, "source.ip")
            near = [a.id for a in self.by.get("url", []) if ip and a.technique == CLICK and a.entity.get("source.ip") == ip
                    and _host_of(a.entity["url"]) == host]
            if near:
                return near
            return [] if host in self.infra else None
        if kind == "lotl":
            hit = self.processes.get(get(doc, "process.entity_id"))
            return [hit] if hit else None
        if kind == "beacon":
            src, dst, port = get(doc, "source.ip"), get(doc, "destination.ip"), get(doc, "destination.port")
            domain = str(get(doc, "destination.domain") or "").lower()
            hits = []
            for a in self.by.get("beacon", []):
                e = a.entity
                if src != e.get("source.ip"):
                    continue
                if (dst and dst == e.get("destination.ip") and (port in (None, "") or int(port) == int(e["destination.port"]))) \
                        or (domain and domain == str(e.get("destination.domain", "")).lower()):
                    hits.append(a.id)
            return hits or None
        return None


def _url(doc: dict[str, Any]) -> str:
    """The alert's URL: `url.full`, a bare `url`, http://`url.domain` + `url.original` (Zeek http), or the alert's entity."""
    for col in ("url.full", "url", "nightjar.input.url"):
        value = get(doc, col)
        if isinstance(value, str) and value:
            return value
    domain, original = get(doc, "url.domain"), get(doc, "url.original")
    if domain and original:
        return str(original) if "://" in str(original) else f"http://{domain}{original}"
    return str(get(doc, "nightjar.url.entity") or original or "")


def _same_where(attack: Attack, doc: dict[str, Any]) -> bool:
    """A mail-log URL and the same URL fetched in http.log are separate attacks (delivery and click)."""
    from_http = get(doc, "source.ip") is not None
    return (attack.entity.get("where") == "http") == from_http


def evaluate_alerts(truth: Truth, alerts: list[dict[str, Any]], detectors: list[str] | None = None) -> dict[str, DetectorResult]:
    """One `DetectorResult` per detector of the truth (and per detector that alerted); `detectors` = those that ran."""
    matcher = _Matcher(truth)
    kinds = sorted(set(matcher.by) | {k for k in (detector_of(d) for d in alerts) if k})
    results = {k: DetectorResult(k, planted=len(matcher.by.get(k, [])), ran=detectors is None or k in detectors) for k in kinds}
    found: dict[str, set[str]] = {k: set() for k in kinds}
    false: dict[str, Counter[str]] = {k: Counter() for k in kinds}
    for doc in alerts:
        kind = detector_of(doc)
        if kind is None:
            continue
        result = results[kind]
        result.alerts += 1
        hits = matcher.match(kind, doc)
        if hits is None:
            result.false_positives += 1
            false[kind][str(get(doc, f"nightjar.{kind}.entity") or _name(doc) or "?")] += 1
        elif hits:
            result.true_positives += 1
            found[kind].update(hits)
            score = float(get(doc, f"nightjar.{kind}.score") or 0.0)
            for h in hits:
                result.best_scores[h] = max(result.best_scores.get(h, 0.0), score)
        else:
            result.other_attack += 1
    for kind, result in results.items():
        planted = matcher.by.get(kind, [])
        result.found_ids = [a.id for a in planted if a.id in found[kind]]
        result.found = len(result.found_ids)
        result.missed = [a for a in planted if a.id not in found[kind]]
        result.fp_entities = len(false[kind])
        result.top_false = false[kind].most_common(5)
    return results
