"""Untrusted `Reading`s of one known sensor to `Measurement`s and `Rejection`s.

Everything here is judged against the catalog (domain.catalog), converted with domain.units and
timed against the hub clock the caller passes in; nothing reads a clock or does I/O. The rules
of contract §2: a bad value refuses that value, a bad time refuses that reading, and readings
that land on the same instant are merged so each instant yields at most one Measurement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from domain.catalog import CATALOG, HEALTH, SEQ_FIELD, SEQ_MAX, Kind, Metric
from domain.measurement import Measurement, RejectReason
from domain.site import Placement
from domain.units import UnitError, convert
from gateway.decode import Reading, shown, type_name

MS_THRESHOLD = 10**12
"""An epoch number above this (in magnitude) is milliseconds: 10**12 s is the year 33658."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TS_TEXT = 64
_SKIP_TOP = frozenset({"ts", "values"})


class TimestampError(ValueError):
    """A reading time that is not one of the accepted forms."""


def timestamp_ns(ts: object) -> int:
    """Epoch nanoseconds of a reading time as sent: seconds (int or float), milliseconds (a number
    above 10**12) or an RFC 3339 string with an offset. Sub-microsecond digits are dropped, so the
    same input always gives the same instant (retries overwrite, never duplicate)."""
    t = type(ts)
    if t is int:
        n: int = ts  # type: ignore[assignment]
        return n * 1_000_000 if abs(n) > MS_THRESHOLD else n * 1_000_000_000
    if t is float:
        f: float = ts  # type: ignore[assignment]
        if not math.isfinite(f):
            raise TimestampError(f"'ts' is {f}, not a time")
        if abs(f) > MS_THRESHOLD:
            return round(f * 1_000) * 1_000
        return round(f * 1_000_000) * 1_000
    if t is str:
        return _rfc3339_ns(ts)  # type: ignore[arg-type]
    raise TimestampError(f"'ts' is {type_name(ts)}, not a number or an RFC 3339 string")


def _rfc3339_ns(text: str) -> int:
    if len(text) > _MAX_TS_TEXT:
        raise TimestampError("'ts' string is too long for an RFC 3339 time")
    try:
        dt = datetime.fromisoformat(text.upper())
    except ValueError:
        raise TimestampError(f"'ts' {shown(text)!r} is not an RFC 3339 time") from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise TimestampError(f"'ts' {shown(text)!r} has no UTC offset (add 'Z' or '+08:00')")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class Window(NamedTuple):
    """The reading times the hub accepts, in epoch ns: `oldest` ≤ ts ≤ `newest`.

    A NamedTuple because one is built per message."""

    oldest: int
    newest: int


class _Instant:
    """What the readings of one message say about one instant, merged."""

    __slots__ = ("fields", "hub_timed", "seq")

    def __init__(self, hub_timed: bool) -> None:
        self.hub_timed = hub_timed
        self.fields: dict[str, float] = {}
        self.seq: int | None = None


# (lo, hi) by field name, per kind with the health fields, for the hot loop.
LIMITS: dict[Kind, dict[str, tuple[float, float]]] = {
    kind: {n: (m.lo, m.hi) for n, m in (*metrics.items(), *HEALTH.items())}
    for kind, metrics in CATALOG.items()
}
HEALTH_LIMITS = {n: (m.lo, m.hi) for n, m in HEALTH.items()}


RejectFn = Callable[[RejectReason, str, "str | None"], None]


