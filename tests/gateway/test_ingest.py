"""ingest(): one message in, the Measurements and Rejections a device author would expect out."""

from __future__ import annotations

import json

import pytest

from domain.catalog import Kind
from domain.measurement import Outcome, RejectReason
from gateway.ingest import FLOOR_NS, MAX_ITEMIZED, IngestPolicy, ingest, parse_status
from tests.gateway.ingest_site import NOW_NS, POND, POWER, TS, WATER, registry

REG = registry()


def run(payload: object, topic: str = POND, policy: IngestPolicy | None = None) -> Outcome:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ingest(topic, raw, REG, NOW_NS, policy or IngestPolicy())


def reasons(out: Outcome) -> list[tuple[RejectReason, str | None]]:
    return [(r.reason, r.metric) for r in out.rejections]


# ------------------------------------------------------------------ payload forms


def test_single_reading_becomes_one_measurement_with_health_and_seq() -> None:
    out = run(
        {"ts": TS, "seq": 812, "battery_v": 3.61, "rssi_dbm": -71, "values": {"do": 5.8, "ph": 7}}
    )
    assert out.rejections == []
    [m] = out.measurements
    assert (m.sensor, m.kind, m.grid, m.community) == ("pond-qp-01", Kind.POND, "qp-g1", "qingping")
    assert m.ts_ns == TS * 10**9
    assert m.fields == {"do": 5.8, "ph": 7.0, "battery_v": 3.61, "rssi_dbm": -71.0}
    assert all(type(v) is float for v in m.fields.values())
    assert m.seq == 812
    assert not m.hub_timed


def test_batch_is_judged_reading_by_reading() -> None:
    out = run(
        {
            "readings": [
                {"ts": TS - 600, "values": {"do": 6.0}},
                {"ts": TS - 300, "values": {"do": "high", "ph": 7.1}},
                {"ts": TS, "values": {"do": 5.8}},
            ]
        }
    )
    assert [m.ts_ns // 10**9 for m in out.measurements] == [TS - 600, TS - 300, TS]
    assert [m.fields for m in out.measurements] == [{"do": 6.0}, {"ph": 7.1}, {"do": 5.8}]
    assert reasons(out) == [(RejectReason.MALFORMED, "do")]


def test_batch_out_of_order_and_old_is_kept_in_order_sent() -> None:
    out = run(
        {"readings": [{"ts": TS, "values": {"do": 1}}, {"ts": TS - 86_400, "values": {"do": 2}}]}
    )
    assert [m.fields["do"] for m in out.measurements] == [1.0, 2.0]


def test_senml_pack_with_base_fields_units_and_times() -> None:
    pack = [
        {"bn": "urn:dev:gw:pond-qp-01/", "bt": TS, "bu": "Cel", "n": "temp", "v": 18.5},
        {"n": "temp", "u": "K", "v": 291.15, "t": -300},
        {"n": "do", "u": "mg/L", "v": 5.8},
        {"n": "orp", "u": "V", "v": 0.12},
    ]
    out = run(pack)
    assert out.rejections == []
    by_ts = {m.ts_ns // 10**9: m.fields for m in out.measurements}
    assert set(by_ts) == {TS, TS - 300}
    assert by_ts[TS] == {"temp": 18.5, "do": 5.8, "orp": pytest.approx(120.0)}
    assert by_ts[TS - 300] == {"temp": pytest.approx(18.0)}


def test_senml_relative_time_is_hub_timed_from_receipt() -> None:
    out = run([{"n": "do", "v": 5.0, "t": -60}, {"n": "ph", "v": 7.0}])
    assert {(m.ts_ns, m.hub_timed) for m in out.measurements} == {
        (NOW_NS - 60 * 10**9, True),
        (NOW_NS, True),
    }


def test_senml_base_value_and_health_names() -> None:
    out = run(
        [
            {"bt": TS, "bv": 5.0, "n": "do", "v": 0.5},
            {"n": "battery_v", "v": -1.4},
            {"n": "seq", "v": 9},
        ]
    )
    [m] = out.measurements
    assert m.fields == {"do": 5.5, "battery_v": 3.6}
    assert m.seq == 14  # bv applies to every later v, seq included


def test_senml_string_and_boolean_values_are_malformed() -> None:
    out = run([{"bt": TS, "n": "do", "vs": "5.8"}, {"n": "ph", "vb": True}, {"n": "orp", "v": 100}])
    assert reasons(out) == [(RejectReason.MALFORMED, "do"), (RejectReason.MALFORMED, "ph")]
    assert out.measurements[0].fields == {"orp": 100.0}


def test_missing_ts_is_hub_timed() -> None:
    [m] = run({"values": {"do": 5}}).measurements
    assert m.ts_ns == NOW_NS
    assert m.hub_timed


# ------------------------------------------------------------------ message-level reasons


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("sensors/pond/nobody-here/telemetry", RejectReason.UNKNOWN_SENSOR),
        ("sensors/water/pond-qp-01/telemetry", RejectReason.KIND_MISMATCH),
        ("sensors/pond/pond-qp-01/status", RejectReason.MALFORMED),
        ("other/pond/pond-qp-01/telemetry", RejectReason.MALFORMED),
        ("sensors/pond/pond-qp-01/telemetry/extra", RejectReason.MALFORMED),
    ],
)
def test_topic_problems_reject_the_whole_message(topic: str, reason: RejectReason) -> None:
    out = run({"ts": TS, "values": {"do": 5}}, topic=topic)
    assert out.measurements == []
    assert reasons(out) == [(reason, None)]
    assert out.rejections[0].topic == topic


