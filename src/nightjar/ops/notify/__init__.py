"""Notifications: email (SMTP), Slack incoming webhooks and signed JSON webhooks, behind one sink registry.

`notify(message, settings)` sends a `Message` to every configured sink and returns one `Delivery` per
sink; it never raises because a server was down. Sinks register in `SINKS` (keys from class names);
`NullSink` sends nothing.

Example:
    >>> from nightjar.ops.settings import load_settings
    >>> notify(Message("k", "subject", "text"), load_settings(environ={}, use_default_path=False))
    []
"""

from nightjar.ops.notify.base import SINKS, Delivery, Message, NotifyError, NullSink, Sink, register_sink
from nightjar.ops.notify.dispatch import notify, selected_sinks, summary_line
from nightjar.ops.notify.slack import SlackSink
from nightjar.ops.notify.smtp import EmailSink
from nightjar.ops.notify.webhook import WebhookSink, sign, verify_signature

__all__ = ["SINKS", "Delivery", "EmailSink", "Message", "NotifyError", "NullSink", "Sink", "SlackSink", "WebhookSink",
           "notify", "register_sink", "selected_sinks", "sign", "summary_line", "verify_signature"]
