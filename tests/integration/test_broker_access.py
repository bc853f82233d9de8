"""The generated Mosquitto configuration against the real broker (issue 5, reliability.md):
devices write only their own topics, strangers and impostors are refused, oversized packets
never get through, and the gateway's queued messages survive a broker restart."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from domain.site import Site
from gridwatch.broker.accounts import passwords_of
from gridwatch.broker.model import BrokerOptions, TlsFiles
from gridwatch.broker.writer import write_broker_config
from tests.harness import Mosquitto, ServiceError, free_port
from tests.integration.mqttpeers import WAIT, Connect, Peer
from tests.sites import qingping_site


def site_of(sensors: list[dict[str, Any]]) -> Site:
    return qingping_site(sensors, grids=2)


SITE = site_of(
    [
        {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "interval_s": 300},
        {"id": "water-qp-01", "kind": "water", "grid": "qp-g1", "interval_s": 60},
        {"id": "power-qp-01", "kind": "power", "grid": "qp-g2", "interval_s": 60},
    ]
)


def options(port: int) -> BrokerOptions:
    """The broker as generated, on a free loopback port, run as whoever runs the tests."""
    return BrokerOptions.local(port)


@dataclass
class Broker:
    process: Mosquitto
    creds: dict[str, Any]
    conf_dir: Path

    def password(self, user: str) -> str:
        return passwords_of(self.creds)[user]

    @property
    def gateway_user(self) -> str:
        return str(self.creds["gateway"]["username"])


def start_broker(make_mosquitto: Callable[..., Mosquitto], out: Path, site: Site = SITE) -> Broker:
    port = free_port()
    files = write_broker_config(site, out, options(port))
    creds = json.loads(files.paths.credentials.read_text(encoding="utf-8"))
    return Broker(make_mosquitto(config_file=files.paths.config, port=port), creds, out)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One broker for the tests that leave it as they found it (no retained messages, no
    persistent sessions); tests that reload or restart it take `private_broker`."""
    workdir = tmp_path_factory.mktemp("broker")
    made: list[Mosquitto] = []

    def make(**kw: Any) -> Mosquitto:
        made.append(Mosquitto(workdir=workdir / "mosquitto", **kw))
        try:
            return made[-1].start()
        except ServiceError as e:
            pytest.fail(f"cannot start mosquitto: {e}")

    yield start_broker(make, workdir / "conf")
    for m in made:
        m.stop()


@pytest.fixture
def private_broker(make_mosquitto: Callable[..., Mosquitto], tmp_path: Path) -> Broker:
    return start_broker(make_mosquitto, tmp_path / "broker")


def gateway(broker: Broker, peers: Connect) -> Peer:
    """The gateway user, subscribed to every device topic."""
    gw, rc = peers(broker.process.port, broker.gateway_user, broker.password(broker.gateway_user))
    assert not rc.is_failure, rc
    assert not any(r.is_failure for r in gw.subscribe("sensors/#"))
    return gw


def device(broker: Broker, peers: Connect, sensor: str, client_id: str = "") -> Peer:
    dev, rc = peers(broker.process.port, sensor, broker.password(sensor), client_id=client_id)
    assert not rc.is_failure, rc
    return dev


# -- topics ---------------------------------------------------------------------------------


def test_a_device_publishing_on_its_own_topics_reaches_the_gateway(
    broker: Broker, peers: Connect
) -> None:
    gw = gateway(broker, peers)
    dev = device(broker, peers, "pond-qp-01")

    assert not dev.publish("sensors/pond/pond-qp-01/telemetry", b'{"values":{"do":5.8}}').is_failure
    assert not dev.publish("sensors/pond/pond-qp-01/status", b"online").is_failure

    got = [gw.messages.get(timeout=WAIT) for _ in range(2)]
    assert [(m.topic, m.payload) for m in got] == [
        ("sensors/pond/pond-qp-01/telemetry", b'{"values":{"do":5.8}}'),
        ("sensors/pond/pond-qp-01/status", b"online"),
    ]


@pytest.mark.parametrize(
    "topic",
    [
        "sensors/water/water-qp-01/telemetry",  # another device's topic
        "sensors/water/water-qp-01/status",  # ... and its status (a forged "offline")
        "sensors/water/pond-qp-01/telemetry",  # its own id under another kind
        "gridwatch/tickets/qp-g1",  # a forged ticket event
    ],
)
def test_a_device_cannot_publish_outside_its_own_topics(
    broker: Broker, peers: Connect, topic: str
) -> None:
    gw = gateway(broker, peers)
    assert not any(r.is_failure for r in gw.subscribe("gridwatch/tickets/#"))
    dev = device(broker, peers, "pond-qp-01")

    rc = dev.publish(topic, b'{"values":{"do":0.1}}')
    assert rc.is_failure, f"broker accepted a publish on {topic}: {rc}"
    assert rc.getName() == "Not authorized"
    # A permitted message sent afterwards arrives alone: the denied one was never delivered.
    assert not dev.publish("sensors/pond/pond-qp-01/telemetry", b"after").is_failure
    first = gw.messages.get(timeout=WAIT)
    assert (first.topic, first.payload) == ("sensors/pond/pond-qp-01/telemetry", b"after")
    assert gw.quiet() == []


