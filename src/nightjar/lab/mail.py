"""The mail gateway's URL log (CSV: timestamp, recipient, sender, url) and the phishing wave.

Benign mail carries the links an office gets all day: SharePoint and Teams, Zoom invitations,
Jira, DocuSign, GitHub, newsletters with long click-tracking URLs (hard negatives for a URL model).
The phishing wave arrives on the first morning (Monday) at 09:47: a credential
page lure for most recipients and a macro-document lure for some. About a third click, within
minutes, at their desks: each click is an HTTP request in http.log (after a DNS look-up), and a
macro-document click hands over to a LotL chain (chains.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nightjar.lab.dns import Lookup
from nightjar.lab.domains import TENANT
from nightjar.lab.formats import stable_ip, write_csv
from nightjar.lab.network import UA_BROWSER, Http
from nightjar.lab.truth import Truth
from nightjar.lab.world import Host, World, iso, stream

MAIL_DOMAIN = "nightjar.lab"
CRED_HOST = "login-microsoftonline.account-verify-sso.top"
DOC_HOST = "docs-invoice-portal.com"
PHISH_SENDER = "Microsoft 365 <no-reply@m365-secure-notify.top>"
DOC_SENDER = "Accounts Payable <ap@invoice-portal-mail.com>"
EXTERNAL = (
    ("DocuSign <dse_na3@docusign.net>", "https://app.docusign.com/documents/details/{uuid}"),
    ("GitHub <notifications@github.com>", "https://github.com/nightjar-lab/{repo}/pull/{n}"),
    ("Jira <jira@nightjarlab.atlassian.net>", "https://nightjarlab.atlassian.net/browse/OPS-{n}?atlOrigin=eyJpIjoi{hex16}"),
    ("Zoom <no-reply@zoom.us>", "https://us02web.zoom.us/j/{digits}?pwd={alnum32}"),
    ("LinkedIn <messages-noreply@linkedin.com>", "https://www.linkedin.com/comm/feed/update/urn:li:activity:{digits}?trk=eml-{hex16}"),
    ("FT Newsletter <newsletters@ft.com>", "https://nightjarlab.us12.list-manage.com/track/click?u={hex25}&id={hex10}&e={hex10}"),
    ("Salesforce <noreply@salesforce.com>", "https://click.e.salesforce.com/?qs={hex64}"),
    ("Workday <workday@myworkday.com>", "https://wd3.myworkday.com/nightjarlab/d/task/2997$2151.htmld"),
    ("Microsoft <msonlineservicesteam@microsoftonline.com>", "https://go.microsoft.com/fwlink/?linkid={digits}"),
    ("Dropbox <no-reply@dropbox.com>", "https://www.dropbox.com/scl/fi/{alnum32}/Scan_{n}.pdf?rlkey={alnum32}&dl=0"),
)
INTERNAL = (
    "https://{tenant}.sharepoint.com/:w:/r/sites/{dept}/Shared%20Documents/Report_{n}.docx?d=w{hex32}&csf=1&web=1",
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{alnum32}%40thread.v2/0",
    "https://{tenant}-my.sharepoint.com/:x:/g/personal/{user}_nightjar_lab/E{alnum32}?e={alnum6}",
)


@dataclass
class Click:
    """A recipient who opened a lure: who, when, and whether it was the macro document."""

    host: Host
    ts: float
    url: str
    document: bool


def _fill(rng: np.random.Generator, template: str, host: Host) -> str:
    def s(alphabet: str, n: int) -> str:
        return "".join(rng.choice(list(alphabet), n))

    hexd, alnum = "0123456789abcdef", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return template.format(uuid=f"{s(hexd, 8)}-{s(hexd, 4)}-{s(hexd, 4)}-{s(hexd, 4)}-{s(hexd, 12)}",
                           repo=str(rng.choice(["billing-api", "web-portal", "infra"])), n=int(rng.integers(100, 9999)),
                           hex16=s(hexd, 16), hex25=s(hexd, 25), hex10=s(hexd, 10), hex32=s(hexd, 32), hex64=s(hexd, 64),
                           digits=s("0123456789", 11), alnum32=s(alnum, 32), alnum6=s(alnum, 6), tenant=TENANT,
                           dept=host.department.lower(), user=host.user.replace(".", "_"))


def mailbox(host: Host) -> str:
    return f"{host.user}@{MAIL_DOMAIN}"


def benign_mail(world: World) -> list[tuple[float, str, str, str]]:
    """(ts, recipient, sender, url) of the everyday mail."""
    rng = stream(world.config, "mail")
    rows = []
    people = world.workstations()
    for host in people:
        for t in world.office_times(rng, float(rng.uniform(1.5, 4.0)), weekend_share=0.1):
            if rng.random() < 0.35:
                colleague = people[int(rng.integers(len(people)))]
                sender, url = f"{colleague.user}@{MAIL_DOMAIN}", _fill(rng, INTERNAL[int(rng.integers(len(INTERNAL)))], colleague)
            else:
                sender, template = EXTERNAL[int(rng.integers(len(EXTERNAL)))]
                url = _fill(rng, template, host)
            rows.append((float(t), mailbox(host), sender, url))
    return rows


def phishing_wave(world: World, truth: Truth) -> tuple[list[tuple[float, str, str, str]], list[Click], list[Http], list[Lookup]]:
    """The wave: mail rows, clicks (macro-document ones first), their HTTP requests and DNS look-ups."""
    rng = stream(world.config, "phish")
    day = 0
    sent = world.start + day * 86400 + 9 * 3600 + 47 * 60
    present = [h for h in world.workstations() if (w := world.schedule[h.name][day]) and w.arrive < sent + 3600 < w.leave]
    present = present or world.workstations()
    n = max(4, int(round(len(present) * 0.55)))
    recipients = [present[i] for i in rng.permutation(len(present))[: min(n, len(present))]]
    rows, clicks, http, lookups = [], [], [], []
    for i, host in enumerate(recipients):
        document = i < max(2, len(recipients) // 3)
        token = "".join(rng.choice(list("0123456789abcdef"), 16))
        if document:
            url = f"http://{DOC_HOST}/files/Invoice_2026-0392.docm?id={token[:8]}"
            sender = DOC_SENDER
        else:
            url = f"http://{CRED_HOST}/owa/auth/logon.php?email={mailbox(host)}&token={token}"
            sender = PHISH_SENDER
        t = sent + rng.uniform(0, 240)
        rows.append((t, mailbox(host), sender, url))
        truth.add("url", "T1566.002", f"phishing mail to {mailbox(host)}", t, {"url": url, "recipient": mailbox(host), "where": "mail"})
        # the document lure gets opened by its first two recipients; the others click a third of the time
        if document and i < 2 or rng.random() < 0.33:
            work = world.schedule[host.name][day]
            click_ts = max(t, work.arrive if work else t) + float(rng.lognormal(np.log(300), 0.8))
            clicks.append(Click(host, click_ts, url, document))
    for click in clicks:
        hostname = click.url.split("/", 3)[2]
        ip = stable_ip(hostname, ("103.224", "45.83", "194.26"))
        tid = truth.add("url", "T1204.001", f"click by {click.host.short}", click.ts,
                        {"url": click.url, "source.ip": click.host.ip, "host.name": click.host.name, "where": "http"}).id
        lookups.append(Lookup(click.ts - 0.08, click.host.ip, hostname, "A", "NOERROR", (ip,), 300.0, "phish", tid))
        uri = "/" + click.url.split("/", 3)[3]
        mime = "application/vnd.ms-word.document.macroEnabled.12" if click.document else "text/html"
        http.append(Http(click.ts, click.host.ip, ip, hostname, uri, "GET", UA_BROWSER, 200,
                         int(rng.integers(40_000, 90_000)) if click.document else 5400, mime, attack=tid))
        if not click.document:  # the fake sign-in page pulls its look
            for k, res in enumerate(("/owa/auth/15.2/themes/resources/segoeui-semibold.woff", "/owa/auth/15.2/themes/resources/logo.png")):
                http.append(Http(click.ts + 0.3 + 0.2 * k, click.host.ip, ip, hostname, res, "GET", UA_BROWSER, 200,
                                 int(rng.integers(3000, 30000)), "image/png", referrer=click.url, attack=tid))
    return rows, sorted(clicks, key=lambda c: (not c.document, c.ts)), http, lookups


def write_mail_log(path: Path, rows: list[tuple[float, str, str, str]]) -> Path:
    """The gateway's CSV, in time order."""
    rows = sorted(rows)
    return write_csv(path, ("timestamp", "recipient", "sender", "url"), [(iso(t), r, s, u) for t, r, s, u in rows])
