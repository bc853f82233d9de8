"""Random unknown sensor ids through a real Mosquitto and gateway: every message is refused as
`unknown_sensor` before InfluxDB, whose series cardinality does not move."""

from __future__ import annotations

import json
import random
import string
import time

from domain.measurement import RejectReason
from tests.harness import InfluxDB, Mosquitto
from tests.integration.test_faults_broker import Record, new_client_id, report, running_gateway
from tests.integration.test_gateway_e2e import influxql, publish

ALPHABET = string.ascii_letters + string.digits + "-_.,= \\\"'$%&*()[]{}<>|;:`~^!?@" + "点水塘é"


def unknown_ids(n: int, seed: int) -> list[str]:
    """Ids a registry would never hold: random text (no MQTT wildcards or level separators),
    and near-misses of real ids (case, padding, suffixes)."""
    rnd = random.Random(seed)  # noqa: S311 - reproducible test data
    near = ["POND-01", "pond-01 ", " pond-01", "pond-1", "pond-01-", "pond_01", "pond-010"]
    ids = set(near)
    while len(ids) < n:
        ids.add("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 40))))
    return sorted(ids)


async def cardinality(influx: InfluxDB, db: str) -> int:
    return sum(len(s["values"]) for s in await influxql(influx, db, "SHOW SERIES"))


async def test_unknown_ids_never_reach_influxdb(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    record_property: Record,
) -> None:
    ts = int(time.time()) - 60
    payload = json.dumps({"ts": ts, "values": {"do": 5.0, "ph": 7.0}}).encode()
    known = [(f"{topic_prefix}/pond/pond-01/telemetry", payload)]
    ids = unknown_ids(500, seed=11)
    hostile = [(f"{topic_prefix}/pond/{sensor}/telemetry", payload) for sensor in ids]
    async with running_gateway(
        mosquitto.url, influxdb, topic_prefix, influx_db, client_id=new_client_id()
    ) as gw:
        await publish(mosquitto, known)
        await gw.until_committed(1)
        before = await cardinality(influxdb, influx_db)
        await publish(mosquitto, hostile)
        await gw.until_committed(1 + len(hostile))
        after = await cardinality(influxdb, influx_db)
        unknown = gw.sample("gridwatch_gateway_rejections_total", reason="unknown_sensor")
        assert gw.rejections.counts == {RejectReason.UNKNOWN_SENSOR: len(hostile)}
    report(
        record_property,
        "unknown_ids",
        sent=len(hostile),
        rejected=int(unknown),
        series_before=before,
        series_after=after,
    )
    assert before == after == 1
    assert unknown == len(hostile)
