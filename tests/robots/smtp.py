"""A local SMTP server (aiosmtpd) that keeps what it receives: plain, or STARTTLS with LOGIN /
PLAIN authentication required after TLS, on a self-signed certificate made with openssl."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.harness import free_port


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost/127.0.0.1 and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class SmtpServer:
    def __init__(self, *, tls_dir: Path | None = None, user: str = "", password: str = "") -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.user, self.password = user, password
        kwargs: dict[str, Any] = {}
        self.client_tls: ssl.SSLContext | None = None
        self.ca_file = None
        if tls_dir is not None:
            cert, key = self_signed(tls_dir)
            server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_ctx.load_cert_chain(cert, key)
            kwargs.update(tls_context=server_ctx, require_starttls=True)
            self.client_tls = ssl.create_default_context(cafile=str(cert))
            self.ca_file: Path | None = cert
        if user:
            kwargs.update(authenticator=self._auth, auth_required=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def _auth(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    @property
    def url(self) -> str:
        if self.user:
            scheme = "smtp+starttls" if self.client_tls else "smtp"
            return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
