"""Things that go wrong with the sensor rather than the infrastructure (domain.md §3, failure
modes): biofouling drift, stuck values, single-sample spikes, dropouts with a burst of cached
readings on reconnect, clock skew, duplicate and out-of-order delivery, a battery that gives
out, malformed payloads, a submerged ultrasonic level sensor, a sequence counter reset.

A fault belongs to one sensor and is active from `at` for `duration` (or to the end), in
seconds after the scenario start. The device (device.py) applies them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.duration import Duration
from domain.ids import Id


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor: Id
    at: Duration = 0.0
    duration: Duration | None = None

    def active(self, rel: float) -> bool:
        return rel >= self.at and (self.duration is None or rel < self.at + self.duration)

    def days_in(self, rel: float) -> float:
        return max(0.0, rel - self.at) / 86_400.0


class Drift(_Fault):
    """Biofouling: the reading creeps by `per_day` and its daily swing shrinks."""

    type: Literal["drift"]
    metric: str
    per_day: float = 0.0
    swing_loss_per_day: float = Field(default=0.1, ge=0, le=1)


class Stuck(_Fault):
    """The named metrics (all when empty) repeat the value they had when the fault began."""

    type: Literal["stuck"]
    metrics: list[str] = Field(default_factory=list)


class Spike(_Fault):
    """Single-sample spikes (bubbles on an optical sensor), about one per `every`."""

    type: Literal["spike"]
    metric: str
    size: float
    every: Duration = 6 * 3600.0


class Dropout(_Fault):
    """No connection: nothing is sent; with `cached` the readings go out as batches on
    reconnect."""

    type: Literal["dropout"]
    cached: bool = True


class ClockSkew(_Fault):
    """The device clock is wrong after a battery swap: restarted at 2000-01-01, or far ahead."""

    type: Literal["clock_skew"]
    to: Literal["y2000", "ahead"] = "y2000"
    ahead: Duration = 2 * 365 * 86_400.0


class Duplicate(_Fault):
    """Messages sent twice (a retry after a lost acknowledgement)."""

    type: Literal["duplicate"]
    probability: float = Field(default=0.3, gt=0, le=1)


class OutOfOrder(_Fault):
    """A message held back and delivered after the next one."""

    type: Literal["out_of_order"]
    probability: float = Field(default=0.3, gt=0, le=1)


class Battery(_Fault):
    """A primary cell past its knee: it held 3.6 V for years and now falls, faster each day."""

    type: Literal["battery"]
    per_day: float = Field(default=0.05, ge=0)
    accel: float = Field(default=0.01, ge=0)

    def volts(self, rel: float) -> float:
        d = self.days_in(rel)
        return 3.6 - self.per_day * d - self.accel * d * d


class Malformed(_Fault):
    """Some payloads are garbage: truncated JSON, binary noise, values of the wrong type."""

    type: Literal["malformed"]
    probability: float = Field(default=0.1, gt=0, le=1)


class Submerged(_Fault):
    """An ultrasonic level sensor under water reads "empty" exactly when the manhole
    surcharges."""

    type: Literal["submerged"]


class SeqReset(_Fault):
    """The sequence counter restarts at 0 (a reboot), so numbers repeat."""

    type: Literal["seq_reset"]


Fault = Annotated[
    Drift
    | Stuck
    | Spike
    | Dropout
    | ClockSkew
    | Duplicate
    | OutOfOrder
    | Battery
    | Malformed
    | Submerged
    | SeqReset,
    Field(discriminator="type"),
]

Y2000 = 946_684_800.0
