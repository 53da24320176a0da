"""The names an office resolves: a curated list of common enterprise domains, CDNs and update services.

Kept in code (not read from ../shared/data) so the lab runs from the package alone. Each entry is a
name, a weight (how often people or machines look it up) and the provider whose addresses answer it.
CDN and cloud names with random-looking labels (`d3k9x2m1q8w4zt.cloudfront.net`) are made by
`cdn_name`: they are the hard negatives of a DGA detector.
"""

from __future__ import annotations

import numpy as np

TENANT = "nightjarlab"

# provider -> address prefixes its names resolve into (realistic ranges, not exact allocations)
PROVIDERS = {
    "microsoft": ("13.107", "20.190", "40.126", "52.109", "20.42"),
    "google": ("142.250", "172.217", "216.58"),
    "cloudflare": ("104.16", "104.18", "172.67"),
    "akamai": ("23.32", "23.55", "184.28"),
    "amazon": ("13.32", "18.66", "52.84", "54.230"),
    "fastly": ("151.101",),
    "other": ("185.199", "199.232", "162.159", "31.13", "157.240"),
}

# (name, weight) looked up while people work, per provider
BROWSING: dict[str, tuple[tuple[str, float], ...]] = {
    "microsoft": (
        ("outlook.office365.com", 30), ("outlook.office.com", 12), ("login.microsoftonline.com", 18), ("graph.microsoft.com", 10),
        ("teams.microsoft.com", 20), ("presence.teams.microsoft.com", 8), ("statics.teams.cdn.office.net", 6),
        (f"{TENANT}.sharepoint.com", 14), (f"{TENANT}-my.sharepoint.com", 9), ("res.cdn.office.net", 5),
        ("aadcdn.msftauth.net", 6), ("www.office.com", 6), ("substrate.office.com", 5), ("www.bing.com", 4),
        ("nexus.officeapps.live.com", 3), ("login.live.com", 2), ("learn.microsoft.com", 2), ("portal.azure.com", 1),
        ("onedrive.live.com", 1.5), ("www.msn.com", 2),
    ),
    "google": (
        ("www.google.com", 22), ("www.gstatic.com", 10), ("fonts.googleapis.com", 8), ("fonts.gstatic.com", 8),
        ("www.googleapis.com", 4), ("accounts.google.com", 3), ("www.youtube.com", 3), ("i.ytimg.com", 2),
        ("www.google-analytics.com", 6), ("www.googletagmanager.com", 6), ("docs.google.com", 2), ("maps.googleapis.com", 1),
        ("securepubads.g.doubleclick.net", 2), ("tpc.googlesyndication.com", 1.5), ("ajax.googleapis.com", 2),
    ),
    "cloudflare": (
        ("cdnjs.cloudflare.com", 3), ("www.cloudflare.com", 0.5), ("challenges.cloudflare.com", 1.5), ("discord.com", 0.5),
    ),
    "fastly": (
        ("github.com", 3), ("api.github.com", 1.5), ("avatars.githubusercontent.com", 1.5), ("raw.githubusercontent.com", 0.8),
        ("stackoverflow.com", 2), ("cdn.sstatic.net", 1.5), ("www.reddit.com", 1), ("www.theguardian.com", 1),
        ("www.nytimes.com", 1), ("pypi.org", 0.6), ("files.pythonhosted.org", 0.6),
    ),
    "akamai": (
        ("www.linkedin.com", 4), ("static.licdn.com", 3), ("www.apple.com", 0.8), ("www.adobe.com", 1),
        ("acrobat.adobe.com", 1.5), ("ims-na1.adobelogin.com", 1.5), ("www.reuters.com", 1), ("www.bbc.co.uk", 1.5),
    ),
    "amazon": (
        ("slack.com", 6), ("app.slack.com", 6), ("edgeapi.slack.com", 4), ("wss-primary.slack.com", 3),
        ("zoom.us", 3), ("us02web.zoom.us", 2.5), (f"{TENANT}.atlassian.net", 6), ("api.atlassian.com", 2),
        (f"{TENANT}.my.salesforce.com", 3), ("www.salesforce.com", 0.6), ("www.amazon.com", 1.5), ("m.media-amazon.com", 1.2),
        ("www.dropbox.com", 1), ("app.hubspot.com", 1), ("www.docusign.net", 0.8), ("app.docusign.com", 0.8),
        ("wd3.myworkday.com", 1.2), (f"{TENANT}.okta.com", 3), ("ok12static.oktacdn.com", 1.5), ("c.amazon-adsystem.com", 1),
        ("api.box.com", 0.5), ("www.weather.com", 0.5),
    ),
    "other": (
        ("en.wikipedia.org", 2), ("upload.wikimedia.org", 1.5), ("www.facebook.com", 0.6), ("static.xx.fbcdn.net", 0.5),
        ("duckduckgo.com", 0.8), ("www.ft.com", 0.4), ("ib.adnxs.com", 1), ("sb.scorecardresearch.com", 0.8),
        ("cdn.jsdelivr.net", 2), ("code.jquery.com", 1), ("unpkg.com", 0.5), ("use.fontawesome.com", 0.8),
    ),
}

