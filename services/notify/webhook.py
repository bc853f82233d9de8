"""Ticket notices POSTed to webhooks, signed with HMAC-SHA256, retried with backoff.

Each request carries `X-GridWatch-Timestamp` (Unix seconds) and `X-GridWatch-Signature:
sha256=<hex>`, the HMAC-SHA256 under the shared secret of `"{timestamp}.{body}"`: a receiver
recomputes it, compares in constant time and refuses stale timestamps (replays). Connection
errors, timeouts, 429 and 5xx are retried with exponential backoff; other 4xx are permanent.
A delivery that fails for good is counted and written to the `delivery_failures` table.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
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
EVENT_HEADER = "X-GridWatch-Event"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (shipped for tests and for Python receivers)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


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
        for attempt in range(1, self.attempts + 1):
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: ts,
                SIGNATURE_HEADER: sign(self.secret, ts, body),
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
