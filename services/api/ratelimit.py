"""A per-person rate limit for what people write into tickets (comments).

A comment is stored forever and shown to everyone on the ticket, so a crew token — lost,
scripted or just a stuck button — must not be able to write thousands of them. The limit is a
sliding window per token name (one name per person), kept in this API process: several API
processes each allow the limit (see docs/decisions.md).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

COMMENTS_PER_WINDOW = 10
WINDOW_S = 60.0


class RateLimited(Exception):
    """Too many actions in the window; `retry_after_s` until the next one is allowed."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(f"too many {what}: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass
class RateLimit:
    """At most `count` actions per `window_s` seconds for each key."""

    what: str = "comments"
    count: int = COMMENTS_PER_WINDOW
    window_s: float = WINDOW_S
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def take(self, key: str) -> None:
        """Count one action by `key`, or raise RateLimited (counting nothing)."""
        now = self.clock()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if len(seen) >= self.count:
            raise RateLimited(self.what, max(1, math.ceil(seen[0] + self.window_s - now)))
        seen.append(now)
        if len(self._seen) > 10_000:  # forget the quiet ones; keys are token names
            self._forget(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, q in self._seen.items() if not q or q[-1] <= now - self.window_s]:
            del self._seen[key]
