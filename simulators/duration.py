"""Durations as people write them in scenario files ("36h", "1d12h", "90m", "45s", or plain
seconds), parsed once into seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNIT_S = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str | float) -> float:
    """Seconds in `text`; raises ValueError naming what could not be read."""
    if isinstance(text, bool):
        raise ValueError("a duration must be a number of seconds or text like '36h' or '1d12h'")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    s = text.strip().lower().replace(" ", "")
    if not s:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(s):
        try:
            return parse_duration(float(s))
        except ValueError:
            pass
        raise ValueError(f"cannot read {text!r} as a duration (write e.g. '90m', '36h', '1d12h')")
    return total


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: seconds, written as a number or as '2h30m'."""
