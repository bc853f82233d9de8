"""Instants as GridWatch stores them: integer nanoseconds since the Unix epoch (InfluxDB's
time, the ticket database's `*_ns` columns), converted from and to `datetime` in one place.

The one rule for a time written without an offset ("2024-03-04T08:00:00"): it is wall-clock
time in the **site's** time zone (`site.timezone`), because officers and crews think in local
time and the site's days, weeks and nights are local too. A time with an offset (`Z`,
`+08:00`) or a Unix epoch number is that instant, wherever the server runs. The server's own
zone never enters. A local time that a DST change makes ambiguous is its first occurrence
(`fold=0`); the site zones GridWatch ships for (Asia/Shanghai) have no DST.

Conversions are exact integer arithmetic (microseconds, a `datetime`'s precision), never a
float: `1709481600.000001 s` as a float loses the last microsecond, and `int()` of a negative
float rounds the wrong way before 1970.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ZONE_RULE = "ISO 8601 or Unix seconds; without an offset, the site's local time"
"""The rule above in one line, for the API's parameter descriptions."""

NS = 10**9
INT64_MAX = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_ns(t: datetime, tz: tzinfo) -> int:
    """`t` in nanoseconds since the epoch; a zone-less `t` is read in `tz` (the site's zone).

    Clamped to the signed 64-bit range both stores use (about 1677–2262), so a year-9999 bound
    is an instant far in the future, not an overflow.
    """
    aware = t if t.tzinfo is not None and t.utcoffset() is not None else t.replace(tzinfo=tz)
    ns = (aware - EPOCH) // _US * 1000
    return max(-INT64_MAX, min(INT64_MAX, ns))


def from_ns(ns: int, tz: tzinfo = UTC) -> datetime:
    """The instant `ns` as an aware `datetime` in `tz` (UTC unless told), to the microsecond."""
    return (EPOCH + timedelta(microseconds=ns // 1000)).astimezone(tz)


def with_datetimes(record: DataclassInstance) -> dict[str, Any]:
    """A record's fields as the API shows them: each `<name>_ns` instant becomes `<name>`, an
    aware UTC `datetime` (None stays None); the others are as they are. The API's models name
    their times so, and build themselves from a record with it instead of field by field."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name.endswith("_ns"):
            out[f.name[:-3]] = None if value is None else from_ns(value)
        else:
            out[f.name] = value
    return out
