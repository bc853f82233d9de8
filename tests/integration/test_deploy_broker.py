"""deploy/mosquitto.conf as shipped (issue 11, contract §10): started with only its paths and
ports changed, on the files `gridwatch broker-config` writes, it listens where it says and
nowhere else, and both of its listeners keep every client to its own identity."""

from __future__ import annotations

import json
import queue
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.endpoints import MqttEndpoint
from gateway.identity import worker_settings
from gridwatch.settings import load_settings
from tests.harness import Mosquitto, free_port
from tests.integration.deployhost import (
    DEPLOY,
    Host,
    broker_config,
    listening,
    make_certificate,
    read_env,
    shipped_mosquitto_conf,
)
from tests.integration.mqttpeers import WAIT, Connect
from tests.sites import qingping

SITE = qingping(
    [
        {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "interval_s": 60},
        {"id": "water-qp-01", "kind": "water", "grid": "qp-g1", "interval_s": 60},
    ]
)


@dataclass
class ShippedBroker:
    process: Mosquitto
    plain: int
    tls: int
    cafile: Path
    creds: dict[str, Any]
    env: dict[str, str]
    """gateway.env as broker-config wrote it."""

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def login(self, who: str) -> tuple[str, str]:
        entry = self.creds["devices"].get(who) or self.creds[who]
        return str(entry["username"]), str(entry["password"])


@pytest.fixture
def shipped(host: Host, make_mosquitto: Callable[..., Mosquitto]) -> ShippedBroker:
    site = host.etc_gridwatch / "site.yaml"
    site.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    plain, tls = free_port(), free_port()
    broker_config(host, site, "--port", str(plain), "--workers", "2")
    cert, _key = make_certificate(host)
    conf = shipped_mosquitto_conf(host, plain, tls)
    process = make_mosquitto(config_file=conf, port=plain)
    creds = json.loads((host.broker_files / "credentials.json").read_text(encoding="utf-8"))
    return ShippedBroker(
        process, plain, tls, cert, creds, read_env(host.broker_files / "gateway.env")
    )


def test_the_shipped_broker_listens_only_where_it_is_configured(shipped: ShippedBroker) -> None:
    assert shipped.process.proc is not None
    sockets = listening(shipped.process.proc.pid)
    # Plain MQTT on loopback only; TLS on every interface (IPv4, and IPv6 where the host has
    # it); no default listener on 1883 or anywhere else.
    assert ("127.0.0.1", shipped.plain) in sockets
    tls_addresses = {addr for addr, port in sockets if port == shipped.tls}
    assert "0.0.0.0" in tls_addresses  # noqa: S104 - asserting, not binding
    assert tls_addresses <= {"0.0.0.0", "::"}  # noqa: S104
    assert sockets - {("127.0.0.1", shipped.plain)} == {(a, shipped.tls) for a in tls_addresses}
    assert "Error" not in shipped.process.log_tail()


def test_anonymous_and_plain_text_clients_are_refused_on_both_listeners(
    shipped: ShippedBroker, peers: Connect
) -> None:
    _, rc = peers(shipped.plain, None, None)
    assert rc.getName() == "Not authorized"
    _, rc = peers(shipped.tls, None, None, tls=shipped.tls_context())
    assert rc.getName() == "Not authorized"
    user, password = shipped.login("pond-qp-01")
    with pytest.raises((queue.Empty, OSError)):  # no TLS handshake: no CONNACK ever comes
        peers(shipped.tls, user, password)


@pytest.mark.parametrize("listener", ["tls", "plain"])
def test_a_device_asking_for_the_gateways_client_id_gets_its_own(
    shipped: ShippedBroker, peers: Connect, listener: str
) -> None:
    gw_user, gw_password = shipped.login("gateway")
    gateway, rc = peers(
        shipped.plain,
        gw_user,
        gw_password,
        client_id=gw_user,
        clean_start=False,
        session_expiry=3600,
    )
    assert not rc.is_failure, rc
    assert not any(r.is_failure for r in gateway.subscribe("sensors/+/+/telemetry"))

    user, password = shipped.login("pond-qp-01")
    port = shipped.tls if listener == "tls" else shipped.plain
    tls = shipped.tls_context() if listener == "tls" else None
    device, rc = peers(port, user, password, client_id=gw_user, tls=tls)
    assert not rc.is_failure, rc
    assert not device.publish("sensors/pond/pond-qp-01/telemetry", b"mine").is_failure

    got = gateway.messages.get(timeout=WAIT)
    assert (got.topic, got.payload) == ("sensors/pond/pond-qp-01/telemetry", b"mine")
    assert gateway.disconnects.empty()
    # The broker names the device by its user name, never the id it asked for (its log is
    # complete once it stopped: stdout to a file is block-buffered).
    device.close()
    gateway.close()
    shipped.process.stop()
    log = shipped.process.log_tail(200)
    assert re.search(rf"New client connected from \S+ as {user} ", log), log
    assert f"Client {gw_user} already connected" not in log


