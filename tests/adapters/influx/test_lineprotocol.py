"""The line-protocol encoder agrees with influxdb-client's `Point` (the reference encoder) on
random measurements, including hostile tag text, and says what we promise about the rest."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from influxdb_client import Point

from adapters.influx.lineprotocol import body, encode, encode_lines
from domain.catalog import Kind
from domain.measurement import Measurement

hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", "=", " ", "\\", '"', "\n", "\r", "\t", "#", "'"]),
        st.characters(codec="utf-8"),
    ),
    max_size=20,
)
field_keys = st.text(
    alphabet=st.one_of(st.sampled_from([",", "=", " ", "_"]), st.characters(codec="utf-8")),
    min_size=1,
    max_size=12,
)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def measurements(draw: st.DrawFn) -> Measurement:
    return Measurement(
        sensor=draw(hostile_text),
        kind=draw(st.sampled_from(list(Kind))),
        grid=draw(hostile_text),
        community=draw(hostile_text),
        ts_ns=draw(st.integers(min_value=0, max_value=2**63 - 1)),
        fields=draw(
            st.dictionaries(
                field_keys.filter(lambda k: k not in ("seq", "hub_timed")), floats, max_size=6
            )
        ),
        seq=draw(st.none() | st.integers(min_value=0, max_value=2**63 - 1)),
        hub_timed=draw(st.booleans()),
    )


def reference(m: Measurement) -> str:
    p = Point(str(m.kind)).tag("community", m.community).tag("grid", m.grid)
    p = p.tag("sensor", m.sensor).time(m.ts_ns)
    for k, v in m.fields.items():
        p = p.field(k, v)
    if m.seq is not None:
        p = p.field("seq", m.seq)
    if m.hub_timed:
        p = p.field("hub_timed", True)
    return str(p.to_line_protocol())


@given(measurements())
def test_encoder_agrees_with_influxdb_client_point(m: Measurement) -> None:
    assert encode(m) == reference(m)


@given(measurements())
def test_one_measurement_is_one_line(m: Measurement) -> None:
    line = encode(m)
    assert "\n" not in line
    assert "\r" not in line


def test_a_reading_encodes_as_the_contract_schema() -> None:
    m = Measurement(
        sensor="pond-qp-01",
        kind=Kind.POND,
        grid="qp-g1",
        community="qingping",
        ts_ns=1_764_144_000_000_000_000,
        fields={"ph": 7.2, "do": 5.0, "battery_v": 3.61},
        seq=812,
    )
    assert encode(m) == (
        "pond,community=qingping,grid=qp-g1,sensor=pond-qp-01 "
        "battery_v=3.61,do=5,ph=7.2,seq=812i 1764144000000000000"
    )


def test_hub_timed_readings_carry_a_boolean_marker() -> None:
    m = Measurement("s-01", Kind.WATER, "g-01", "c-01", 1, {"pressure": 0.31}, hub_timed=True)
    assert encode(m) == "water,community=c-01,grid=g-01,sensor=s-01 hub_timed=true,pressure=0.31 1"


def test_a_measurement_without_finite_fields_is_left_out_of_a_batch() -> None:
    empty = Measurement("s-01", Kind.WATER, "g-01", "c-01", 1, {"pressure": math.nan})
    good = Measurement("s-01", Kind.WATER, "g-01", "c-01", 2, {"pressure": 0.3})
    lines = encode_lines([empty, good, empty])
    assert lines == ["water,community=c-01,grid=g-01,sensor=s-01 pressure=0.3 2"]
    assert body(lines + lines) == (lines[0] + "\n" + lines[0]).encode()
