"""End to end: a breaching reading published to a real Mosquitto → the gateway (InfluxDB, rules,
tickets) → the outbox → the WeCom, DingTalk and Feishu robot servers and the SMTP server; how
long from the reading to the first robot message."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiomqtt

from domain.site import Registry, Site
from services.rules.book import load_rules
from tests.harness import InfluxDB, Mosquitto
from tests.integration.tickets_support import Services, reading, running_hub, small_site
from tests.notify.conftest import SECRET_DT, SECRET_FS
from tests.notify.support import until
from tests.robots.server import DingTalkRobot, FeishuRobot, WeComRobot
from tests.robots.smtp import SmtpServer


async def test_a_breaching_reading_reaches_every_robot_and_the_mailbox(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    topic_prefix: str,
    influx_db: str,
    tmp_path: Path,
    wecom: WeComRobot,
    dingtalk: DingTalkRobot,
    feishu: FeishuRobot,
    smtp: SmtpServer,
) -> None:
    tag = uuid.uuid4().hex[:8]
    base = small_site(tag, [(f"tx-{tag}", "power", "1", 300)])
    grid, community = f"g1-{tag}", f"c1-{tag}"
    data = base.model_dump(mode="json")
    worker = data["communities"][0]["grids"][0]["worker"]
    for person in [worker, *data.get("people", [])]:  # inline, and in `people` where listed
        if isinstance(person, dict) and person.get("id") == f"w1-{tag}":
            person["phone"] = "139-0000-0001"
    data["channels"] = [
        {"id": "e-wecom", "type": "wecom", "url": wecom.url, "grids": [grid]},
        {"id": "e-dt", "type": "dingtalk", "url": dingtalk.url, "secret": SECRET_DT,
         "grids": [grid]},
        {"id": "e-fs", "type": "feishu", "url": feishu.url, "secret": SECRET_FS,
         "communities": [community], "lang": "both"},
        {"id": "e-mail", "type": "email", "to": ["crew@example.org"], "grids": [grid]},
    ]  # fmt: skip
    registry = Registry(Site.model_validate(data))
    services = Services(mosquitto, influxdb, topic_prefix, influx_db, f"sqlite:///{tmp_path}/t.db")
    settings = services.gateway().replace(
        notify_group_window_s=0,
        notify_poll_s=0.05,
        public_url="https://gw.example.org",
        smtp_url=smtp.url,
        smtp_ca_file=smtp.ca_file,  # the test server's own certificate
    )
    now = time.time()
    async with (
        running_hub(settings, registry, load_rules(registry=registry)) as hub,
        aiomqtt.Client(mosquitto.host, mosquitto.port) as pub,
    ):
        healthy = reading("power", f"tx-{tag}", topic_prefix, now - 60, voltage=220.0)
        dead = reading("power", f"tx-{tag}", topic_prefix, now, voltage=0.0)
        await pub.publish(healthy.topic, healthy.payload, qos=1)
        await hub.wait_committed(1)
        sent = time.monotonic()
        await pub.publish(dead.topic, dead.payload, qos=1)
        robots = (wecom, dingtalk, feishu)
        await until(lambda: any(r.received for r in robots), what="a robot message")
        first = min(r.received[0].at for r in robots if r.received) - sent
        await until(lambda: all(r.received for r in robots), what="every robot")
        await until(lambda: len(smtp.mailbox.messages) == 1, what="the mail")
        last = max(r.received[0].at for r in robots) - sent
        await asyncio.sleep(0.2)
    print(
        f"\nbreaching reading → first robot message {first * 1000:.0f} ms, "
        f"last robot {last * 1000:.0f} ms (group window 0)"
    )
    assert wecom.received[0].body["text"]["mentioned_mobile_list"] == ["13900000001"]
    assert dingtalk.received[0].body["at"]["atMobiles"] == ["13900000001"]
    assert "https://gw.example.org/tickets/1" in wecom.received[0].body["text"]["content"]
    assert "crew@example.org" in smtp.mailbox.envelopes[0][1]
