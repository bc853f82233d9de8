"""E-mail notices over SMTP (contract §8): `GRIDWATCH_SMTP_URL` is `smtp://host:25`,
`smtp+starttls://user:pass@host:587` or `smtps://user:pass@host:465`; the sender is
`GRIDWATCH_SMTP_FROM`. Each message has a text and an HTML part. The standard library's smtplib
runs in a worker thread (one connection per message: notices are few and grouped).

Answers: a 5xx reply (a refused recipient, a refused login) is failed; a 4xx reply and a
connection that cannot be made or breaks are retried.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from domain.channels import ChannelSpec
from services.notify.message import Message
from services.notify.outcome import Outcome


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    mode: str  # plain | starttls | tls
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        u = urlsplit(url)
        modes = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
        if u.scheme not in modes or not u.hostname:
            raise ValueError(
                "an SMTP URL is smtp://host:25, smtp+starttls://user:pass@host:587 "
                "or smtps://user:pass@host:465"
            )
        mode = modes[u.scheme]
        default = {"plain": 25, "starttls": 587, "tls": 465}[mode]
        return cls(
            host=u.hostname,
            port=u.port or default,
            mode=mode,
            user=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
        )


def compose(m: Message, sender: str, to: list[str]) -> EmailMessage:
    """The e-mail of `m`: subject = title, a text part and an HTML part with links."""
    mail = EmailMessage()
    mail["Subject"] = m.title
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail.set_content(m.text + "\n")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in m.lines)
    links = "".join(
        f'<li><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></li>'
        for label, url in m.links
    )
    body = (
        f"<html><body><h3>{html.escape(m.title)}</h3><ul>{items}</ul>"
        + (f"<ul>{links}</ul>" if links else "")
        + "</body></html>"
    )
    mail.add_alternative(body, subtype="html")
    return mail


class EmailSender:
    def __init__(
        self,
        spec: ChannelSpec,
        server: SmtpServer | None,
        sender: str,
        timeout_s: float = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.spec = spec
        self.server = server
        self.sender = sender
        self.timeout_s = timeout_s
        self.tls = tls  # tests trust their own certificate; None: the system's trust store

    async def send(self, m: Message) -> Outcome:
        if self.server is None:
            return Outcome("failed", "no mail server: set GRIDWATCH_SMTP_URL")
        mail = compose(m, self.sender, self.spec.to)
        return await asyncio.to_thread(self._send, self.server, mail)

    def _send(self, srv: SmtpServer, mail: EmailMessage) -> Outcome:
        ctx = self.tls or ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if srv.mode == "tls":
                smtp = smtplib.SMTP_SSL(srv.host, srv.port, timeout=self.timeout_s, context=ctx)
            else:
                smtp = smtplib.SMTP(srv.host, srv.port, timeout=self.timeout_s)
            with smtp:
                if srv.mode == "starttls":
                    smtp.starttls(context=ctx)
                if srv.user is not None:
                    smtp.login(srv.user, srv.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            return Outcome("failed", "recipients refused", str(e.recipients)[:500])
        except smtplib.SMTPResponseException as e:
            err = e.smtp_error
            reply = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            if e.smtp_code >= 500:
                return Outcome("failed", f"SMTP {e.smtp_code}", reply[:500])
            return Outcome("retry", f"SMTP {e.smtp_code}", reply[:500])
        except (OSError, smtplib.SMTPException) as e:
            return Outcome("retry", type(e).__name__, str(e)[:500])
        if refused:
            return Outcome("sent", "sent, some recipients refused", str(refused)[:500])
        return Outcome("sent", "ok", "250 accepted")