# (name, weight, provider) looked up by the machine itself: telemetry, updates, certificate checks
MACHINE: tuple[tuple[str, float, str], ...] = (
    ("settings-win.data.microsoft.com", 6, "microsoft"), ("v10.events.data.microsoft.com", 10, "microsoft"),
    ("self.events.data.microsoft.com", 3, "microsoft"), ("watson.telemetry.microsoft.com", 0.5, "microsoft"),
    ("ctldl.windowsupdate.com", 3, "akamai"), ("fe3cr.delivery.mp.microsoft.com", 1.5, "microsoft"),
    ("slscr.update.microsoft.com", 1, "microsoft"), ("tlu.dl.delivery.mp.microsoft.com", 0.8, "akamai"),
    ("definitionupdates.microsoft.com", 1.5, "microsoft"), ("wdcp.microsoft.com", 2, "microsoft"),
    ("smartscreen-prod.microsoft.com", 2, "microsoft"), ("nav.smartscreen.microsoft.com", 1.5, "microsoft"),
    ("edge.microsoft.com", 2, "microsoft"), ("config.edge.skype.com", 2, "microsoft"), ("arc.msn.com", 1, "microsoft"),
    ("officeclient.microsoft.com", 1.5, "microsoft"), ("ecs.office.com", 1.5, "microsoft"),
    ("clients2.google.com", 1.5, "google"), ("update.googleapis.com", 1, "google"), ("safebrowsing.googleapis.com", 1.5, "google"),
    ("ocsp.digicert.com", 2, "akamai"), ("crl3.digicert.com", 0.6, "akamai"), ("ocsp.pki.goog", 1, "google"),
    ("r3.o.lencr.org", 0.8, "akamai"), ("ocsp.sectigo.com", 0.6, "cloudflare"), ("x1.c.lencr.org", 0.3, "akamai"),
    ("az416426.vo.msecnd.net", 0.6, "microsoft"), ("dc.services.visualstudio.com", 0.5, "microsoft"),
)

# names fetched over plain HTTP by machines (they appear in http.log): certificate and update checks
HTTP_MACHINE = {"ctldl.windowsupdate.com", "ocsp.digicert.com", "crl3.digicert.com", "ocsp.pki.goog", "r3.o.lencr.org",
                "ocsp.sectigo.com", "x1.c.lencr.org", "tlu.dl.delivery.mp.microsoft.com"}

_ALNUM = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
_HEX = np.array(list("0123456789abcdef"))


def cdn_name(rng: np.random.Generator) -> tuple[str, str]:
    """A random-looking CDN or cloud name and its provider (CloudFront, Akamai edge, Azure Front Door, Fastly)."""
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return "d" + "".join(rng.choice(_ALNUM, 13)) + ".cloudfront.net", "amazon"
    if kind == 1:
        return f"e{int(rng.integers(1000, 99999))}.{'abcdefg'[int(rng.integers(7))]}.akamaiedge.net", "akamai"
    if kind == 2:
        return "".join(rng.choice(_ALNUM[:26], 6)) + "-" + "".join(rng.choice(_HEX, 16)) + ".z01.azurefd.net", "microsoft"
    if kind == 3:
        return "".join(rng.choice(_HEX, 8)) + ".execute-api.eu-west-1.amazonaws.com", "amazon"
    return "".join(rng.choice(_ALNUM, 10)) + ".global.ssl.fastly.net", "fastly"


def browsing_table() -> tuple[list[str], np.ndarray, dict[str, str]]:
    """All browsing names, their probabilities, and each name's provider."""
    names, weights, provider = [], [], {}
    for prov, entries in BROWSING.items():
        for name, weight in entries:
            names.append(name)
            weights.append(weight)
            provider[name] = prov
    w = np.asarray(weights, dtype=float)
    return names, w / w.sum(), provider


def machine_table() -> tuple[list[str], np.ndarray, dict[str, str]]:
    """The machine-driven names, their probabilities, and each name's provider."""
    w = np.asarray([m[1] for m in MACHINE], dtype=float)
    return [m[0] for m in MACHINE], w / w.sum(), {m[0]: m[2] for m in MACHINE}