def test_the_shipped_and_the_generated_configs_agree_on_the_baseline(
    host: Host,
) -> None:
    site = host.etc_gridwatch / "site.yaml"
    site.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    broker_config(host, site)
    generated = (host.broker_files / "mosquitto.conf").read_text(encoding="utf-8")
    shipped = (DEPLOY / "mosquitto.conf").read_text(encoding="utf-8")

    def baseline(conf: str) -> dict[str, list[str]]:
        names = (
            "per_listener_settings",
            "allow_anonymous",
            "persistence",
            "autosave_interval",
            "persistent_client_expiration",
            "max_packet_size",
        )
        return {n: re.findall(rf"^{n} (.*)$", conf, flags=re.MULTILINE) for n in names}

    assert baseline(shipped) == baseline(generated)
    for conf in (shipped, generated):
        # every listener, and only listeners, carry use_username_as_clientid
        settings = re.sub(r"^#.*\n", "", conf, flags=re.MULTILINE)
        sections = re.split(r"^listener ", settings, flags=re.MULTILINE)
        assert "use_username_as_clientid" not in sections[0]
        assert all("use_username_as_clientid true" in s for s in sections[1:])


def test_every_hub_process_logs_in_as_itself_and_none_throws_another_off(
    shipped: ShippedBroker, peers: Connect
) -> None:
    env = shipped.env
    gateway = load_settings(
        mqtt_url=env["GRIDWATCH_MQTT_URL"],
        mqtt_client_id=env["GRIDWATCH_MQTT_CLIENT_ID"],
        mqtt_worker_passwords=env["GRIDWATCH_MQTT_WORKER_PASSWORDS"],
    )
    logins = {f"worker {i}": worker_settings(gateway, i).mqtt.endpoint for i in range(2)} | {
        "notifier": MqttEndpoint(env["GRIDWATCH_NOTIFY_MQTT_URL"]),
        "api": MqttEndpoint(env["GRIDWATCH_API_MQTT_URL"]),
    }
    assert all(e.port == shipped.plain for e in logins.values())
    assert len({e.username for e in logins.values()}) == 4
    clients = {}
    for role, e in logins.items():
        clients[role], rc = peers(e.port, e.username, e.password, client_id="gridwatch-gateway")
        assert not rc.is_failure, (role, rc)
    for i in range(2):
        acks = clients[f"worker {i}"].subscribe("$share/gridwatch/sensors/+/+/telemetry")
        assert not any(r.is_failure for r in acks)

    user, password = shipped.login("pond-qp-01")
    device, rc = peers(shipped.tls, user, password, tls=shipped.tls_context())
    assert not rc.is_failure
    sent = [f"r{i}".encode() for i in range(20)]
    for payload in sent:
        assert not device.publish("sensors/pond/pond-qp-01/telemetry", payload).is_failure
    got = [m.payload for m in clients["worker 0"].quiet(1.0) + clients["worker 1"].quiet(0.1)]
    assert sorted(got) == sorted(sent)  # each reading to exactly one worker

    for role in ("notifier", "api"):
        assert not clients[role].publish("gridwatch/tickets/qp-g1", b"{}").is_failure
    worker = clients["worker 0"]
    assert worker.publish("gridwatch/tickets/qp-g1", b"{}").getName() == "Not authorized"
    assert worker.publish("sensors/pond/pond-qp-01/telemetry", b"x").getName() == "Not authorized"
    for role, client in clients.items():
        assert client.disconnects.empty(), role
