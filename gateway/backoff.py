"""Exponential backoff with full jitter, for every retry loop of the gateway (MQTT reconnects,
InfluxDB writes, the spool drainer)."""

from __future__ import annotations

import random


class Backoff:
    """A random delay in [base, min(cap, base·2ⁿ)], so a fleet of gateways does not retry in
    lock-step after a broker or InfluxDB restart."""

    def __init__(self, base: float = 0.2, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempts)
        self.attempts = min(self.attempts + 1, 32)
        return random.uniform(self.base, max(ceiling, self.base))  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.attempts = 0
