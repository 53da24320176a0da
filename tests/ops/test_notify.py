"""Notifications against real servers on 127.0.0.1: SMTP (aiosmtpd), Slack and webhook stand-ins (http.server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightjar import plots, report_html
from nightjar.ops.notify import SINKS, Message, NullSink, Sink, notify, register_sink, verify_signature
from nightjar.ops.notify.base import sink_key
from nightjar.ops.notify.state import NotifyState
from tests.ops.conftest import MakeSettings
from tests.ops.servers import free_port, http_server, make_cert, smtp_server

pytest.importorskip("aiosmtpd")

DATA = {"model": "dga@1", "events": 1200, "alerts": 3, "tripped": ["psi"]}


def message(key: str = "daily:2026-11-25") -> Message:
    svg = plots.histogram({"scores": [0.1, 0.2, 0.2, 0.9]}, bins=5, title="scores")
    html = report_html.render("base.html", title="Nightjar daily") .replace("</h1>", "</h1>" + str(svg), 1)
    return Message(key, "daily report: 1 check tripped", "dga@1: PSI 0.31 > 0.2", html, DATA, "warning")


def test_email_has_text_html_with_plot_and_json_attachment(make_settings: MakeSettings) -> None:
    with smtp_server("plain") as (port, inbox):
        settings = make_settings(**{"email.smtp_host": "127.0.0.1", "email.smtp_port": port,
                                    "email.to": ["soc@example.org", "ml@example.org"]})
        [delivery] = notify(message(), settings)
    assert (delivery.sink, delivery.status, delivery.attempts) == ("email", "sent", 1)
    [mail] = inbox.messages
    assert mail["Subject"] == "[nightjar] daily report: 1 check tripped"
    assert sorted(inbox.envelopes[0].rcpt_tos) == ["ml@example.org", "soc@example.org"]
    assert mail.get_body(("plain",)).get_content().strip() == "dga@1: PSI 0.31 > 0.2"
    html = mail.get_body(("html",)).get_content()
    assert "<svg" in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "report.json" and attachment.get_content_type() == "application/json"
    assert json.loads(attachment.get_content()) == DATA


def test_email_starttls_with_login_from_the_environment(make_settings: MakeSettings, tmp_path: Path) -> None:
    cert = make_cert(tmp_path)
    env = {"NIGHTJAR_SMTP_USER": "alice", "NIGHTJAR_SMTP_PASSWORD": "s3cret"}
    with smtp_server("starttls", cert, credentials=("alice", "s3cret")) as (port, inbox):
        settings = make_settings(env, **{"email.smtp_host": "127.0.0.1", "email.smtp_port": port, "email.to": ["a@b.c"],
                                         "email.security": "starttls", "email.ca_file": str(cert[0])})
        [delivery] = notify(message(), settings)
    assert delivery.status == "sent", delivery
    assert inbox.logins == [("alice", "s3cret")] and len(inbox.messages) == 1


def test_email_implicit_tls(make_settings: MakeSettings, tmp_path: Path) -> None:
    cert = make_cert(tmp_path)
    with smtp_server("tls", cert) as (port, inbox):
        settings = make_settings(**{"email.smtp_host": "127.0.0.1", "email.smtp_port": port, "email.to": ["a@b.c"],
                                    "email.security": "tls", "email.ca_file": str(cert[0])})
        [delivery] = notify(message(), settings)
    assert delivery.status == "sent", delivery
    assert len(inbox.messages) == 1


def test_untrusted_certificate_is_refused_without_retry(make_settings: MakeSettings, tmp_path: Path, sleeps: list[float]) -> None:
    cert = make_cert(tmp_path)
    with smtp_server("tls", cert) as (port, inbox):
        settings = make_settings(**{"email.smtp_host": "127.0.0.1", "email.smtp_port": port, "email.to": ["a@b.c"],
                                    "email.security": "tls"})
        [delivery] = notify(message(), settings)
    assert delivery.status == "failed" and "certificate" in delivery.error and sleeps == []
    assert inbox.messages == []


def test_credentials_never_go_over_a_plain_connection(make_settings: MakeSettings) -> None:
    with smtp_server("plain") as (port, inbox):
        settings = make_settings({"NIGHTJAR_SMTP_PASSWORD": "pw"}, **{"email.smtp_host": "127.0.0.1", "email.smtp_port": port,
                                                                      "email.to": ["a@b.c"]})
        [delivery] = notify(message(), settings)
    assert delivery.status == "failed" and "unencrypted" in delivery.error and inbox.messages == []


def test_unreachable_smtp_server_is_retried_then_reported(make_settings: MakeSettings, sleeps: list[float]) -> None:
    settings = make_settings(**{"email.smtp_host": "127.0.0.1", "email.smtp_port": free_port(), "email.to": ["a@b.c"]})
    [delivery] = notify(message(), settings)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "cannot deliver" in delivery.error and "gave up after 3 attempts" in delivery.error
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_slack_backs_off_on_429_honouring_retry_after(make_settings: MakeSettings, sleeps: list[float]) -> None:
    with http_server([(429, {"Retry-After": "7"}), (200, {})]) as (url, requests):
        [delivery] = notify(message(), make_settings(**{"slack.webhook_url": url}))
    assert (delivery.sink, delivery.status, delivery.attempts) == ("slack", "sent", 2)
    assert sleeps == [7.0]
    payload = requests[-1].json()
    assert "PSI 0.31" in payload["text"]
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert payload["blocks"][0]["text"]["text"] == "daily report: 1 check tripped"


def test_retry_after_is_capped_by_max_wait(make_settings: MakeSettings, sleeps: list[float]) -> None:
    with http_server([(429, {"Retry-After": "3600"}), (200, {})]) as (url, _):
        [delivery] = notify(message(), make_settings(**{"slack.webhook_url": url, "notify.max_wait": 2.0}))
    assert delivery.status == "sent" and sleeps == [2.0]


def test_slack_500_is_retried_then_reported(make_settings: MakeSettings, sleeps: list[float]) -> None:
    with http_server([(500, {})]) as (url, requests):
        [delivery] = notify(message(), make_settings(**{"slack.webhook_url": url}))
    assert (delivery.status, delivery.attempts, len(requests)) == ("failed", 3, 3)
    assert "HTTP 500" in delivery.error and sleeps == [0.5, 1.0]


def test_slack_404_is_not_retried(make_settings: MakeSettings, sleeps: list[float]) -> None:
    with http_server([(404, {})]) as (url, requests):
        [delivery] = notify(message(), make_settings(**{"slack.webhook_url": url}))
    assert (delivery.status, len(requests), sleeps) == ("failed", 1, [])


def test_webhook_is_signed_with_hmac_and_a_timestamp(make_settings: MakeSettings) -> None:
    env = {"NIGHTJAR_WEBHOOK_SECRET": "hook-key"}
    with http_server([(500, {}), (204, {})]) as (url, requests):
        [delivery] = notify(message(), make_settings(env, **{"webhook.url": url, "notify.backoff": 0.0}))
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    last = requests[-1]
    signature, timestamp = last.headers["X-Nightjar-Signature"], last.headers["X-Nightjar-Timestamp"]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature(last.body, "hook-key", timestamp, signature)
    assert not verify_signature(last.body + b" ", "hook-key", timestamp, signature)  # tampered body
    assert not verify_signature(last.body, "other-key", timestamp, signature)
    assert not verify_signature(last.body, "hook-key", timestamp, signature, now=int(timestamp) + 3600)  # replay
    assert last.json()["report"] == DATA and last.json()["key"] == "daily:2026-11-25"


def test_webhook_without_a_secret_sends_nothing(make_settings: MakeSettings) -> None:
    with http_server([(200, {})]) as (url, requests):
        [delivery] = notify(message(), make_settings(**{"webhook.url": url}))
    assert delivery.status == "failed" and "NIGHTJAR_WEBHOOK_SECRET" in delivery.error and requests == []


def test_same_key_is_not_sent_twice_within_the_window(make_settings: MakeSettings, tmp_path: Path) -> None:
    clock = [1_000_000.0]
    state = NotifyState(tmp_path / "state.sqlite", clock=lambda: clock[0])
    with http_server([(200, {})]) as (url, requests):
        settings = make_settings(**{"slack.webhook_url": url, "notify.dedupe_window": "1h"})
        first = notify(message("k1"), settings, state)
        second = notify(message("k1"), settings, state)
        clock[0] += 3601
        third = notify(message("k1"), settings, state)
    assert [d[0].status for d in (first, second, third)] == ["sent", "deduped", "sent"]
    assert len(requests) == 2


def test_rate_limit_per_sink_per_hour(make_settings: MakeSettings) -> None:
    with http_server([(200, {})]) as (url, requests):
        settings = make_settings(**{"slack.webhook_url": url, "notify.max_per_hour": 2})
        statuses = [notify(message(f"k{i}"), settings)[0].status for i in range(3)]
    assert statuses == ["sent", "sent", "rate-limited"] and len(requests) == 2


def test_a_failed_send_is_not_remembered_so_the_next_run_retries(make_settings: MakeSettings, sleeps: list[float]) -> None:
    with http_server([(500, {}), (500, {}), (500, {}), (200, {})]) as (url, _):
        settings = make_settings(**{"slack.webhook_url": url})
        assert notify(message(), settings)[0].status == "failed"
        assert notify(message(), settings)[0].status == "sent"


def test_sinks_register_through_one_dict_with_keys_from_class_names(make_settings: MakeSettings) -> None:
    assert {"email", "slack", "webhook", "null"} <= set(SINKS)
    assert SINKS["null"] is NullSink and sink_key(type("MyTeamsSink", (), {})) == "my_teams"
    got: list[Message] = []

    @register_sink
    class RecordingSink(Sink):
        @classmethod
        def enabled(cls, settings: object) -> bool:
            return True

        def send(self, msg: Message) -> int:
            got.append(msg)
            return 1

    try:
        deliveries = notify(message(), make_settings(**{"notify.sinks": ["recording", "null"]}))
    finally:
        del SINKS["recording"]
    assert [(d.sink, d.status) for d in deliveries] == [("recording", "sent"), ("null", "sent")] and len(got) == 1


def test_unknown_sink_name_is_reported_not_raised(make_settings: MakeSettings) -> None:
    [delivery] = notify(message(), make_settings(**{"notify.sinks": ["pager"]}))
    assert delivery.status == "failed" and "unknown sink" in delivery.error and "slack" in delivery.error


def test_no_destination_means_no_delivery(make_settings: MakeSettings) -> None:
    assert notify(message(), make_settings()) == []
    [skipped] = notify(message(), make_settings(**{"notify.sinks": ["slack"]}))
    assert skipped.status == "skipped"