def test_rejection_names_sensor_only_when_registered() -> None:
    unknown = run({"values": {"do": 5}}, topic="sensors/pond/pond-xx-99/telemetry")
    mismatch = run({"values": {"do": 5}}, topic="sensors/water/pond-qp-01/telemetry")
    assert unknown.rejections[0].sensor is None
    assert mismatch.rejections[0].sensor == "pond-qp-01"


def test_topic_prefix_is_a_policy() -> None:
    out = run(
        {"ts": TS, "values": {"do": 5}},
        "site7/pond/pond-qp-01/telemetry",
        IngestPolicy(prefix="site7"),
    )
    assert len(out.measurements) == 1


def test_too_large_payload() -> None:
    payload = json.dumps({"ts": TS, "values": {"do": 5}, "pad": "x" * 70_000}).encode()
    out = run(payload)
    assert reasons(out) == [(RejectReason.TOO_LARGE, None)]
    assert len(out.rejections[0].payload_head) == 200


def test_too_many_readings_in_a_batch() -> None:
    out = run({"readings": [{"values": {"do": 5}}] * 3}, policy=IngestPolicy(max_batch=2))
    assert out.measurements == []
    assert reasons(out) == [(RejectReason.TOO_LARGE, None)]


def test_too_many_senml_times() -> None:
    pack = [{"bt": TS, "n": "do", "v": 5, "t": -i} for i in range(3)]
    out = run(pack, policy=IngestPolicy(max_batch=2))
    assert reasons(out) == [(RejectReason.TOO_LARGE, None)]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b'{"values": {"do": 5}',
        b"[" * 30_000 + b"]" * 30_000,
        b"{" * 30_000,
        b'"just a string"',
        b"42",
        b"null",
        b"[]",
        b'{"readings": {"ts": 1}}',
        b'{"ts": 1764144000, "values": {"do": 5}, "x": ' + b"1" * 5000 + b"}",
        b'[{"bt": "yesterday", "n": "do", "v": 5}]',
        b'[{"bt": 1764144000, "n": "do", "v": 5}, 5]',  # a non-record: not SenML at all
        b'{"readings": []}',
    ],
)
def test_malformed_message(payload: bytes) -> None:
    out = run(payload)
    assert out.measurements == []
    assert [r.reason for r in out.rejections] == [RejectReason.MALFORMED]
    assert not out.rejections[0].detail.startswith("internal error")


def test_invalid_utf8_head_is_replaced_not_raised() -> None:
    out = run(b'{"values": {"do": "\xff\xfe"}}')
    [r] = out.rejections
    assert r.reason is RejectReason.MALFORMED
    assert "\ufffd" in r.payload_head
    r.payload_head.encode("utf-8")  # storable as text