def test_a_device_cannot_read_other_devices_readings(broker: Broker, peers: Connect) -> None:
    gw = gateway(broker, peers)
    snoop = device(broker, peers, "pond-qp-01")
    # Mosquitto 2.0 grants the subscription and filters by the ACL at delivery.
    snoop.subscribe("sensors/#")
    snoop.subscribe("sensors/water/water-qp-01/telemetry")
    other = device(broker, peers, "water-qp-01")

    assert not other.publish("sensors/water/water-qp-01/telemetry", b"secret").is_failure
    assert gw.messages.get(timeout=WAIT).payload == b"secret"
    assert snoop.quiet() == []


# -- who may connect --------------------------------------------------------------------------


def test_anonymous_connect_is_refused(broker: Broker, peers: Connect) -> None:
    _, rc = peers(broker.process.port, None, None)
    assert rc.is_failure
    assert rc.getName() == "Not authorized"


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("pond-qp-01", "wrong"),
        ("pond-qp-01", ""),
        ("gridwatch-gateway", "wrong"),
        ("no-such-sensor", "whatever"),
    ],
)
def test_wrong_credentials_are_refused(
    broker: Broker, peers: Connect, user: str, password: str
) -> None:
    _, rc = peers(broker.process.port, user, password)
    assert rc.is_failure
    assert rc.getName() in ("Bad user name or password", "Not authorized")


def test_another_devices_password_does_not_open_a_device(broker: Broker, peers: Connect) -> None:
    _, rc = peers(broker.process.port, "pond-qp-01", broker.password("water-qp-01"))
    assert rc.is_failure


def test_a_client_id_takeover_does_not_kick_the_device_off(broker: Broker, peers: Connect) -> None:
    gw = gateway(broker, peers)
    victim = device(broker, peers, "pond-qp-01", client_id="pond-qp-01")
    # Valid credentials of another device, the victim's client id: Mosquitto replaces the id
    # with the user name, so the two sessions never meet.
    device(broker, peers, "water-qp-01", client_id="pond-qp-01")
    # Valid user name, wrong password, the victim's client id: refused before any takeover.
    _, rc = peers(broker.process.port, "pond-qp-01", "guess", client_id="pond-qp-01")
    assert rc.is_failure

    assert not victim.publish("sensors/pond/pond-qp-01/telemetry", b"still here").is_failure
    assert gw.messages.get(timeout=WAIT).payload == b"still here"
    assert victim.disconnects.empty()


# -- ticket events ---------------------------------------------------------------------------


def test_a_crew_reads_its_own_grids_ticket_events_only(broker: Broker, peers: Connect) -> None:
    # The notifier logs in the way `gridwatch up` hands it over: a URL with user and password.
    url = write_broker_config(SITE, broker.conf_dir, options(broker.process.port)).notifier_url
    assert (
        url
        == f"mqtt://gridwatch-notify:{broker.password('gridwatch-notify')}@127.0.0.1:{broker.process.port}"
    )
    # The gateway's persistent session is up while the notifier publishes: separate users, so
    # neither kicks the other off although the client id is the user name.
    gw = gateway(broker, peers)
    crew, rc = peers(broker.process.port, "crew-qp-g1", broker.password("crew-qp-g1"))
    assert not rc.is_failure
    assert not any(r.is_failure for r in crew.subscribe("gridwatch/tickets/#"))
    notifier, rc = peers(
        broker.process.port, "gridwatch-notify", broker.password("gridwatch-notify")
    )
    assert not rc.is_failure

    assert not notifier.publish("gridwatch/tickets/qp-g2", b'{"event":"opened","n":2}').is_failure
    assert not notifier.publish("gridwatch/tickets/qp-g1", b'{"event":"opened","n":1}').is_failure
    first = crew.messages.get(timeout=WAIT)
    assert (first.topic, first.payload) == ("gridwatch/tickets/qp-g1", b'{"event":"opened","n":1}')
    assert crew.quiet() == []
    # Crews only read: a forged ticket event is refused.
    assert crew.publish("gridwatch/tickets/qp-g1", b'{"event":"resolved"}').is_failure
    assert gw.disconnects.empty()
    assert notifier.disconnects.empty()


