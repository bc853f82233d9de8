"""One physics model per kind of sensor (domain.md §3)."""

from __future__ import annotations

import random

from domain.catalog import Kind
from domain.site import Sensor
from simulators.diurnal import LocalTime
from simulators.events import Event
from simulators.models.base import KindModel
from simulators.models.pond import PondModel
from simulators.models.power import PowerModel
from simulators.models.sewer import SewerModel
from simulators.models.water import WaterModel

MODELS: dict[Kind, type[KindModel]] = {
    Kind.POND: PondModel,
    Kind.WATER: WaterModel,
    Kind.POWER: PowerModel,
    Kind.SEWER: SewerModel,
}


def build_model(
    sensor: Sensor, rng: random.Random, events: list[Event], origin: float, clock: LocalTime
) -> KindModel:
    return MODELS[sensor.kind](sensor, rng, events, origin, clock)


__all__ = ["MODELS", "KindModel", "build_model"]
