"""Every channel type behind one interface: `Sender.send(message) -> Outcome`, one attempt, never
raising for a delivery problem. Retries, grouping, rate limits and recording are the channel
worker's (services.notify.notifier), the same for all six types.

MQTT and webhook channels take one notice per message (their receivers are programs that want
the ticket event as JSON, the same `{"event": ..., "ticket": ...}` as the hub's own MQTT events
and the webhooks of `GRIDWATCH_WEBHOOK_URLS`); the robots and e-mail take groups.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import uuid
from typing import Protocol
from urllib.parse import urlsplit

import aiomqtt
import httpx

from domain.channels import ChannelSpec, ChannelType
from domain.topics import tickets
from services.notify.email import EmailSender, SmtpServer
from services.notify.message import Message
from services.notify.outcome import Outcome, from_http_error, from_status
from services.notify.robots import RobotSender
from services.notify.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

SINGLE = frozenset({ChannelType.MQTT, ChannelType.WEBHOOK})
"""Types that take one notice per message (no grouping)."""


class Sender(Protocol):
    spec: ChannelSpec

    async def send(self, m: Message) -> Outcome: ...


class WebhookSender:
    """One signed POST (services.notify.webhook's headers) per notice."""

    def __init__(self, spec: ChannelSpec, http: httpx.AsyncClient) -> None:
        self.spec = spec
        self.http = http

    async def send(self, m: Message) -> Outcome:
        item = m.items[0]
        body = (item.notice or '{"event": "test"}').encode("utf-8")
        ts = str(int(time.time()))
        delivery = uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            DELIVERY_HEADER: delivery,
            SIGNATURE_HEADER: sign(self.spec.secret, ts, delivery, body),
            EVENT_HEADER: item.event,
        }
        try:
            r = await self.http.post(self.spec.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            return from_http_error(e)
        return from_status(r.status_code, r.text)


class MqttSender:
    """Publishes the notice on `gridwatch/tickets/{grid}` of the channel's broker, QoS 1."""

    def __init__(self, spec: ChannelSpec, timeout_s: float = 10.0) -> None:
        u = urlsplit(spec.url)
        self.spec = spec
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (8883 if u.scheme in ("mqtts", "ssl") else 1883)
        self.username = u.username
        self.password = u.password
        self.tls = u.scheme in ("mqtts", "ssl")
        self.timeout_s = timeout_s

    async def send(self, m: Message) -> Outcome:
        item = m.items[0]
        topic = tickets(item.grid_id or "test")
        payload = (item.notice or '{"event": "test"}').encode("utf-8")
        try:
            async with aiomqtt.Client(
                self.host,
                self.port,
                username=self.username,
                password=self.password,
                identifier=f"gridwatch-notify-{uuid.uuid4().hex[:8]}",
                timeout=self.timeout_s,
                tls_params=aiomqtt.TLSParameters() if self.tls else None,
            ) as client:
                await client.publish(topic, payload, qos=1)
        except aiomqtt.MqttError as e:
            return Outcome("retry", type(e).__name__, str(e)[:500])
        return Outcome("sent", "published", topic)


class Senders:
    """Builds and owns the senders (one HTTP client for all robots and webhooks)."""

    def __init__(
        self,
        smtp_url: str | None,
        smtp_from: str,
        timeout_s: float = 10.0,
        smtp_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.smtp = SmtpServer.parse(smtp_url) if smtp_url else None
        self.smtp_from = smtp_from
        self.timeout_s = timeout_s
        self.smtp_tls = smtp_tls
        self.http = httpx.AsyncClient(timeout=timeout_s)

    def of(self, spec: ChannelSpec) -> Sender:
        if spec.type in (ChannelType.WECOM, ChannelType.DINGTALK, ChannelType.FEISHU):
            return RobotSender(spec, self.http)
        if spec.type is ChannelType.EMAIL:
            return EmailSender(spec, self.smtp, self.smtp_from, self.timeout_s, self.smtp_tls)
        if spec.type is ChannelType.WEBHOOK:
            return WebhookSender(spec, self.http)
        return MqttSender(spec, self.timeout_s)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.http.aclose()
