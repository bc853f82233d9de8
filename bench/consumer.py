"""The MQTT consumer alone: receive + acknowledge a QoS 1 backlog held by a durable session,
nothing else, for each of these clients in one run against the same Mosquitto.

- `mosquitto_sub -q 1` on a durable session to /dev/null: the broker's own C client, the ceiling;
- `bench.pahoconsumer.MqttSource`: paho-mqtt 2.x, MQTT v5, manual acks (the gateway's
  consumer until the session replaced it);
- `gateway.mqttsession.MqttSession`: the asyncio session over the `mqtt5` codec.

    .venv/bin/python -m bench.consumer [--n 100000] [--rounds 2]

It prints messages/s and CPU µs per message of the consumer process (user+system of this
process for the Python clients, of the child for mosquitto_sub), and each ratio. Every client
reads the same backlog: published while its session is offline, so the broker holds it all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Protocol

from bench.pahoconsumer import MqttSource
from gateway.backoff import Backoff
from gateway.mqttsession import MqttSession
from gateway.source import MessageSource
from gridwatch.localservers import find_binary
from tests.harness import Mosquitto

PAYLOAD = (
    b'{"ts": 1764144000, "seq": 812, "values": {"do": 5.8, "ph": 7.2, "nh3n": 0.9, "cod": 20}}'
)
TOPIC = "bench/pond/pond-qp-01/telemetry"


class Factory(Protocol):
    def __call__(
        self,
        host: str,
        port: int,
        *,
        subscriptions: list[str],
        client_id: str,
        receive_maximum: int,
        backoff: Backoff,
    ) -> MessageSource: ...


def fill(broker: Mosquitto, n: int) -> None:
    """n QoS 1 messages through the broker's own publisher (one connection, `-l` lines)."""
    pub = find_binary("mosquitto_pub")
    argv = [pub, "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", TOPIC, "-l"]
    subprocess.run(argv, input=(PAYLOAD + b"\n") * n, check=True)


async def python_client(make: Factory, broker: Mosquitto, n: int) -> tuple[float, float]:
    """(seconds, CPU seconds) for one Python client to receive and ack a backlog of n."""
    cid = f"bench-{uuid.uuid4().hex[:8]}"

    def client() -> MessageSource:
        return make(
            broker.host,
            broker.port,
            subscriptions=["bench/#"],
            client_id=cid,
            receive_maximum=10_000,
            backoff=Backoff(0.05, 0.5),
        )

    async with client() as first:  # the durable session and its subscription
        async with asyncio.timeout(10):
            await first.subscribed.wait()
    fill(broker, n)
    got = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    async with client() as source:
        while got < n:
            async with asyncio.timeout(30):
                batch = await source.receive(5_000)
            got += len(batch)
            source.ack(batch)
        seconds = time.perf_counter() - t0
    return seconds, time.process_time() - cpu0


def mosquitto_sub(broker: Mosquitto, n: int) -> tuple[float, float]:
    """(seconds, CPU seconds) for `mosquitto_sub -q 1 -c` to read a backlog of n."""
    sub = find_binary("mosquitto_sub")
    cid = f"bench-sub-{uuid.uuid4().hex[:8]}"
    base = [sub, "-h", broker.host, "-p", str(broker.port), "-q", "1", "-c", "-i", cid]
    base += ["-V", "mqttv5", "-x", "3600", "-t", "bench/#"]
    subprocess.run([*base, "-W", "1"], check=False, capture_output=True)
    fill(broker, n)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*base, "-C", str(n)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def row(name: str, n: int, seconds: float, cpu: float, base: tuple[float, float] | None) -> str:
    rate, us = n / seconds, cpu / n * 1e6
    ratio = "" if base is None else f"   {rate / base[0]:5.2f}x rate, {us / base[1]:5.2f}x CPU"
    return f"{name:<28} {rate:>10,.0f} msg/s {us:>8.1f} µs CPU/msg{ratio}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="backlog per client and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-consumer-"))
    broker = Mosquitto(workdir=work, config_extra=f"max_queued_messages {args.n + 1000}\n")
    broker.start()
    try:
        print(f"backlog of {args.n:,} QoS 1 messages ({len(PAYLOAD)} B), {os.cpu_count()} cores")
        for r in range(1, args.rounds + 1):
            ceiling = mosquitto_sub(broker, args.n)
            paho = await python_client(MqttSource, broker, args.n)
            codec = await python_client(MqttSession, broker, args.n)
            ref = (args.n / paho[0], paho[1] / args.n * 1e6)
            print(f"round {r}")
            print(row("mosquitto_sub (C, ceiling)", args.n, *ceiling, None))
            print(row("paho MqttSource (v5)", args.n, *paho, None))
            print(row("mqtt5 MqttSession", args.n, *codec, ref) + "  (vs paho)")
            share = [ceiling[0] / paho[0], ceiling[0] / codec[0]]
            print(f"{'':<28} of the ceiling's rate: paho {share[0]:.2f}, session {share[1]:.2f}")
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
