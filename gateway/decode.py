"""Wire bytes to untrusted `Reading`s: the three payload forms of contract §2, nothing more.

Decoding knows the *shape* of a message (one JSON reading, a batch, a SenML pack) and nothing of
sensors, metrics or clocks; `gateway.validate` judges what comes out. A message that is not one
of the forms raises `DecodeError` (the only exception this module lets out); a malformed part of
a well-formed message (one batch entry, one SenML record) is kept as a `Problem` on its reading so
that its neighbours survive.

msgspec parses the common case; stdlib `json` is the fallback for the inputs msgspec refuses as a
whole but that we judge value by value (`NaN`, `Infinity`, `1e400`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.measurement import RejectReason

SENML_RELATIVE_LIMIT = 2**28
"""RFC 8428 §4.5.3: a resolved SenML time below 2**28 s is relative to the receive time."""

_READING_KEYS = frozenset({"ts", "values"})
_SENML_BASE = ("bn", "bt", "bu", "bv", "bver")
_SENML_VALUES = ("v", "vs", "vb", "vd")

json_decode = msgspec.json.Decoder().decode
"""msgspec's JSON parser; raises msgspec.DecodeError (a ValueError) on what it refuses."""


class DecodeError(Exception):
    """The whole message is refused: not JSON, not one of the payload forms, or too many readings.

    `reason` is the RejectReason to count it under (MALFORMED or TOO_LARGE).
    """

    def __init__(self, detail: str, reason: RejectReason = RejectReason.MALFORMED) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Problem:
    """Part of a reading that decoding refused; `metric` None means the whole reading."""

    detail: str
    metric: str | None = None


@dataclass(slots=True)
class Reading:
    """One reading instant as sent, untrusted.

    `values` maps a name to its value as sent (for the JSON forms, the payload's own `values`
    object, not a copy). `top` is the JSON reading object itself, where the health fields and any
    stray keys live (None for SenML, whose health fields arrive in `values`). `units` holds SenML
    units by name. For SenML, `ts` is the resolved time in seconds and `relative` says it counts
    from the receive time. `count` is how many values the reading carried, refused ones included.
    """

    ts: object
    values: Mapping[str, object]
    top: Mapping[str, object] | None = None
    units: Mapping[str, str] | None = None
    relative: bool = False
    problems: list[Problem] | None = None