# ------------------------------------------------------------------ value-level reasons


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"salinity": 3.0}, RejectReason.UNKNOWN_METRIC),
        ({"voltage": 220.0}, RejectReason.UNKNOWN_METRIC),  # a power metric on a pond
        ({"do": 26.0}, RejectReason.IMPLAUSIBLE),
        ({"ph": -1}, RejectReason.IMPLAUSIBLE),
        ({"do": "5.8"}, RejectReason.MALFORMED),
        ({"do": True}, RejectReason.MALFORMED),
        ({"do": None}, RejectReason.MALFORMED),
        ({"do": [5.8]}, RejectReason.MALFORMED),
        ({"do": {"v": 5.8}}, RejectReason.MALFORMED),
    ],
)
def test_bad_value_is_rejected_and_its_neighbour_kept(
    values: dict[str, object], reason: RejectReason
) -> None:
    out = run({"ts": TS, "values": {**values, "nh3n": 0.9}})
    assert reasons(out) == [(reason, next(iter(values)))]
    [m] = out.measurements
    assert m.fields == {"nh3n": 0.9}


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
def test_non_finite_value_is_rejected_and_its_neighbour_kept(literal: bytes) -> None:
    out = run(b'{"ts": 1764144000, "values": {"do": ' + literal + b', "ph": 7.2}}')
    assert reasons(out) == [(RejectReason.NOT_FINITE, "do")]
    assert out.measurements[0].fields == {"ph": 7.2}


def test_non_finite_in_batch_and_senml() -> None:
    batch = run(
        b'{"readings": [{"ts": 1764144000, "values": {"do": NaN}}, '
        b'{"ts": 1764144001, "values": {"do": 5}}]}'
    )
    senml = run(b'[{"bt": 1764144000, "n": "do", "v": Infinity}, {"n": "ph", "v": 7}]')
    assert reasons(batch) == [(RejectReason.NOT_FINITE, "do")]
    assert [m.fields for m in batch.measurements] == [{"do": 5.0}]
    assert reasons(senml) == [(RejectReason.NOT_FINITE, "do")]
    assert [m.fields for m in senml.measurements] == [{"ph": 7.0}]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"n": "temp", "u": "furlong", "v": 3}, RejectReason.BAD_UNIT),
        ({"n": "do", "u": "ppm", "v": 3}, RejectReason.BAD_UNIT),
        ({"n": "temp", "u": "K", "v": 100}, RejectReason.IMPLAUSIBLE),  # -173 °C
        ({"n": "orp", "u": "V", "v": 1e308}, RejectReason.NOT_FINITE),  # overflows in mV
        ({"n": "temp", "u": 5, "v": 3}, RejectReason.MALFORMED),
    ],
)
def test_senml_unit_problems(record: dict[str, object], reason: RejectReason) -> None:
    out = run([{"bt": TS, "n": "ph", "v": 7.0}, record])
    assert reasons(out) == [(reason, record["n"])]
    assert out.measurements[0].fields == {"ph": 7.0}


def test_power_units_convert() -> None:
    out = run(
        [{"bt": TS, "n": "voltage", "u": "kV", "v": 0.231}, {"n": "current", "u": "mA", "v": 1500}],
        POWER,
    )
    assert out.measurements[0].fields == {"voltage": pytest.approx(231.0), "current": 1.5}


def test_water_pressure_in_kpa() -> None:
    out = run([{"bt": TS, "n": "pressure", "u": "kPa", "v": 280}], WATER)
    assert out.measurements[0].fields == {"pressure": pytest.approx(0.28)}


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"battery_v": 7.5}, RejectReason.IMPLAUSIBLE),
        ({"rssi_dbm": 10}, RejectReason.IMPLAUSIBLE),
        ({"battery_v": "3.6"}, RejectReason.MALFORMED),
        ({"seq": -1}, RejectReason.IMPLAUSIBLE),
        ({"seq": 2**64}, RejectReason.IMPLAUSIBLE),
        ({"seq": 3.5}, RejectReason.MALFORMED),
        ({"seq": True}, RejectReason.MALFORMED),
        ({"do": 5.0}, RejectReason.UNKNOWN_METRIC),  # a metric beside 'values', not in it
    ],
)
def test_health_field_problems(extra: dict[str, object], reason: RejectReason) -> None:
    out = run({"ts": TS, "values": {"ph": 7.0}, **extra})
    assert reasons(out) == [(reason, next(iter(extra)))]
    assert out.measurements[0].fields == {"ph": 7.0}
    assert out.measurements[0].seq is None


