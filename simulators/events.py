"""Things that happen to the infrastructure itself, unfolding over hours: rain, a sewer
overflow into a pond, a pond going black and odorous, a pipe burst, a night leak, a blockage,
a transformer overload, an outage.

Each event has an envelope (rise, hold, recovery) giving its strength between 0 and 1 at any
instant; the kind models turn strength into physics. Times are seconds after the scenario start.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.catalog import Kind
from domain.duration import Duration
from domain.ids import Id


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[Kind]

    at: Duration
    sensors: list[Id] = Field(default_factory=list)
    """Sensors affected; empty means every sensor of the event's kind."""
    rise: Duration = 0.0
    duration: Duration | None = None
    """Time at full strength; None means until the end of the run."""
    recovery: Duration = 0.0
    """e-folding time of the way back after it ends; 0 ends it at once."""

    def level(self, t: float) -> float:
        """Strength in [0, 1] at `t` seconds after the scenario start."""
        dt = t - self.at
        if dt < 0:
            return 0.0
        if dt < self.rise:
            x = dt / self.rise
            return x * x * (3.0 - 2.0 * x)
        held = dt - self.rise
        if self.duration is None or held < self.duration:
            return 1.0
        if self.recovery <= 0:
            return 0.0
        return math.exp(-(held - self.duration) / self.recovery)

    def applies_to(self, sensor: str) -> bool:
        return not self.sensors or sensor in self.sensors


class Rain(_Event):
    """Rainfall over the whole site; sewers rise within the hour (domain.md §3)."""

    type: Literal["rain"]
    kind: ClassVar[Kind] = Kind.SEWER
    peak_mm_h: float = Field(default=50.0, gt=0, le=150)
    lag: Duration = 1800.0


class Surcharge(_Event):
    """A manhole or pump well whose pipe runs full and backs up towards the cover."""

    type: Literal["surcharge"]
    kind: ClassVar[Kind] = Kind.SEWER
    freeboard_m: float = Field(default=0.1, ge=-0.5, le=2)
    """Water surface below the cover at full strength."""


class Blockage(_Event):
    """A blocked pipe: the upstream level climbs steadily."""

    type: Literal["blockage"]
    kind: ClassVar[Kind] = Kind.SEWER
    fill_per_hour: float = Field(default=0.08, gt=0, le=5)


class Overflow(_Event):
    """Sewage spilling into a pond: turbid, NH3-N up, oxygen pulled down for a day or two."""

    type: Literal["overflow"]
    kind: ClassVar[Kind] = Kind.POND
    nh3n_mg_l: float = Field(default=9.0, gt=0, le=80)
    do_fraction: float = Field(default=0.85, gt=0, le=1)
    """Share of the oxygen consumed at full strength."""


class BlackOdorous(_Event):
    """A pond sliding into the black-and-odorous state over days."""

    type: Literal["black_odorous"]
    kind: ClassVar[Kind] = Kind.POND


class Burst(_Event):
    """A main breaks: pressure falls within minutes, flow jumps."""

    type: Literal["burst"]
    kind: ClassVar[Kind] = Kind.WATER
    drop_mpa: float = Field(default=0.15, gt=0, le=1)
    flow_m3_h: float = Field(default=60.0, ge=0)


class NightLeak(_Event):
    """A hidden leak: a constant extra flow that shows as a rising minimum night flow."""

    type: Literal["night_leak"]
    kind: ClassVar[Kind] = Kind.WATER
    flow_m3_h: float = Field(default=15.0, gt=0)


class Overload(_Event):
    """A transformer carrying more than its rating (a hot evening, air conditioners)."""

    type: Literal["overload"]
    kind: ClassVar[Kind] = Kind.POWER
    load_pct: float = Field(default=50.0, gt=0, le=150)
    """Load rate added at full strength, in % of rating."""


class Outage(_Event):
    """Supply lost: voltage 0 on all phases; the terminal reports on its backup battery."""

    type: Literal["outage"]
    kind: ClassVar[Kind] = Kind.POWER


Event = Annotated[
    Rain | Surcharge | Blockage | Overflow | BlackOdorous | Burst | NightLeak | Overload | Outage,
    Field(discriminator="type"),
]


def strength(events: list[Event], cls: type[_Event], t: float) -> float:
    """The strongest level of the events of type `cls` at `t` (they do not add up)."""
    best = 0.0
    for e in events:
        if isinstance(e, cls):
            best = max(best, e.level(t))
    return best
