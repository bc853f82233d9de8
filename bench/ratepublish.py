"""bench.live's publishers: child processes publishing readings at a fixed rate (4 metrics,
QoS 1, each stamped with its publish time to the microsecond), so that no publisher shares an
interpreter with the consumer it measures."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import METRICS, sensor_id
from tests.harness import Mosquitto


def _publish_at_rate(
    host: str,
    port: int,
    prefix: str,
    rate: float,
    seconds: float,
    index: int,
    of: int,
    sensors: int,
    go: Any,
    sent_out: Any,
) -> None:
    """Publish rate/`of` readings per second for `seconds`, each stamped when published."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"live-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    my_rate, total = rate / of, int(rate * seconds / of)
    go.wait()
    started = time.monotonic()
    sent, last = 0, None
    dumps, now = json.dumps, time.time
    while sent < total:
        due = min(total, int((time.monotonic() - started) * my_rate) + 1)
        while sent < due:
            i = index + of * sent
            values = {k: round(v + (i // sensors % 7) * 0.01, 2) for k, v in METRICS.items()}
            body = dumps({"ts": now(), "seq": sent, "values": values}).encode()
            last = client.publish(f"{prefix}/pond/{sensor_id(i % sensors)}/telemetry", body, qos=1)
            sent += 1
            if sent % 20_000 == 0:
                last.wait_for_publish(60)  # packet ids are 16-bit: never run 65,535 ahead
        time.sleep(0.002)
    if last is not None:
        last.wait_for_publish(60)
    took = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    sent_out.put((sent, took))


def publish_live(
    broker: Mosquitto,
    prefix: str,
    rate: float,
    seconds: float,
    sensors: int,
    publishers: int,
    ready: Any,
) -> tuple[int, float]:
    """Run the publishers to the end; (readings sent, seconds the slowest took)."""
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_publish_at_rate,
            args=(
                broker.host,
                broker.port,
                prefix,
                rate,
                seconds,
                k,
                publishers,
                sensors,
                go,
                out,
            ),
            daemon=True,
        )
        for k in range(publishers)
    ]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let them import and connect before the clock starts
    go.set()
    ready.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    return sum(n for n, _ in results), max(t for _, t in results)