def test_integral_float_seq_is_an_integer() -> None:
    [m] = run({"ts": TS, "seq": 812.0, "values": {"ph": 7.0}}).measurements
    assert m.seq == 812
    assert type(m.seq) is int


def test_value_rejection_carries_context() -> None:
    out = run({"ts": TS, "values": {"do": 99}})
    [r] = out.rejections
    assert r.topic == POND
    assert r.sensor == "pond-qp-01"
    assert r.metric == "do"
    assert r.received_at_ns == NOW_NS
    assert r.payload_head == '{"ts": 1764144000, "values": {"do": 99}}'
    assert "do" in r.detail
    assert "0..25" in r.detail


# ------------------------------------------------------------------ reading times


@pytest.mark.parametrize(
    ("ts", "expected_ns"),
    [
        (TS, TS * 10**9),
        (TS + 0.25, TS * 10**9 + 250_000_000),
        (TS * 1000 + 7, TS * 10**9 + 7_000_000),
        ("2025-11-26T08:00:00Z", TS * 10**9),
        ("2025-11-26T16:00:00.5+08:00", TS * 10**9 + 500_000_000),
    ],
)
def test_accepted_time_forms(ts: object, expected_ns: int) -> None:
    [m] = run({"ts": ts, "values": {"do": 5}}).measurements
    assert m.ts_ns == expected_ns
    assert not m.hub_timed


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (0, RejectReason.TOO_OLD),  # 1970
        (946_684_800, RejectReason.TOO_OLD),  # 2000: an RTC reset
        (-5, RejectReason.TOO_OLD),
        ("1970-01-01T00:00:00Z", RejectReason.TOO_OLD),
        (NOW_NS // 10**9 + 301, RejectReason.FUTURE_TS),
        (TS * 10**6, RejectReason.FUTURE_TS),  # microseconds: read as ms, far future
        (10**30, RejectReason.FUTURE_TS),
        ("2999-01-01T00:00:00Z", RejectReason.FUTURE_TS),
        ("2025-11-26T08:00:00", RejectReason.MALFORMED),  # no offset
        ("yesterday", RejectReason.MALFORMED),
        ("9" * 500, RejectReason.MALFORMED),
        (True, RejectReason.MALFORMED),
        ([TS], RejectReason.MALFORMED),
    ],
)
def test_refused_times_reject_the_reading(ts: object, reason: RejectReason) -> None:
    out = run(
        {"readings": [{"ts": ts, "values": {"do": 5, "ph": 7}}, {"ts": TS, "values": {"do": 6}}]}
    )
    assert reasons(out) == [(reason, None)]
    assert [m.fields for m in out.measurements] == [{"do": 6.0}]


