"""Sewer manholes and pump wells: a level with the diurnal sewage shape (low 03:00-05:00),
rising within the hour of rain, climbing upstream of a blockage, backing up to the cover in a
surcharge; gas readings; pump wells also carry a flow meter and a rain gauge."""

from __future__ import annotations

import math

from domain.catalog import Kind
from simulators.diurnal import SEWAGE, profile
from simulators.events import Blockage, Rain, Surcharge
from simulators.models.base import KindModel


def is_pump_well(sensor_id: str, asset: str) -> bool:
    return "-pw-" in sensor_id or "泵" in asset


class SewerModel(KindModel):
    kind = Kind.SEWER

    def setup(self) -> None:
        r = self.rng
        self.pump_well = is_pump_well(self.sensor.id, self.sensor.asset)
        self.depth = r.uniform(2.0, 3.5) if not self.pump_well else r.uniform(4.0, 6.0)
        self.pipe_d = r.choice((0.4, 0.5, 0.6, 0.8)) if not self.pump_well else 1.2
        self.base_fill = r.uniform(0.20, 0.30)
        self.rain_gain = r.uniform(0.20, 0.30)
        self.capacity = r.uniform(150.0, 400.0)
        self.h2s = r.uniform(0.5, 2.5)

    def rain(self, rel: float) -> float:
        return sum(e.peak_mm_h * e.level(rel) for e in self.events if isinstance(e, Rain))

    def physics(self, t: float, rel: float, hour: float) -> dict[str, float]:
        fill = self.base_fill * profile(SEWAGE, hour) + self.noise(0.008)
        storm = 0.0
        for e in self.events:
            if isinstance(e, Rain):
                storm += e.peak_mm_h / 50.0 * e.level(rel - e.lag)
        fill += min(0.4, self.rain_gain * storm)
        for e in self.events:
            if isinstance(e, Blockage) and rel >= e.at:
                end = e.at + e.rise + (e.duration if e.duration is not None else math.inf)
                climbed = e.fill_per_hour * (min(rel, end) - e.at) / 3600.0
                if rel > end:
                    climbed *= e.level(rel)
                fill += climbed
        full = self.depth / self.pipe_d
        for e in self.events:
            if isinstance(e, Surcharge):
                top = (self.depth - e.freeboard_m) / self.pipe_d
                lvl = e.level(rel)
                fill = fill * (1.0 - lvl) + top * lvl + self.noise(0.01) * lvl
        fill = min(fill, full + 0.5 / self.pipe_d)
        values = {
            "fill": fill,
            "freeboard": self.depth - fill * self.pipe_d + self.noise(0.005),
            "h2s": self.h2s * (0.7 + 0.6 * profile(SEWAGE, hour)) + abs(self.noise(0.2)),
        }
        if self.pump_well:
            values["flow"] = self.capacity * min(fill, 1.0) * (1.0 + self.noise(0.02))
            values["rain"] = self.rain(rel)
        else:
            values.update(
                ch4=1.0 + abs(self.noise(0.4)),
                o2=20.8 + self.noise(0.08),
                cover_tilt=1.0 + abs(self.noise(0.3)),
            )
        return values

    def fast(self, values: dict[str, float]) -> bool:
        """Level loggers report every few minutes in rain or above a warning level."""
        return values.get("rain", 0.0) > 0.0 or values["fill"] > 0.75
