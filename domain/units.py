"""Unit conversion for values that arrive in a unit other than the catalog's (SenML `u`).

Only conversions that are exact and unambiguous are listed: a value in a unit that is not here
and is not the metric's own is rejected as `bad_unit`, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

# (from unit, to unit) -> function. Keys are SenML symbols (RFC 8428 §12.1 and its registry),
# plus a few spellings devices commonly send.
_CONVERSIONS: dict[tuple[str, str], Callable[[float], float]] = {
    ("K", "Cel"): lambda v: v - 273.15,
    ("degF", "Cel"): lambda v: (v - 32.0) * 5.0 / 9.0,
    ("V", "mV"): lambda v: v * 1000.0,
    ("mV", "V"): lambda v: v / 1000.0,
    ("kV", "V"): lambda v: v * 1000.0,
    ("mA", "A"): lambda v: v / 1000.0,
    ("kA", "A"): lambda v: v * 1000.0,
    ("Pa", "MPa"): lambda v: v / 1e6,
    ("kPa", "MPa"): lambda v: v / 1000.0,
    ("hPa", "MPa"): lambda v: v / 1e4,
    ("bar", "MPa"): lambda v: v / 10.0,
    ("m3/s", "m3/h"): lambda v: v * 3600.0,
    ("l/s", "m3/h"): lambda v: v * 3.6,
    ("L/s", "m3/h"): lambda v: v * 3.6,
    ("l/min", "m3/h"): lambda v: v * 0.06,
    ("Wh", "kWh"): lambda v: v / 1000.0,
    ("MWh", "kWh"): lambda v: v * 1000.0,
    ("J", "kWh"): lambda v: v / 3.6e6,
    ("/", "%"): lambda v: v * 100.0,
    ("%", "/"): lambda v: v / 100.0,
    ("mm", "cm"): lambda v: v / 10.0,
    ("m", "cm"): lambda v: v * 100.0,
    ("cm", "m"): lambda v: v / 100.0,
    ("mm", "m"): lambda v: v / 1000.0,
    ("g/m3", "mg/L"): lambda v: v,
    ("mg/l", "mg/L"): lambda v: v,
    ("ug/l", "ug/L"): lambda v: v,
    ("mS/cm", "uS/cm"): lambda v: v * 1000.0,
    ("S/m", "uS/cm"): lambda v: v * 10_000.0,
    ("rad", "deg"): lambda v: v * 57.29577951308232,
    ("m/h", "mm/h"): lambda v: v * 1000.0,
    ("%EL", "%"): lambda v: v,
}

# Spellings of the catalog's own units that mean the same thing.
_SAME = {
    ("°C", "Cel"),
    ("C", "Cel"),
    ("µS/cm", "uS/cm"),
    ("µg/L", "ug/L"),
    ("m³/h", "m3/h"),
    ("°", "deg"),
    ("1", "/"),
    ("", "/"),
}


class UnitError(ValueError):
    """The value's unit is neither the metric's unit nor convertible to it."""


def convert(value: float, unit: str, to: str) -> float:
    """`value` expressed in `unit`, converted to the catalog unit `to`."""
    if unit == to or (unit, to) in _SAME:
        return value
    fn = _CONVERSIONS.get((unit, to))
    if fn is None:
        raise UnitError(f"cannot convert {unit!r} to {to!r}")
    return fn(value)
