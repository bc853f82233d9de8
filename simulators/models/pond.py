"""A community pond buoy: oxygen that follows the sun, pH moving with it, a daily temperature
swing; overflow and black-odorous events (domain.md §3)."""

from __future__ import annotations

from domain.catalog import Kind
from simulators.diurnal import afternoon_wave, photo_shape, seasonal
from simulators.events import BlackOdorous, Overflow, strength
from simulators.models.base import KindModel

# The black-and-odorous end state: heavy grade on ORP and transparency (domain.md §2).
_BLACK = {"do": 0.3, "orp": -260.0, "nh3n": 18.0, "transparency": 7.0, "turbidity": 70.0}


def do_saturation(temp_c: float) -> float:
    """Oxygen solubility in fresh water, mg/L (11.3 at 10 °C, 9.1 at 20, 7.6 at 30)."""
    t = temp_c
    return 14.62 - 0.3898 * t + 0.006969 * t * t - 0.00005897 * t * t * t


class PondModel(KindModel):
    kind = Kind.POND

    def setup(self) -> None:
        r = self.rng
        self.eutrophic = r.random() < 0.35
        self.temp_swing = r.uniform(0.8, 1.8)
        self.swing = r.uniform(4.5, 7.0) if self.eutrophic else r.uniform(1.5, 2.8)
        self.floor = r.uniform(0.45, 0.55) if self.eutrophic else r.uniform(0.68, 0.78)
        self.nh3n = r.uniform(0.8, 1.4) if self.eutrophic else r.uniform(0.2, 0.6)
        self.turbidity = r.uniform(18, 28) if self.eutrophic else r.uniform(8, 16)
        self.transparency = r.uniform(35, 48) if self.eutrophic else r.uniform(55, 80)
        self.chla = r.uniform(20, 40) if self.eutrophic else r.uniform(3, 8)
        self.conductivity = r.uniform(350, 650)
        self.ph_mid = r.uniform(7.3, 7.8)

    def physics(self, t: float, rel: float, hour: float) -> dict[str, float]:
        doy = self.clock.day_of_year(t)
        mean_temp = seasonal(doy, 18.0, 9.0)
        temp = mean_temp + self.temp_swing * afternoon_wave(hour) + self.noise(0.05)
        shape = photo_shape(hour)
        sat = do_saturation(mean_temp)  # the daily swing is biology's, not solubility's
        do = sat * self.floor + self.swing * shape + self.noise(0.08)
        ph_amp = min(1.0, max(0.3, 0.12 * self.swing))
        ph = self.ph_mid + ph_amp * (shape - 0.5) + self.noise(0.02)
        orp = 230.0 + 40.0 * shape + self.noise(6.0)
        nh3n = self.nh3n * (1.1 - 0.2 * shape) + self.noise(0.03)
        turbidity = self.turbidity + self.noise(0.8)
        transparency = self.transparency + self.noise(1.5)
        chla = self.chla * (0.9 + 0.2 * shape) + self.noise(0.3)
        conductivity = self.conductivity + self.noise(5.0)

        spill = strength(self.events, Overflow, rel)
        if spill > 0:
            ev = next(e for e in self.events if isinstance(e, Overflow))
            do *= 1.0 - ev.do_fraction * spill
            nh3n += ev.nh3n_mg_l * spill
            turbidity += 160.0 * spill
            transparency *= 1.0 - 0.75 * spill
            orp -= 220.0 * spill
            conductivity += 450.0 * spill
        black = strength(self.events, BlackOdorous, rel)
        if black > 0:
            keep = 1.0 - black
            do = do * keep + (_BLACK["do"] + 0.15 * shape + self.noise(0.03)) * black
            orp = orp * keep + (_BLACK["orp"] + self.noise(8.0)) * black
            nh3n = nh3n * keep + (_BLACK["nh3n"] + self.noise(0.4)) * black
            transparency = transparency * keep + (_BLACK["transparency"] + self.noise(0.8)) * black
            turbidity = turbidity * keep + (_BLACK["turbidity"] + self.noise(2.0)) * black
            ph = ph * keep + (7.1 + self.noise(0.03)) * black
            chla = chla * keep + (2.0 + self.noise(0.3)) * black
        return {
            "do": do,
            "ph": ph,
            "orp": orp,
            "nh3n": nh3n,
            "temp": temp,
            "turbidity": turbidity,
            "conductivity": conductivity,
            "transparency": transparency,
            "chla": chla,
        }
