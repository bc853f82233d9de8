"""Durations as people write them in rule, scenario and settings files: "90s", "15min",
"1h30m", "1d12h", "52w", or a plain number of seconds — parsed once, in one place.

Every reader of a duration goes through `parse_duration`: the rule book, scenarios, the CLI and
the settings (`Duration`), and the retention of raw readings (`Retention`), which the gateway's
too-old window, the InfluxDB writer and the retention setup all take from the one value the
settings parsed at start. Before, three parsers disagreed (`15min` passed one and failed two).
`format_duration` writes the canonical text back (`1d12h`): also a valid InfluxQL literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, PlainSerializer

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
_CANONICAL = (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
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


def format_duration(seconds: int) -> str:
    """Whole seconds as canonical text, largest unit first: 5400 -> "1h30m", 0 -> "0s".
    `parse_duration(format_duration(n)) == n`; the text is also an InfluxQL duration literal."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    parts, rest = [], int(seconds)
    for unit, size in _CANONICAL:
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class Retention:
    """How long raw readings are kept: `seconds`, or None for forever (written INF).

    InfluxDB refuses a retention policy under an hour, so a shorter one is refused here, when
    the settings are read, rather than by InfluxDB at the first retention setup."""

    seconds: int | None = None
    MINIMUM_S: ClassVar[int] = 3_600

    def __post_init__(self) -> None:
        if self.seconds is not None and self.seconds < self.MINIMUM_S:
            raise ValueError(
                f"a retention must be INF or at least 1h (InfluxDB's minimum), "
                f"not {format_duration(self.seconds)}"
            )

    @classmethod
    def parse(cls, value: object) -> Retention:
        """`INF` (any case), a duration (`90d`, `1h30m`, seconds) or a Retention."""
        if isinstance(value, Retention):
            return value
        if isinstance(value, str) and value.strip().upper() == "INF":
            return cls(None)
        seconds = parse_duration(value)
        if seconds != int(seconds):
            raise ValueError(f"a retention is whole seconds, not {value!r}")
        return cls(int(seconds))

    @property
    def forever(self) -> bool:
        return self.seconds is None

    def __str__(self) -> str:
        """`INF` or the canonical duration, as InfluxQL and the sample env file write it."""
        return "INF" if self.seconds is None else format_duration(self.seconds)


def retention_seconds(value: str) -> int | None:
    """A retention period: None for INF (keep forever), else whole seconds."""
    return Retention.parse(value).seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: seconds, written as a number or as '2h30m'."""

RetentionField = Annotated[
    Retention, BeforeValidator(Retention.parse), PlainSerializer(str, return_type=str)
]
"""A pydantic field type: a Retention written as INF or a duration, shown as its canonical text."""
