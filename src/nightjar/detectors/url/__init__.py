"""Phishing URL detection: links that lead to credential-phishing or malware pages.

Input record: one URL, from a `url` or `url.full` column (URL lists, CSV), or Zeek http.log's
`url.domain` (Host) + `url.original` (URI). The URL is cleaned and split (parse.py); junk that still
holds a URL (no scheme, spaces, control characters, defanged) is scored with a note, and what holds no
URL (empty, "n/a", no host) keeps its row with an empty score and the reason.

Output: `score` in 0..1, higher = more phishing-like (worse); `alert` at the model's threshold
(chosen on validation benign URLs of every source for a 1 % false-positive rate); `reasons` in words
("brand 'paypal' in subdomain of unrelated domain ...", "login/verify-style path on free hosting").
`campaigns.py` groups alerted URLs into campaigns (one kit on many hosts).
"""

from nightjar.detectors.url.detector import UrlDetector

DETECTOR = UrlDetector

__all__ = ["DETECTOR", "UrlDetector"]
