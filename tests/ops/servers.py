"""Real servers on 127.0.0.1 for notification tests: an aiosmtpd SMTP server and a scripted HTTP server."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    """A TCP port nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command (test skipped without it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook name)
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_server(mode: str = "plain", cert: tuple[Path, Path] | None = None,
                credentials: tuple[str, str] | None = None) -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on 127.0.0.1: mode plain, starttls (required) or tls (implicit); optional AUTH."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox()
    kwargs: dict[str, Any] = {}
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        kwargs["ssl_context" if mode == "tls" else "tls_context"] = context
        if mode == "starttls":
            kwargs["require_starttls"] = True
    if credentials is not None:
        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            login = (auth_data.login.decode(), auth_data.password.decode())
            inbox.logins.append(login)
            return AuthResult(success=login == credentials)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@dataclass
class Recorded:
    """One request the HTTP server received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextmanager
def http_server(responses: list[tuple[int, dict[str, str]]]) -> Iterator[tuple[str, list[Recorded]]]:
    """An HTTP server answering POSTs with `responses` in turn (the last one repeats); yields (url, requests)."""
    requests: list[Recorded] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                requests.append(Recorded(self.path, dict(self.headers.items()), body))
                status, headers = responses[min(len(requests), len(responses)) - 1]
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            payload = b"ok" if status < 400 else b"no"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", requests
    finally:
        server.shutdown()
        server.server_close()
