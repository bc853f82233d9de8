"""Low-voltage distribution: transformers (台区/箱变, with top-oil temperature) and distribution
rooms. 220 V with a few volts of noise, sagging under the evening load; overload heats the
oil; an outage drops voltage to 0."""

from __future__ import annotations

from domain.catalog import Kind
from simulators.diurnal import ELECTRIC_LOAD, afternoon_wave, profile, seasonal
from simulators.events import Outage, Overload, strength
from simulators.models.base import KindModel

_OIL_TAU_S = 5400.0  # top-oil thermal time constant, about 1.5 h


def is_transformer(sensor_id: str, asset: str) -> bool:
    return "-tx-" in sensor_id or "变" in asset


class PowerModel(KindModel):
    kind = Kind.POWER

    def setup(self) -> None:
        r = self.rng
        self.transformer = is_transformer(self.sensor.id, self.sensor.asset)
        self.peak_load = r.uniform(55.0, 72.0)
        self.kva = r.choice((400.0, 630.0, 800.0))
        self.v0 = r.uniform(222.5, 225.0)
        self.pf = r.uniform(0.93, 0.96)
        self.energy = r.uniform(1e5, 5e5)
        self.oil: float | None = None
        self.last_t: float | None = None

    def physics(self, t: float, rel: float, hour: float) -> dict[str, float]:
        dt_h = 0.0 if self.last_t is None else max(0.0, t - self.last_t) / 3600.0
        dt_s = dt_h * 3600.0
        self.last_t = t
        air = seasonal(self.clock.day_of_year(t), 17.0, 9.0) + 4.0 * afternoon_wave(hour)
        load = self.peak_load * profile(ELECTRIC_LOAD, hour) * (1.0 + self.noise(0.02))
        for e in self.events:
            if isinstance(e, Overload):
                load += e.load_pct * e.level(rel)
        if strength(self.events, Outage, rel) >= 0.5:
            load = 0.0
        # Top oil approaches its steady rise over ambient (60 K at rated load) exponentially.
        target = air + 60.0 * (load / 100.0) ** 1.6
        if self.oil is None:
            self.oil = target
        else:
            k = min(1.0, dt_s / _OIL_TAU_S)
            self.oil += (target - self.oil) * k
        self.energy += self.kva * load / 100.0 * self.pf * dt_h
        values: dict[str, float] = {"energy": self.energy}
        if self.transformer:
            values["oil_temp"] = self.oil + self.noise(0.2)
        if load == 0.0:
            values.update(voltage=0.0, current=0.0, load_rate=0.0)
            return values
        values.update(
            voltage=self.v0 - 12.0 * (load / 100.0) ** 2 + self.noise(1.0),
            current=self.kva * 1000.0 / (3 * 230.0) * load / 100.0,
            frequency=50.0 + self.noise(0.015),
            power_factor=min(0.99, self.pf + self.noise(0.004)),
            load_rate=load,
        )
        return values
