"""Slack incoming webhooks: a text fallback plus Block Kit blocks; backoff on 429 honouring Retry-After."""

from __future__ import annotations

import json
from typing import Any

from nightjar.ops.notify import http_post
from nightjar.ops.notify.base import Message, Sink, register_sink
from nightjar.ops.notify.retry import policy_from, with_retries

SECTION_LIMIT = 2900  # Slack refuses a section text over 3,000 characters
ICONS = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def slack_payload(message: Message) -> dict[str, Any]:
    """`{"text": ..., "blocks": [...]}`: a header, the text in a section (cut to Slack's limit), a context line."""
    body = message.text if len(message.text) <= SECTION_LIMIT else message.text[:SECTION_LIMIT] + "\n…(cut; full report attached to the email/webhook)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "```" + body + "```"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{ICONS.get(message.severity, '')} {message.severity} · key `{message.key}`"}]},
    ]
    return {"text": f"{message.subject}\n{message.text[:SECTION_LIMIT]}", "blocks": blocks}


@register_sink
class SlackSink(Sink):
    """Posts to `slack.webhook_url`."""

    @classmethod
    def enabled(cls, settings: Any) -> bool:
        return bool(settings["slack.webhook_url"])

    def send(self, message: Message) -> int:
        body = json.dumps(slack_payload(message)).encode("utf-8")
        url, timeout = self.settings["slack.webhook_url"], float(self.settings["notify.timeout"])
        headers = {"Content-Type": "application/json; charset=utf-8"}

        def attempt() -> None:
            http_post.post(url, body, headers, timeout)

        return with_retries(attempt, policy_from(self.settings))