def shown(text: str, limit: int = 64) -> str:
    """`text` cut to `limit` characters and made safe to store and log (no lone surrogates)."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages a device author understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _nonfinite(constant: str) -> float:
    return float(constant)  # NaN, Infinity, -Infinity: judged per value later


def parse_json(payload: bytes) -> Any:
    """Parse JSON text; `DecodeError` for anything that is not JSON we can judge."""
    try:
        return json_decode(payload)
    except RecursionError:
        raise DecodeError("JSON nested too deeply") from None
    except (msgspec.MsgspecError, ValueError):  # ValueError: UnicodeDecodeError in strings
        pass  # maybe NaN/Infinity/1e400, which stdlib json reads; retry below
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_nonfinite)
    except RecursionError:
        raise DecodeError("JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, and int digits past sys.get_int_max_str_digits
        raise DecodeError(f"not JSON: {shown(str(e), 120)}") from None


def decode(payload: bytes, max_batch: int) -> list[Reading]:
    """The readings of one telemetry message, in the order sent."""
    doc = parse_json(payload)
    if isinstance(doc, dict):
        if "readings" in doc:
            return _batch(doc, max_batch)
        return [_reading(doc)]
    if isinstance(doc, list):
        return _senml(doc, max_batch)
    raise DecodeError(f"expected a JSON object or a SenML array, got {type_name(doc)}")


def _reading(obj: dict[str, Any], where: str = "reading") -> Reading:
    values = obj.get("values")
    ts = obj.get("ts")
    if values is None:
        values = {}
    elif not isinstance(values, dict):
        return Reading(
            ts, {}, problems=[Problem(f"{where}: 'values' is {type_name(values)}, not an object")]
        )
    return Reading(ts, values, obj)


def _batch(doc: dict[str, Any], max_batch: int) -> list[Reading]:
    entries = doc["readings"]
    if not isinstance(entries, list):
        raise DecodeError(f"'readings' is {type_name(entries)}, not an array")
    if not entries:
        raise DecodeError("'readings' is empty")
    if len(entries) > max_batch:
        raise DecodeError(
            f"{len(entries)} readings in one message (at most {max_batch})",
            RejectReason.TOO_LARGE,
        )
    out: list[Reading] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict):
            out.append(_reading(entry, f"reading {i}"))
        else:
            problem = Problem(f"reading {i} is {type_name(entry)}, not an object")
            out.append(Reading(None, {}, problems=[problem]))
    extra = [k for k in doc if k != "readings"]
    if extra and out:
        # Stray keys beside 'readings' are refused once, on the first reading, so they are
        # counted rather than silently dropped.
        first = out[0]
        first.problems = [
            *(first.problems or ()),
            *(Problem(f"unexpected key {shown(k)!r} beside 'readings'", shown(k)) for k in extra),
        ]
    return out


def _senml(records: list[Any], max_batch: int) -> list[Reading]:
    """Resolve a SenML pack (RFC 8428 §4) into one Reading per distinct time.

    Base fields carry forward to later records; a record's metric is its `n` (the base name
    only says whose pack it is; the topic already does). A malformed base field or a record that
    is not an object makes the pack unreadable, as the RFC says; a record with a bad name, time,
    unit or value is refused on its own.
    """
    if not records:
        raise DecodeError("empty SenML pack")
    bt: float = 0
    bu: str | None = None
    bv: float = 0
    bn = ""
    groups: dict[float, Reading] = {}
    loose: list[Problem] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            # Not a SenML pack at all (RFC 8428 §4: an array of records); refusing it whole
            # also keeps `[1,1,1,...]` from turning 64 KiB into 32,000 rejections.
            raise DecodeError(f"SenML record {i} is {type_name(rec)}, not an object")
        if "bn" in rec:
            if not isinstance(rec["bn"], str):
                raise DecodeError(f"SenML record {i}: 'bn' is {type_name(rec['bn'])}")
            bn = rec["bn"]
        if "bt" in rec:
            bt = _base_number(rec, "bt", i)
        if "bv" in rec:
            bv = _base_number(rec, "bv", i)
        if "bu" in rec:
            if not isinstance(rec["bu"], str):
                raise DecodeError(f"SenML record {i}: 'bu' is {type_name(rec['bu'])}")
            bu = rec["bu"]
        name = rec.get("n", "")
        if not isinstance(name, str):
            loose.append(Problem(f"SenML record {i}: 'n' is {type_name(name)}, not a string"))
            continue
        present = [k for k in _SENML_VALUES if k in rec]
        if not present:
            if any(k in rec for k in _SENML_BASE):
                continue  # a record that only sets base fields
            loose.append(Problem(f"SenML record {i} has no value", shown(name) or None))
            continue
        name = shown(name or _tail(bn))  # it names rejections: keep it short and storable
        if not name:
            loose.append(Problem(f"SenML record {i} has no name"))
            continue
        must = [k for k in rec if k.endswith("_")]
        if must:
            loose.append(Problem(f"SenML record {i}: unsupported field {shown(must[0])!r}", name))
            continue
        if len(present) > 1:
            loose.append(Problem(f"SenML record {i} has several values", name))
            continue
        value = rec[present[0]]
        if present[0] == "v" and bv and _is_number(value):
            value = bv + value
        t = rec.get("t", 0)
        if not _is_finite(t):
            loose.append(Problem(f"SenML record {i}: 't' is not a finite number", name))
            continue
        unit = rec.get("u", bu)
        if unit is not None and not isinstance(unit, str):
            loose.append(Problem(f"SenML record {i}: 'u' is {type_name(unit)}", name))
            continue
        when = bt + t
        reading = groups.get(when)
        if reading is None:
            if len(groups) >= max_batch:
                raise DecodeError(
                    f"more than {max_batch} reading times in one SenML pack",
                    RejectReason.TOO_LARGE,
                )
            reading = Reading(
                when,
                {},
                units={},
                relative=when < SENML_RELATIVE_LIMIT,
            )
            groups[when] = reading
        values: dict[str, object] = reading.values  # type: ignore[assignment]
        if name in values:
            reading.problems = [
                *(reading.problems or ()),
                Problem(f"SenML record {i}: {shown(name)!r} given twice for one time", name),
            ]
            continue
        values[name] = value
        if unit is not None:
            reading.units[name] = unit  # type: ignore[index]
    out = list(groups.values())
    if loose:
        out.append(Reading(None, {}, problems=loose))
    return out


def _base_number(rec: dict[str, Any], key: str, i: int) -> float:
    value = rec[key]
    if not _is_finite(value):
        raise DecodeError(f"SenML record {i}: {key!r} is not a finite number")
    return value  # type: ignore[no-any-return]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value)


def _tail(base_name: str) -> str:
    """The last segment of a SenML base name (`urn:dev:x:pond-qp-01/do` -> `do`)."""
    for sep in ("/", ":"):
        base_name = base_name.rpartition(sep)[2]
    return base_name
