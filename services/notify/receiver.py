"""What a webhook receiver does with a GridWatch delivery: shipped for Python receivers (and the
tests), and the reference for receivers in other languages.

A request is taken once, fresh, and only if its signature is right:

1. the signature over `"{timestamp}.{delivery}.{body}"` matches (constant-time compare);
2. the timestamp is within `tolerance_s` of the receiver's clock (a captured request cannot be
   replayed later);
3. the delivery id has not been taken before (a captured request cannot be replayed inside the
   window either, and a sender's retry of a delivery that did arrive is recognised: answer it
   2xx without acting again — the sender delivers at least once).

Ids are remembered for `remember_s` (longer than the sender retries, so a late retry is still
known), at most `max_ids` of them, oldest forgotten first.
"""

from __future__ import annotations

import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from services.notify.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

TOLERANCE_S = 300.0
"""Five minutes either way: clocks of NTP-synchronised hosts agree far better than that."""
REMEMBER_S = 86_400.0
MAX_IDS = 100_000
_DELIVERY = re.compile(r"^[0-9a-f]{32}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class WebhookRejected(ValueError):
    """Not a genuine, fresh delivery: answer 401 and do nothing. The message says why."""


class WebhookReplayed(WebhookRejected):
    """A genuine delivery taken before (a retry or a replay): answer 2xx, do nothing again."""

    def __init__(self, delivery: str) -> None:
        super().__init__(f"delivery {delivery} was taken already")
        self.delivery = delivery


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for k, v in headers.items():
        if k.lower() == wanted:
            return v
    raise WebhookRejected(f"missing header {name}")


@dataclass
class WebhookVerifier:
    secret: str
    tolerance_s: float = TOLERANCE_S
    remember_s: float = REMEMBER_S
    max_ids: int = MAX_IDS
    clock: Callable[[], float] = time.time
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def check(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery id of a genuine, fresh, first-seen delivery; else WebhookRejected
        (WebhookReplayed for a genuine one seen before)."""
        ts = _header(headers, TIMESTAMP_HEADER)
        delivery = _header(headers, DELIVERY_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if not _TIMESTAMP.match(ts) or not _DELIVERY.match(delivery):
            raise WebhookRejected("malformed timestamp or delivery id")
        if not hmac.compare_digest(sign(self.secret, ts, delivery, body), signature):
            raise WebhookRejected("bad signature")
        now = self.clock()
        if abs(now - int(ts)) > self.tolerance_s:
            raise WebhookRejected(f"timestamp {ts} is more than {self.tolerance_s:g} s off")
        self._forget(now)
        if delivery in self._seen:
            raise WebhookReplayed(delivery)
        self._seen[delivery] = now
        return delivery

    def _forget(self, now: float) -> None:
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if at > now - self.remember_s and len(self._seen) < self.max_ids:
                return
            del self._seen[oldest]
