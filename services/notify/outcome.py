"""What one delivery attempt came to: sent, retry (later, with backoff) or failed (for good)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

Status = Literal["sent", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    detail: str  # a short reason, safe to show (never the channel's URL or key)
    answer: str = ""  # the channel's own answer (body, SMTP reply), cut
    throttled: bool = False  # the channel said "too fast": wait longer before the next send


def from_http_error(e: httpx.HTTPError) -> Outcome:
    """A timeout or connection failure: retried."""
    return Outcome("retry", type(e).__name__)


def from_status(status: int, body: str) -> Outcome:
    """A non-200 HTTP answer: 5xx and 429 retried, other statuses failed."""
    if status >= 500 or status == 429:
        return Outcome("retry", f"HTTP {status}", body[:500], throttled=status == 429)
    if 200 <= status < 300:
        return Outcome("sent", f"HTTP {status}", body[:500])
    return Outcome("failed", f"HTTP {status}", body[:500])
