"""Community water supply: network points (pressure against demand, flow, chlorine) and roof
tanks (level drawn down by day and refilled at night, chlorine decaying in the warm water)."""

from __future__ import annotations

import math

from domain.catalog import Kind
from simulators.diurnal import WATER_DEMAND, afternoon_wave, profile, seasonal
from simulators.events import Burst, NightLeak, strength
from simulators.models.base import KindModel


def is_tank(sensor_id: str, asset: str) -> bool:
    return "tank" in sensor_id or "水箱" in asset


class WaterModel(KindModel):
    kind = Kind.WATER

    def setup(self) -> None:
        r = self.rng
        self.tank = is_tank(self.sensor.id, self.sensor.asset)
        self.mean_flow = r.uniform(20.0, 80.0)
        self.p_night = r.uniform(0.29, 0.32)
        self.chlorine_in = r.uniform(0.30, 0.40)
        self.turbidity = r.uniform(0.10, 0.20)
        self.ph = r.uniform(7.3, 7.7)
        self.level_mid = r.uniform(58.0, 68.0)

    def physics(self, t: float, rel: float, hour: float) -> dict[str, float]:
        demand = profile(WATER_DEMAND, hour)
        water_temp = seasonal(self.clock.day_of_year(t), 17.0, 8.0)
        common = {
            "turbidity": self.turbidity + abs(self.noise(0.02)),
            "ph": self.ph + self.noise(0.03),
        }
        if self.tank:
            # A roof tank sits in the sun: warmer in the afternoon, and chlorine decays faster
            # the warmer and the older the water is.
            temp = water_temp + 2.5 + 2.5 * afternoon_wave(hour) + self.noise(0.1)
            age = 1.0 + 0.5 * afternoon_wave(hour, 5.0)  # oldest just before the night refill
            chlorine = self.chlorine_in * math.exp(-0.012 * max(temp - 5.0, 0.0) * age)
            level = self.level_mid + 22.0 * afternoon_wave(hour, 4.5) + self.noise(0.4)
            return {
                **common,
                "temp": temp,
                "chlorine": chlorine + self.noise(0.01),
                "tank_level": level,
            }
        burst = strength(self.events, Burst, rel)
        leak = 0.0
        for e in self.events:
            if isinstance(e, NightLeak):
                leak += e.flow_m3_h * e.level(rel)
        flow = self.mean_flow * demand * (1.0 + self.noise(0.03)) + leak
        pressure = self.p_night - 0.07 * (demand - 0.55) - 0.0006 * leak + self.noise(0.003)
        if burst > 0:
            ev = next(e for e in self.events if isinstance(e, Burst))
            pressure -= ev.drop_mpa * burst
            flow += ev.flow_m3_h * burst
        return {
            **common,
            "temp": water_temp + 0.4 * afternoon_wave(hour) + self.noise(0.05),
            "chlorine": self.chlorine_in - 0.004 * (water_temp - 15.0) + self.noise(0.01),
            "flow": flow,
            "pressure": pressure,
        }
