"""gateway.decode: the shape of a message, before anything is judged."""

from __future__ import annotations

import json

import pytest

from domain.measurement import RejectReason
from gateway.decode import DecodeError, decode, parse_json, shown


def test_single_reading_keeps_the_payloads_values_object() -> None:
    [r] = decode(b'{"ts": 5, "seq": 1, "values": {"do": 5.8}}', 10)
    assert r.ts == 5
    assert r.values == {"do": 5.8}
    assert r.top is not None
    assert r.top["seq"] == 1
    assert not r.relative
    assert r.problems is None


def test_batch_keeps_order_and_marks_bad_entries() -> None:
    readings = decode(b'{"readings": [{"ts": 2, "values": {"do": 1}}, 3, {"ts": 1}]}', 10)
    assert [r.ts for r in readings] == [2, None, 1]
    assert readings[1].problems is not None
    assert "reading 1 is number" in readings[1].problems[0].detail


def test_batch_limit_is_too_large() -> None:
    with pytest.raises(DecodeError) as e:
        decode(json.dumps({"readings": [{}] * 11}).encode(), 10)
    assert e.value.reason is RejectReason.TOO_LARGE


def test_senml_groups_records_by_resolved_time() -> None:
    bt = 1_764_144_000
    pack = [
        {"bn": "dev/", "bt": bt, "bu": "Cel", "n": "temp", "v": 1},
        {"n": "do", "u": "mg/L", "v": 2, "t": 0},
        {"n": "temp", "v": 3, "t": -10},
        {"bt": bt + 60},
        {"n": "ph", "v": 7},
    ]
    readings = decode(json.dumps(pack).encode(), 10)
    assert [(r.ts, dict(r.values), dict(r.units or {})) for r in readings] == [
        (bt, {"temp": 1, "do": 2}, {"temp": "Cel", "do": "mg/L"}),
        (bt - 10, {"temp": 3}, {"temp": "Cel"}),
        (bt + 60, {"ph": 7}, {"ph": "Cel"}),  # the base unit carries on, as RFC 8428 says
    ]
    assert not any(r.relative for r in readings)


def test_senml_small_times_are_relative() -> None:
    [r] = decode(b'[{"n": "do", "v": 1, "t": -30}]', 10)
    assert r.relative
    assert r.ts == -30
    [r] = decode(b'[{"n": "do", "v": 1, "t": 1764144000}]', 10)
    assert not r.relative


def test_senml_name_falls_back_to_base_name_tail() -> None:
    [r] = decode(b'[{"bn": "urn:dev:pond-qp-01:do", "v": 1, "t": 1764144000}]', 10)
    assert dict(r.values) == {"do": 1}


@pytest.mark.parametrize(
    "payload",
    [b"[]", b'[{"bn": 5, "n": "do", "v": 1}]', b'[{"bt": NaN, "n": "do", "v": 1}]', b'[{"bu": 1}]'],
)
def test_senml_pack_level_problems(payload: bytes) -> None:
    with pytest.raises(DecodeError) as e:
        decode(payload, 10)
    assert e.value.reason is RejectReason.MALFORMED


def test_parse_json_reads_non_finite_literals() -> None:
    doc = parse_json(b"[NaN, Infinity, -Infinity, 1e400, 1.5]")
    assert [repr(x) for x in doc] == ["nan", "inf", "-inf", "inf", "1.5"]


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"\xc3\x28", "not UTF-8"),
        (b'{"values": {"do": "\xff\xfe"}}', "not UTF-8"),  # inside a string, msgspec raises
        (b'{"\xed\xa0\x80": 1}', "not UTF-8"),  # an encoded surrogate
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a": [' * 2_000 + b"1" + b"]}" * 2_000, "nested too deeply"),
        (b"{'single': 'quotes'}", "not JSON"),
        (b"1" * 5_000, "not JSON"),
    ],
)
def test_parse_json_declares_every_failure(payload: bytes, words: str) -> None:
    with pytest.raises(DecodeError) as e:
        parse_json(payload)
    assert words in e.value.detail


def test_shown_is_storable_and_bounded() -> None:
    assert shown("\ud800abc").encode("utf-8")
    assert len(shown("x" * 1000)) == 65