def judge(
    readings: list[Reading],
    placement: Placement,
    now_ns: int,
    window: Window,
    reject: RejectFn,
) -> list[Measurement]:
    """The Measurements of one message's readings; every refused part goes to `reject`
    (reason, detail, metric or None for a whole reading)."""
    metrics = CATALOG[placement.sensor.kind]
    limits = LIMITS[placement.sensor.kind]
    instants: dict[int, _Instant] = {}
    for reading in readings:
        if reading.problems:
            for p in reading.problems:
                reject(RejectReason.MALFORMED, p.detail, p.metric)
        values = reading.values
        top = reading.top
        if not values and (top is None or top.keys() <= _SKIP_TOP):
            if not reading.problems:
                reject(RejectReason.MALFORMED, "reading has no values", None)
            continue
        ts = reading.ts
        if ts is None:
            ts_ns, hub_timed = now_ns, True
        elif reading.relative:
            # SenML relative time: seconds from receipt (clamped so a huge offset stays a number).
            offset = max(ts, -1e12)  # type: ignore[call-overload]
            ts_ns, hub_timed = now_ns + round(offset * 1e9), True
        else:
            try:
                ts_ns = timestamp_ns(ts)
            except TimestampError as e:
                reject(RejectReason.MALFORMED, str(e), None)
                continue
            hub_timed = False
        if ts_ns > window.newest:
            reject(RejectReason.FUTURE_TS, _future(ts, ts_ns, now_ns), None)
            continue
        if ts_ns < window.oldest:
            reject(RejectReason.TOO_OLD, f"reading time {_shown_ts(ts)} is too old", None)
            continue
        instant = instants.get(ts_ns)
        if instant is None:
            instant = instants[ts_ns] = _Instant(hub_timed)
        units = reading.units
        fields = instant.fields
        for name, raw in values.items():
            # Fast path for the common case (a known metric, a plain in-range number, no unit);
            # NaN and ±inf fail the range test and fall through to _value, which names why.
            lim = limits.get(name)
            t = type(raw)
            if (
                lim is not None
                and (t is float or t is int)
                and lim[0] <= raw <= lim[1]  # type: ignore[operator]
                and (units is None or name not in units)
                and name not in fields
            ):
                fields[name] = raw if t is float else float(raw)  # type: ignore[assignment,arg-type]
            else:
                _value(instant, metrics, name, raw, units.get(name) if units else None, reject)
        if top is not None:
            for name, raw in top.items():
                if name in _SKIP_TOP:
                    continue
                lim = HEALTH_LIMITS.get(name)
                t = type(raw)
                if (
                    lim is not None
                    and (t is float or t is int)
                    and lim[0] <= raw <= lim[1]  # type: ignore[operator]
                    and name not in fields
                ):
                    fields[name] = raw if t is float else float(raw)  # type: ignore[assignment,arg-type]
                elif name in HEALTH or name == SEQ_FIELD:
                    _value(instant, metrics, name, raw, None, reject)
                else:
                    reject(
                        RejectReason.UNKNOWN_METRIC,
                        f"unknown key {shown(name)!r} (metrics go under 'values')",
                        shown(name),
                    )
    sensor = placement.sensor.id
    grid = placement.grid.id
    community = placement.community.id
    kind = placement.sensor.kind
    return [
        Measurement(sensor, kind, grid, community, ts_ns, i.fields, i.seq, i.hub_timed)
        for ts_ns, i in instants.items()
        if i.fields or i.seq is not None
    ]


def _value(
    instant: _Instant,
    metrics: dict[str, Metric],
    name: str,
    raw: object,
    unit: str | None,
    reject: RejectFn,
) -> None:
    """Judge one value and store it on `instant`, or reject it."""
    m = metrics.get(name) or HEALTH.get(name)
    if m is None:
        if name == SEQ_FIELD:
            _seq(instant, raw, reject)
        else:
            reject(RejectReason.UNKNOWN_METRIC, f"no metric {shown(name)!r} here", shown(name))
        return
    t = type(raw)
    if t is float:
        v: float = raw  # type: ignore[assignment]
    elif t is int:
        try:
            v = float(raw)  # type: ignore[arg-type]
        except OverflowError:
            reject(RejectReason.IMPLAUSIBLE, f"{name} is too large a number", name)
            return
    else:
        reject(RejectReason.MALFORMED, f"{name} is {type_name(raw)}, not a number", name)
        return
    if not math.isfinite(v):
        reject(RejectReason.NOT_FINITE, f"{name} is {v}", name)
        return
    if unit is not None and unit != m.unit:
        try:
            v = convert(v, unit, m.unit)
        except UnitError:
            reject(
                RejectReason.BAD_UNIT,
                f"{name} in {shown(unit)!r}, which is not {m.unit!r} and cannot be converted",
                name,
            )
            return
        if not math.isfinite(v):
            reject(RejectReason.NOT_FINITE, f"{name} is not finite in {m.unit}", name)
            return
    if not m.lo <= v <= m.hi:
        reject(
            RejectReason.IMPLAUSIBLE,
            f"{name} = {v:g} {m.unit} is outside {m.lo:g}..{m.hi:g}",
            name,
        )
        return
    if name in instant.fields:
        reject(RejectReason.MALFORMED, f"{name} given twice for one instant", name)
        return
    instant.fields[name] = v


def _seq(instant: _Instant, raw: object, reject: RejectFn) -> None:
    # JSON has one number type: 812.0 is the integer 812 (SenML values are all floats).
    if type(raw) is float and raw.is_integer():
        raw = int(raw)
    if type(raw) is not int:
        reject(RejectReason.MALFORMED, f"seq is {type_name(raw)}, not an integer", SEQ_FIELD)
        return
    n: int = raw
    if not 0 <= n <= SEQ_MAX:
        reject(RejectReason.IMPLAUSIBLE, "seq is outside 0..2**63-1", SEQ_FIELD)
        return
    if instant.seq is not None:
        reject(RejectReason.MALFORMED, "seq given twice for one instant", SEQ_FIELD)
        return
    instant.seq = n


def _shown_ts(ts: object) -> str:
    if isinstance(ts, str):
        return repr(shown(ts, 40))
    if isinstance(ts, int) and abs(ts) > 10**30:
        return "(a number far out of range)"  # repr of a huge int can itself raise
    return shown(repr(ts), 40)


def _future(ts: object, ts_ns: int, now_ns: int) -> str:
    ahead_s = (ts_ns - now_ns) // 1_000_000_000
    ahead = f"{ahead_s} s" if ahead_s < 10**15 else "far"
    return f"reading time {_shown_ts(ts)} is {ahead} ahead of the hub clock"
