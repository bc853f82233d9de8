"""Ticket notices POSTed to webhooks, signed with HMAC-SHA256, retried with backoff.

Each request carries `X-GridWatch-Timestamp` (Unix seconds, fresh on every attempt),
`X-GridWatch-Delivery` (a random id, the same on every retry of one delivery) and
`X-GridWatch-Signature: sha256=<hex>`, the HMAC-SHA256 under the shared secret of
`"{timestamp}.{delivery}.{body}"`. A receiver (services.notify.receiver) recomputes it, compares
in constant time, refuses a timestamp outside its freshness window and a delivery id it has
already taken: a captured request cannot be replayed, and a retry of a delivery that did land
(at-least-once) is recognised. Connection errors, timeouts, 429 and 5xx are retried with
exponential backoff; other 4xx are permanent. A delivery that fails for good is counted and
written to the `delivery_failures` table.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.db.models import DeliveryFailure
from services.tickets.schemas import Notice

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-GridWatch-Signature"
TIMESTAMP_HEADER = "X-GridWatch-Timestamp"
DELIVERY_HEADER = "X-GridWatch-Delivery"
EVENT_HEADER = "X-GridWatch-Event"


def sign(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    """The signature header value for delivery `delivery` of `body`, sent at `timestamp`."""
    msg = timestamp.encode("ascii") + b"." + delivery.encode("ascii") + b"." + body
    mac = hmac.new(secret.encode("utf-8"), msg, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        *,
        engine: Engine | None = None,
        attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("webhooks need a signing secret")
        self.urls = list(urls)
        self.secret = secret
        self.engine = engine
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self.sent = 0
        self.retries = 0
        self.failed = 0

    async def send(self, notice: Notice) -> None:
        body = notice.model_dump_json().encode("utf-8")
        await asyncio.gather(*(self._deliver(url, notice, body) for url in self.urls))

    async def _deliver(self, url: str, notice: Notice, body: bytes) -> None:
        error = ""
        delivery = uuid.uuid4().hex
        for attempt in range(1, self.attempts + 1):
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: ts,
                DELIVERY_HEADER: delivery,
                SIGNATURE_HEADER: sign(self.secret, ts, delivery, body),
                EVENT_HEADER: notice.event,
            }
            try:
                r = await self._http.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                error, retry = f"{type(e).__name__}: {e}", True
            else:
                if r.is_success:
                    self.sent += 1
                    return
                error = f"HTTP {r.status_code}"
                retry = r.status_code == 429 or r.status_code >= 500
            if not retry or attempt == self.attempts:
                break
            self.retries += 1
            await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        self.failed += 1
        log.warning("webhook %s failed for ticket %s: %s", url, notice.ticket.id, error)
        await asyncio.to_thread(self._record, url, notice, attempt, error)

    def _record(self, url: str, notice: Notice, attempts: int, error: str) -> None:
        if self.engine is None:
            return
        try:
            with Session(self.engine) as s, s.begin():
                s.add(
                    DeliveryFailure(
                        url=url[:500],
                        ticket_id=notice.ticket.id,
                        event=notice.event,
                        attempts=attempts,
                        error=error[:1000],
                        failed_at_ns=time.time_ns(),
                    )
                )
        except SQLAlchemyError as e:
            log.warning("cannot record the webhook failure: %s", e)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()