# -- packet size --------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311])
def test_an_oversized_packet_is_refused_and_never_delivered(
    broker: Broker, peers: Connect, protocol: MQTTProtocolVersion
) -> None:
    gw = gateway(broker, peers)
    dev, rc = peers(
        broker.process.port, "pond-qp-01", broker.password("pond-qp-01"), protocol=protocol
    )
    assert not rc.is_failure

    # Just under the limit passes: the limit is what refuses the next one, not something else.
    fits = b"x" * 60_000
    assert not dev.publish("sensors/pond/pond-qp-01/telemetry", fits).is_failure
    assert gw.messages.get(timeout=WAIT).payload == fits

    dev.client.publish("sensors/pond/pond-qp-01/telemetry", b"y" * 70_000, qos=1)
    why = dev.disconnects.get(timeout=WAIT)  # the broker hangs up on it
    if protocol == mqtt.MQTTv5:
        assert why.getName() == "Packet too large"
    assert dev.pubacks.empty()
    assert gw.quiet() == []


# -- the files as a deployment sees them --------------------------------------------------


def test_a_sensor_removed_from_the_site_loses_access_on_reload(
    private_broker: Broker, peers: Connect, tmp_path: Path
) -> None:
    broker = private_broker
    smaller = site_of([{"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "interval_s": 300}])
    files = write_broker_config(smaller, tmp_path / "broker", options(broker.process.port))
    assert files.removed == ("power-qp-01", "water-qp-01")
    broker.process.signal(signal.SIGHUP)  # Mosquitto re-reads password file and ACL

    deadline = time.monotonic() + WAIT
    while True:
        peer, rc = peers(broker.process.port, "water-qp-01", broker.password("water-qp-01"))
        if rc.is_failure or time.monotonic() > deadline:
            break
        peer.close()
        time.sleep(0.05)
    assert rc.is_failure
    _, rc = peers(broker.process.port, "pond-qp-01", broker.password("pond-qp-01"))
    assert not rc.is_failure  # the one kept still gets in, with the same password


# -- persistence --------------------------------------------------------------------------


def test_queued_messages_for_the_offline_gateway_survive_a_broker_restart(
    private_broker: Broker, peers: Connect
) -> None:
    broker = private_broker
    port = broker.process.port
    gw_user, gw_pw = broker.gateway_user, broker.password(broker.gateway_user)
    gw, rc = peers(port, gw_user, gw_pw, clean_start=False, session_expiry=3600)
    assert not rc.is_failure
    gw.subscribe("sensors/+/+/telemetry")
    gw.close()

    dev = device(broker, peers, "water-qp-01")
    sent = [f'{{"seq":{i}}}'.encode() for i in range(200)]
    for payload in sent:
        assert not dev.publish("sensors/water/water-qp-01/telemetry", payload).is_failure
    dev.close()

    broker.process.stop()  # SIGTERM: Mosquitto saves its database
    broker.process.start()

    gw, rc = peers(port, gw_user, gw_pw, clean_start=False, session_expiry=3600)
    assert not rc.is_failure
    assert gw.session_present
    got = [gw.messages.get(timeout=WAIT).payload for _ in sent]
    assert got == sent
    assert gw.quiet() == []


# -- TLS ----------------------------------------------------------------------------------


@pytest.fixture
def server_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate: apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_tls_listener_admits_devices_over_tls_only(
    make_mosquitto: Callable[..., Mosquitto],
    tmp_path: Path,
    peers: Connect,
    server_cert: tuple[Path, Path],
) -> None:
    cert, key = server_cert
    port, tls_port = free_port(), free_port()
    opts = BrokerOptions(
        port=port,
        run_as=options(port).run_as,
        tls=TlsFiles(certfile=cert, keyfile=key, port=tls_port),
    )
    files = write_broker_config(SITE, tmp_path / "broker", opts)
    creds = json.loads(files.paths.credentials.read_text(encoding="utf-8"))
    broker = Broker(make_mosquitto(config_file=files.paths.config, port=port), creds, tmp_path)
    pw = broker.password("pond-qp-01")

    modern = ssl.create_default_context(cafile=str(cert))
    dev, rc = peers(tls_port, "pond-qp-01", pw, tls=modern)
    assert not rc.is_failure
    assert isinstance(dev.client.socket(), ssl.SSLSocket)
    assert dev.client.socket().version() in ("TLSv1.2", "TLSv1.3")  # type: ignore[union-attr]
    _, rc = peers(tls_port, "pond-qp-01", "wrong", tls=modern)
    assert rc.is_failure  # TLS does not replace the password

    # Plain MQTT on the TLS port gets nowhere (the handshake fails, no CONNACK ever comes).
    with pytest.raises((queue.Empty, OSError)):
        peers(tls_port, "pond-qp-01", pw)
