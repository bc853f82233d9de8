r"""Measurement → InfluxDB line protocol (contract §3), escaped so that one input is one point.

Line protocol built by concatenation is injectable (reliability.md), so every key and value is
escaped exactly as influxdb-client's `Point` does it (a property test holds us to that), but
without its per-point object and sorting cost: the escaped series key of a sensor
(`kind,community=…,grid=…,sensor=…`) and each escaped field key are computed once and cached,
so a point costs a dict lookup, a few float reprs and one f-string (about 2 µs).

Escaping rules (InfluxDB line protocol reference, checked against InfluxDB 1.6):
- measurement: `,` and space; tag keys, tag values and field keys: `,`, `=` and space;
  newline, tab and carriage return become the two-character sequences `\n`, `\t`, `\r`.
- a tag value ending in a backslash gets a trailing space so the backslash cannot escape the
  separator (stored as `…\ `→`… `: mangled but still one point); an empty tag is left out.
- InfluxDB 1.x cannot store a *field key* holding a backslash before a special character or at
  its end; field keys are catalog names (domain/catalog.py), never device text.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from domain.catalog import SEQ_FIELD
from domain.measurement import Measurement

HUB_TIMED_FIELD = "hub_timed"
"""Boolean field set (true) on readings the hub stamped with its own clock."""

_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)


def escape_measurement(name: str) -> str:
    return name.translate(_ESCAPE_MEASUREMENT)


def escape_key(key: str) -> str:
    """Escape a tag key or field key."""
    return key.translate(_ESCAPE_KEY)


def escape_tag_value(value: str) -> str:
    escaped = value.translate(_ESCAPE_KEY)
    return escaped + " " if escaped.endswith("\\") else escaped


def _series_key(kind: str, community: str, grid: str, sensor: str) -> str:
    """`kind,community=…,grid=…,sensor=… ` — tag keys in sorted order, empty tags left out."""
    tags = "".join(
        f",{key}={escape_tag_value(value)}"
        for key, value in (("community", community), ("grid", grid), ("sensor", sensor))
        if value
    )
    return f"{escape_measurement(kind)}{tags} "


_SERIES_CACHE_MAX = 65_536
_series_cache: dict[str, tuple[str, str, str, str]] = {}
"""sensor -> (kind, community, grid, series key). Keyed by sensor alone because hashing the
`Kind` enum is a Python-level call; the other parts are compared on every hit."""


def _series(m: Measurement) -> str:
    hit = _series_cache.get(m.sensor)
    if hit is not None and hit[0] == m.kind and hit[1] == m.community and hit[2] == m.grid:
        return hit[3]
    key = _series_key(m.kind, m.community, m.grid, m.sensor)
    if len(_series_cache) >= _SERIES_CACHE_MAX:
        _series_cache.clear()
    _series_cache[m.sensor] = (m.kind, m.community, m.grid, key)
    return key


@lru_cache(maxsize=4_096)
def _layout(keys: tuple[str, ...], seq: bool, hub_timed: bool) -> tuple[tuple[str, str], ...]:
    """For a set of field names, (name, escaped `name=`) in key order, `seq`/`hub_timed` included.

    Devices of one kind send the same few field sets, so this is computed a handful of times."""
    names = [*keys, *([SEQ_FIELD] if seq else []), *([HUB_TIMED_FIELD] if hub_timed else [])]
    return tuple((name, f"{escape_key(name)}=") for name in sorted(names))


def encode(m: Measurement) -> str:
    """One line (no newline) for a Measurement, or "" when it has no storable field.

    Fields are in key order, floats as Python's shortest repr (`.0` trimmed), `seq` as an
    integer (`i`), `hub_timed=true` when the hub stamped the time; non-finite floats are left
    out (InfluxDB cannot store them; ingest has already refused them).
    """
    fields = m.fields
    seq = m.seq
    parts = []
    for name, prefix in _layout(tuple(fields), seq is not None, m.hub_timed):
        value = fields.get(name)
        if value is not None:
            if value - value == 0.0:  # finite: inf - inf and nan - nan are nan
                text = repr(value)  # inlined _float: this loop is the hot path
                parts.append(prefix + (text[:-2] if text[-2:] == ".0" else text))
        elif name == SEQ_FIELD:
            parts.append(f"{prefix}{seq}i")
        else:
            parts.append(prefix + "true")
    if not parts:
        return ""
    return f"{_series(m)}{','.join(parts)} {m.ts_ns}"


def encode_lines(measurements: Iterable[Measurement]) -> list[str]:
    """The non-empty lines for a batch, in order."""
    return [line for line in map(encode, measurements) if line]


def body(lines: Iterable[str]) -> bytes:
    """An HTTP write body: lines joined by newlines, UTF-8."""
    return "\n".join(lines).encode()
