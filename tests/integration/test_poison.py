"""Hostile and awkward streams through a real Mosquitto and gateway into a real InfluxDB:
thousands of poison messages between good ones (every rejection reason, deep nesting, 64 KiB
of junk), a replay of the same messages, and a device's cached backlog of old readings arriving
after newer ones. Good readings keep flowing, every rejection is counted exactly, and
InfluxDB holds each reading once."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from domain.measurement import RejectReason
from tests.harness import InfluxDB, Mosquitto
from tests.integration.test_faults_broker import (
    Record,
    new_client_id,
    report,
    running_gateway,
    stored,
)
from tests.integration.test_gateway_e2e import influxql, publish


def j(obj: object) -> bytes:
    return json.dumps(obj).encode()


def poison_kinds(prefix: str, t: int) -> list[tuple[RejectReason, str, bytes]]:
    """One message per kind of poison, each refused whole with exactly one rejection."""
    pond = f"{prefix}/pond/pond-01/telemetry"
    junk = random.Random(7)  # noqa: S311 - reproducible junk, not secrets
    return [
        (RejectReason.MALFORMED, pond, b"not json{"),
        (RejectReason.MALFORMED, pond, b"[" * 50_000),  # nesting bomb under the size limit
        (RejectReason.MALFORMED, pond, b'{"values":' * 5_000 + b"1" + b"}" * 5_000),
        (RejectReason.MALFORMED, pond, junk.randbytes(65_536)),  # 64 KiB of junk
        (RejectReason.TOO_LARGE, pond, junk.randbytes(65_537)),
        (RejectReason.UNKNOWN_SENSOR, f"{prefix}/pond/pond-99/telemetry", j({"values": {"do": 5}})),
        (RejectReason.KIND_MISMATCH, f"{prefix}/water/pond-01/telemetry", j({"values": {"do": 5}})),
        (RejectReason.UNKNOWN_METRIC, pond, j({"ts": t, "values": {"voltage": 230.0}})),
        (RejectReason.NOT_FINITE, pond, f'{{"ts": {t}, "values": {{"do": NaN}}}}'.encode()),
        (RejectReason.IMPLAUSIBLE, pond, j({"ts": t, "values": {"ph": 99}})),
        (
            RejectReason.BAD_UNIT,
            pond,
            j([{"bn": "urn:dev:pond-01:", "bt": t, "n": "do", "u": "furlong", "v": 5}]),
        ),
        (RejectReason.FUTURE_TS, pond, j({"ts": int(time.time()) + 3_600, "values": {"do": 5}})),
        (RejectReason.TOO_OLD, pond, j({"ts": 1_000, "values": {"do": 5}})),
    ]


def good(prefix: str, t0: int, i: int) -> tuple[str, bytes]:
    return (
        f"{prefix}/pond/pond-01/telemetry",
        j({"ts": t0 + i, "seq": i, "values": {"do": 5.0 + i % 7 / 10, "ph": 7.0}}),
    )


def flood(
    prefix: str, goods: int, poison_per_good: int
) -> tuple[list[tuple[str, bytes]], dict[RejectReason, int]]:
    """`goods` good messages, each followed by `poison_per_good` poison ones (cycling through
    every kind); returns the messages and the rejections they must cause."""
    t0 = int(time.time()) - 7_200
    kinds = poison_kinds(prefix, t0 - 1)
    messages: list[tuple[str, bytes]] = []
    expected: dict[RejectReason, int] = {}
    k = 0
    for i in range(goods):
        messages.append(good(prefix, t0, i))
        for _ in range(poison_per_good):
            reason, topic, payload = kinds[k % len(kinds)]
            k += 1
            messages.append((topic, payload))
            expected[reason] = expected.get(reason, 0) + 1
    return messages, expected


def rejected(gw: Any) -> dict[RejectReason, int]:
    out = {}
    for r in RejectReason:
        n = int(gw.sample("gridwatch_gateway_rejections_total", reason=r.value))
        if n:
            out[r] = n
    return out


async def contents(influx: InfluxDB, db: str) -> list[list[Any]]:
    series = await influxql(influx, db, "SELECT * FROM pond")
    return [v for s in series for v in s["values"]]


async def test_poison_flood_never_stalls_good_readings(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    messages, expected = flood(topic_prefix, goods=400, poison_per_good=8)
    goods = len(messages) - sum(expected.values())
    async with running_gateway(
        mosquitto.url, influxdb, topic_prefix, influx_db, client_id=new_client_id()
    ) as gw:
        started = time.monotonic()
        await publish(mosquitto, messages)
        published = time.monotonic()
        await gw.until_committed(len(messages))
        lag = time.monotonic() - published
        assert await stored(influxdb, influx_db) == goods
        assert rejected(gw) == expected
        assert gw.rejections.counts == expected
        assert gw.gateway.source.pending == 0
    report(
        record_property,
        "poison_flood",
        messages=len(messages),
        good=goods,
        poison=sum(expected.values()),
        stored=goods,
        publish_s=round(published - started, 2),
        lag_after_last_publish_s=round(lag, 2),
    )
    assert lag < 5.0, "good readings are stored within seconds of the last publish"
    # every reason a payload can earn; retired_sensor needs a registry change (test_registry_live)
    assert set(expected) | {RejectReason.RETIRED_SENSOR} == set(RejectReason), "every reason"


async def test_replay_leaves_influxdb_unchanged(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    messages, expected = flood(topic_prefix, goods=300, poison_per_good=2)
    goods = len(messages) - sum(expected.values())
    async with running_gateway(
        mosquitto.url, influxdb, topic_prefix, influx_db, client_id=new_client_id()
    ) as gw:
        await publish(mosquitto, messages)
        await gw.until_committed(len(messages))
        first = await contents(influxdb, influx_db)
        await publish(mosquitto, messages)  # the same messages again, e.g. a device resending
        await gw.until_committed(2 * len(messages))
        again = await contents(influxdb, influx_db)
        assert rejected(gw) == {r: 2 * n for r, n in expected.items()}
    report(
        record_property, "replay", sent=2 * len(messages), distinct_good=goods, stored=len(again)
    )
    assert len(first) == goods
    assert again == first


async def test_out_of_order_backlog_is_stored_once(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    """A device back from a dead zone: it sends its live readings first, then the cached ones
    (older, some overlapping what it already sent live) as one batch message."""
    t0 = int(time.time()) - 4 * 3_600
    topic = f"{topic_prefix}/pond/pond-01/telemetry"

    def reading(i: int) -> dict[str, Any]:
        return {"ts": t0 + 60 * i, "seq": i, "values": {"do": 4.0 + i / 100, "ph": 7.1}}

    live = [(topic, j(reading(i))) for i in range(100, 150)]
    backlog = [(topic, j({"readings": [reading(i) for i in range(120)]}))]  # 100..119 overlap
    late_live = [(topic, j(reading(i))) for i in range(150, 160)]
    async with running_gateway(
        mosquitto.url, influxdb, topic_prefix, influx_db, client_id=new_client_id()
    ) as gw:
        await publish(mosquitto, live + backlog + late_live)
        await gw.until_committed(len(live) + len(backlog) + len(late_live))
        assert rejected(gw) == {}
    rows = await contents(influxdb, influx_db)
    series = await influxql(influxdb, influx_db, "SELECT * FROM pond")
    columns = series[0]["columns"]
    times = [r[columns.index("time")] for r in rows]
    seqs = [r[columns.index("seq")] for r in rows]
    report(
        record_property,
        "out_of_order_backlog",
        readings_sent=50 + 120 + 10,
        distinct=160,
        stored=len(rows),
    )
    assert times == [(t0 + 60 * i) * 10**9 for i in range(160)]
    assert seqs == list(range(160))
