"""Durations as people write them in rule, scenario and settings files: "90s", "15min",
"1h30m", "1d12h", "52w", or a plain number of seconds — parsed once, in one place."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|min|m|sec|s)")
_UNIT_S = {
    "w": 604_800.0,
    "d": 86_400.0,
    "h": 3_600.0,
    "min": 60.0,
    "m": 60.0,
    "sec": 1.0,
    "s": 1.0,
}
_HINT = "write e.g. 90s, 15min, 1h30m, 1d12h, 52w"


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises ValueError naming what could not be read."""
    if isinstance(value, bool):
        raise ValueError(f"a duration must be a number of seconds or text ({_HINT})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration ({_HINT})")
    s = value.strip().lower().replace(" ", "")
    try:
        return parse_duration(float(s))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"cannot read {value!r} as a duration ({_HINT})")
    return total


def retention_seconds(value: str) -> int | None:
    """A retention period: None for INF (keep forever), else whole seconds."""
    if value.strip().upper() == "INF":
        return None
    return int(parse_duration(value))


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: seconds, written as a number or as '2h30m'."""
