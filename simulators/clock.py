"""The two clocks of a simulation: real (wall) time, and simulated time that runs `speed`×
faster from `sim_start`. Readings are stamped with simulated time; the publisher waits on real
time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class SimClock:
    """Maps simulated instants (epoch seconds) to real delays.

    `speed=None` means "as fast as possible": nothing ever waits (tests, bulk replay).
    """

    sim_start: float
    speed: float | None = 1.0
    real_start: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        """The simulated instant that corresponds to the present."""
        if self.speed is None:
            return float("inf")
        return self.sim_start + (time.monotonic() - self.real_start) * self.speed

    def delay(self, sim_t: float) -> float:
        """Real seconds to wait until simulated time reaches `sim_t` (0 if it already has)."""
        if self.speed is None:
            return 0.0
        due = self.real_start + (sim_t - self.sim_start) / self.speed
        return max(0.0, due - time.monotonic())


def default_start(now: float, run_s: float, speed: float) -> float:
    """Where simulated time starts so that a run of `run_s` real seconds at `speed` ends at the
    present: the hub sees recent, not future, readings (contract §6)."""
    return now + run_s - run_s * speed


@dataclass
class CatchUpClock(SimClock):
    """Plays the past `speed`× faster, then keeps pace with the wall clock: simulated time
    never runs ahead of the present, so a demo can start with a day of history and go on live
    (readings are never stamped in the future)."""

    def delay(self, sim_t: float) -> float:
        return max(super().delay(sim_t), sim_t - time.time())
