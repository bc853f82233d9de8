"""Ticket notices as MQTT messages on `gridwatch/tickets/{grid_id}` (contract §2), QoS 1.

The JSON is the ticket event: `{"event": "opened", "ticket": {...}}`, the same ticket schema
as the API. A publish that fails is retried once on a fresh connection, then counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import aiomqtt

from domain.topics import tickets
from services.tickets.schemas import Notice

log = logging.getLogger(__name__)


class MqttChannel:
    name = "mqtt"

    def __init__(self, url: str, client_id: str = "", timeout_s: float = 10.0) -> None:
        u = urlsplit(url)
        if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"not an MQTT URL: {url!r} (mqtt://host:port)")
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (8883 if u.scheme in ("mqtts", "ssl") else 1883)
        self.username = u.username
        self.password = u.password
        self.tls = u.scheme in ("mqtts", "ssl")
        self.client_id = client_id
        self.timeout_s = timeout_s
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self.sent = 0
        self.failed = 0

    def _new_client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id or None,
            timeout=self.timeout_s,
            tls_params=aiomqtt.TLSParameters() if self.tls else None,
        )

    async def _connected(self) -> aiomqtt.Client:
        if self._client is None:
            client = self._new_client()
            await client.__aenter__()
            self._client = client
        return self._client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def send(self, notice: Notice) -> None:
        topic = tickets(notice.ticket.grid)
        payload = notice.model_dump_json().encode("utf-8")
        async with self._lock:
            for attempt in (1, 2):
                try:
                    client = await self._connected()
                    await client.publish(topic, payload, qos=1)
                except aiomqtt.MqttError as e:
                    await self._drop()
                    if attempt == 2:
                        self.failed += 1
                        log.warning("ticket notice to %s not published: %s", topic, e)
                    continue
                self.sent += 1
                return

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._drop()
