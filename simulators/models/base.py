"""What every kind model shares: its sensor, its random stream, the events that touch it, and
turning raw physics into values a device would send (clamped to the catalog's plausible range,
rounded to the sensor's resolution)."""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod

from domain.catalog import CATALOG, Kind
from domain.site import Sensor
from simulators.diurnal import LocalTime
from simulators.events import Event


def _digits(resolution: float) -> int:
    return max(0, -math.floor(math.log10(resolution) + 1e-9))


class KindModel(ABC):
    """The physics of one sensor. `sample` is called with increasing times."""

    kind: Kind

    def __init__(
        self,
        sensor: Sensor,
        rng: random.Random,
        events: list[Event],
        origin: float,
        clock: LocalTime,
    ) -> None:
        self.sensor = sensor
        self.rng = rng
        self.events = [e for e in events if e.kind is self.kind and e.applies_to(sensor.id)]
        self.origin = origin
        self._gauss = rng.gauss
        self.clock = clock
        self._limits = {
            name: (m.lo, m.hi, _digits(m.resolution)) for name, m in CATALOG[self.kind].items()
        }
        self.setup()

    def setup(self) -> None:
        """Draw this sensor's own parameters from its random stream (called once)."""
        return

    @abstractmethod
    def physics(self, t: float, rel: float, hour: float) -> dict[str, float]:
        """Raw values at epoch `t` (`rel` seconds after the scenario start)."""

    def sample(self, t: float) -> dict[str, float]:
        """What the sensor measures at `t`."""
        raw = self.physics(t, t - self.origin, self.clock.hour(t))
        limits = self._limits
        out: dict[str, float] = {}
        for name, v in raw.items():
            lo, hi, digits = limits[name]
            out[name] = round(hi if v > hi else (lo if v < lo else v), digits)
        return out

    def fast(self, values: dict[str, float]) -> bool:
        """Whether the device should report more often now (rain, alarm levels)."""
        return False

    def finish(self, name: str, value: float) -> float:
        lo, hi, digits = self._limits[name]
        return round(min(hi, max(lo, value)), digits)

    def noise(self, sd: float) -> float:
        return self._gauss(0.0, sd)