def test_future_within_five_minutes_is_accepted() -> None:
    assert len(run({"ts": NOW_NS // 10**9 + 299, "values": {"do": 5}}).measurements) == 1


def test_retention_window() -> None:
    policy = IngestPolicy(retention_ns=3600 * 10**9)
    out = run(
        {"readings": [{"ts": TS - 7200, "values": {"do": 5}}, {"ts": TS, "values": {"do": 6}}]},
        policy=policy,
    )
    assert reasons(out) == [(RejectReason.TOO_OLD, None)]
    assert len(out.measurements) == 1
    assert FLOOR_NS == 1_262_304_000 * 10**9


def test_non_finite_float_time() -> None:
    out = run(b'{"ts": NaN, "values": {"do": 5}}')
    assert reasons(out) == [(RejectReason.MALFORMED, None)]


# ------------------------------------------------------------------ one measurement per instant


def test_readings_on_the_same_instant_merge() -> None:
    out = run(
        {
            "readings": [
                {"ts": TS, "values": {"do": 5}},
                {"ts": TS * 1000, "values": {"ph": 7}},  # the same instant in ms
                {"ts": "2025-11-26T08:00:00Z", "values": {"do": 6}},
            ]
        }
    )
    [m] = out.measurements
    assert m.fields == {"do": 5.0, "ph": 7.0}
    assert reasons(out) == [(RejectReason.MALFORMED, "do")]
    assert "twice" in out.rejections[0].detail


def test_hub_timed_readings_share_the_receive_instant() -> None:
    out = run({"readings": [{"values": {"do": 5}, "seq": 1}, {"values": {"ph": 7}, "seq": 2}]})
    [m] = out.measurements
    assert m.fields == {"do": 5.0, "ph": 7.0}
    assert m.seq == 1
    assert reasons(out) == [(RejectReason.MALFORMED, "seq")]


def test_senml_name_twice_at_one_time() -> None:
    out = run([{"bt": TS, "n": "do", "v": 5}, {"n": "do", "v": 6}])
    assert out.measurements[0].fields == {"do": 5.0}
    assert reasons(out) == [(RejectReason.MALFORMED, "do")]


# ------------------------------------------------------------------ reading-level shape problems


@pytest.mark.parametrize(
    "reading",
    [{"ts": TS}, {"ts": TS, "values": {}}, {"ts": TS, "values": [5]}, "a string", 7, None],
)
def test_empty_or_misshapen_reading_is_rejected_once(reading: object) -> None:
    out = run({"readings": [reading, {"ts": TS - 1, "values": {"do": 5}}]})
    assert reasons(out) == [(RejectReason.MALFORMED, None)]
    assert len(out.measurements) == 1


def test_stray_batch_keys_are_counted_not_dropped_silently() -> None:
    out = run({"device": "x", "readings": [{"ts": TS, "values": {"do": 5}}]})
    assert reasons(out) == [(RejectReason.MALFORMED, "device")]
    assert len(out.measurements) == 1


@pytest.mark.parametrize(
    "record",
    [
        {"n": "do"},
        {"v": 5},
        {"n": 5, "v": 5},
        {"n": "do", "v": 5, "t": "now"},
        {"n": "do", "v": 5, "vs": "5"},
        {"n": "do", "v": 5, "x_": 1},
    ],
)
def test_misshapen_senml_record_is_rejected_alone(record: object) -> None:
    out = run([{"bt": TS, "n": "ph", "v": 7}, record])
    assert [r.reason for r in out.rejections] == [RejectReason.MALFORMED]
    assert out.measurements[0].fields == {"ph": 7.0}


# ------------------------------------------------------------------ status


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"online", True),
        (b"offline", False),
        (b" ONLINE\n", True),
        (b'"offline"', False),
        (b"", None),
        (b"on", None),
        (b"\xff", None),
        (b"online" * 100, None),
    ],
)
def test_parse_status(payload: bytes, expected: bool | None) -> None:
    assert parse_status(payload) is expected


# ------------------------------------------------------------------ amplification and hostile names


def test_rejections_per_message_are_bounded() -> None:
    values = {f"m{i}": 1 for i in range(MAX_ITEMIZED + 500)}
    out = run({"ts": TS, "values": {**values, "do": 5}})
    assert len(out.rejections) == MAX_ITEMIZED + 1
    assert {r.reason for r in out.rejections[:-1]} == {RejectReason.UNKNOWN_METRIC}
    summary = out.rejections[-1]
    assert summary.reason is RejectReason.TOO_LARGE
    assert summary.detail.startswith("500 more")
    assert out.measurements[0].fields == {"do": 5.0}


@pytest.mark.parametrize(
    "payload",
    [
        rb'{"ts": 1764144000, "values": {"\ud800x": 1, "do": 5}}',
        rb'[{"bt": 1764144000, "n": "\udfffy", "v": 1}, {"n": "do", "v": 5}]',
        rb'[{"bt": 1764144000, "n": "\ud800", "v": 1, "t": "x"}, {"n": "do", "v": 5}]',
        rb'{"ts": 1764144000, "values": {"do": 5}, "\ud800": 1}',
    ],
)
def test_lone_surrogate_names_give_storable_rejections(payload: bytes) -> None:
    out = run(payload)
    [r] = out.rejections
    assert r.metric is not None
    r.metric.encode("utf-8")
    r.detail.encode("utf-8")
    assert out.measurements[0].fields == {"do": 5.0}


def test_topic_memo_stays_bounded_under_junk_topics() -> None:
    from gateway import ingest as module

    for i in range(module._TOPIC_MEMO + 10):
        run({"values": {"do": 5}}, topic=f"sensors/pond/junk-{i}/telemetry")
    assert len(module._TOPICS) <= module._TOPIC_MEMO
    assert len(run({"ts": TS, "values": {"do": 5}}).measurements) == 1
