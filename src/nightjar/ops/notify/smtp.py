"""Email over SMTP: STARTTLS or implicit TLS, credentials only from the environment.

The message is multipart: a text part, a small self-contained HTML part (inline SVG plots, no
external resources) when the report has one, and the report attached as JSON. Certificates are
verified (`email.ca_file` adds a private CA); credentials (NIGHTJAR_SMTP_USER / NIGHTJAR_SMTP_PASSWORD)
are refused over an unencrypted connection.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from nightjar.ops.notify.base import Message, PermanentError, Sink, register_sink
from nightjar.ops.notify.retry import TransientError, policy_from, with_retries

USER_ENV, PASSWORD_ENV = "NIGHTJAR_SMTP_USER", "NIGHTJAR_SMTP_PASSWORD"


def build_email(message: Message, sender: str, recipients: list[str], prefix: str = "", attach_json: bool = True) -> EmailMessage:
    """The MIME message: text, HTML alternative (if any), JSON attachment (if asked and there is data)."""
    mail = EmailMessage()
    mail["Subject"] = f"{prefix} {message.subject}".strip()
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "nightjar")
    mail["X-Nightjar-Key"] = message.key
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    if attach_json and message.data:
        data = json.dumps(message.data, indent=2, sort_keys=True, default=str).encode("utf-8")
        mail.add_attachment(data, maintype="application", subtype="json", filename=message.attachment_name)
    return mail


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """A verifying TLS context (system CAs plus `ca_file` when given)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


@register_sink
class EmailSink(Sink):
    """Sends to `email.to` through `email.smtp_host:email.smtp_port`."""

    @classmethod
    def enabled(cls, settings: Any) -> bool:
        return bool(settings["email.smtp_host"] and settings["email.to"])

    def send(self, message: Message) -> int:
        s = self.settings
        user, password = s.secret(USER_ENV), s.secret(PASSWORD_ENV)
        if (user or password) and s["email.security"] == "none":
            raise PermanentError("SMTP credentials are set but email.security is 'none': refusing to send them unencrypted")
        mail = build_email(message, s["email.from"], list(s["email.to"]), s["email.subject_prefix"], bool(s["email.attach_json"]))
        return with_retries(lambda: self._deliver(mail, user, password), policy_from(s))

    def _deliver(self, mail: EmailMessage, user: str, password: str) -> None:
        s = self.settings
        host, port, timeout = s["email.smtp_host"], int(s["email.smtp_port"]), float(s["notify.timeout"])
        where = f"SMTP server {host}:{port}"
        try:
            context = tls_context(s["email.ca_file"])
            if s["email.security"] == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            with client:
                client.ehlo()
                if s["email.security"] == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if user or password:
                    client.login(user, password)
                client.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"{where} refused the login ({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"{where}: {exc} (check email.security)") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"{where} refused the recipients: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            text = f"{where} answered {exc.smtp_code} {exc.smtp_error.decode('utf-8', 'replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
            if 400 <= exc.smtp_code < 500:
                raise TransientError(text) from None
            raise PermanentError(text) from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"{where}: certificate not trusted ({exc.verify_message}); set email.ca_file for a private CA") from None
        except (smtplib.SMTPException, ssl.SSLError, socket.timeout, OSError) as exc:
            raise TransientError(f"cannot deliver through {where}: {exc or type(exc).__name__}") from None
