"""Single-use, short-lived passes for the live event stream, so no token travels in a URL.

A browser's EventSource cannot send an Authorization header, and a token in `?token=` ends up
in the server's access log, the browser's history and any proxy's log. So the page first POSTs
its token (as a Bearer header) for a pass: 32 random bytes, valid for `PASS_TTL_S` and for one
stream only, held in this process's memory (the stream must open on the process that issued
it). The pass names the token's digest, not the token; the open stream re-checks that digest
every `RECHECK_S` and ends when the token is revoked.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.auth.principal import Principal

PASS_TTL_S = 30.0
"""Long enough to open a stream right after asking, short enough to be useless once logged."""
RECHECK_S = 2.0
"""How often an open stream checks that its token is still valid (one indexed query)."""
MAX_OUTSTANDING = 10_000
"""Unused passes held at most; the oldest are forgotten first (a caller asking in a loop)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a redeemed pass stands for."""

    principal: Principal
    token_digest: str


@dataclass
class StreamPasses:
    ttl_s: float = PASS_TTL_S
    max_outstanding: int = MAX_OUTSTANDING
    clock: Callable[[], float] = time.monotonic
    _passes: dict[str, tuple[float, Grant]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, principal: Principal, token_digest: str) -> str:
        secret = "sp_" + secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._expire(now)
            while len(self._passes) >= self.max_outstanding:
                del self._passes[next(iter(self._passes))]
            self._passes[secret] = (now + self.ttl_s, Grant(principal, token_digest))
        return secret

    def redeem(self, secret: str) -> Grant | None:
        """The grant of a valid pass, used up by this call; None when unknown, used or old."""
        with self._lock:
            entry = self._passes.pop(secret, None)
        if entry is None or entry[0] < self.clock():
            return None
        return entry[1]

    def _expire(self, now: float) -> None:
        for secret in [s for s, (until, _) in self._passes.items() if until < now]:
            del self._passes[secret]
