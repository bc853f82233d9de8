"""Device logins changed live on a real Mosquitto 2.0 with its dynamic-security plugin (issue 13,
contract §7): a provisioned device logs in within 5 s and may publish only its own topics, a
rotated password replaces the old one within 5 s, a disabled login is refused, and the gateway
workers' own identities still receive the readings. Measured times are printed (`-s`)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.endpoints import MqttEndpoint
from domain.site import Sensor, Site
from gridwatch.broker.accounts import passwords_of
from gridwatch.broker.dynsec import DynsecAdmin, ReservedLogin
from gridwatch.broker.dynsecchannel import DynsecUnavailable, UnknownLogin
from gridwatch.broker.model import BrokerOptions
from gridwatch.broker.writer import write_broker_config
from services.registry.logins import DeviceLogins, LoginError
from tests.harness import Mosquitto, free_port
from tests.integration.deployhost import (
    Host,
    broker_config,
    listening,
    make_certificate,
    read_env,
    shipped_mosquitto_conf,
)
from tests.integration.mqttpeers import WAIT, Connect, Peer
from tests.sites import qingping_site

LIMIT_S = 5.0
"""Contract §7: a change takes effect within 5 seconds."""

SITE = qingping_site(
    [
        {"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1", "interval_s": 60},
        {"id": "water-qp-01", "kind": "water", "grid": "qp-g1", "interval_s": 60},
    ]
)
NEW = Sensor(id="pond-qp-09", kind="pond", grid="qp-g1")
TELEMETRY = "sensors/pond/pond-qp-09/telemetry"


@dataclass
class LiveBroker:
    process: Mosquitto
    creds: dict[str, Any]
    conf_dir: Path
    site: Site

    @property
    def port(self) -> int:
        return self.process.port

    def password(self, user: str) -> str:
        return passwords_of(self.creds)[user]

    def admin(self) -> DynsecAdmin:
        admin = self.creds["admin"]
        return DynsecAdmin(
            "127.0.0.1", self.port, admin["username"], admin["password"], prefix="sensors"
        )


def start_live_broker(
    make_mosquitto: Callable[..., Mosquitto], out: Path, site: Site = SITE
) -> LiveBroker:
    port = free_port()
    options = BrokerOptions.local(port, dynamic_security=True)
    options = BrokerOptions(**{**_fields(options), "gateway_workers": 2})
    files = write_broker_config(site, out, options)
    creds = json.loads(files.paths.credentials.read_text(encoding="utf-8"))
    return LiveBroker(make_mosquitto(config_file=files.paths.config, port=port), creds, out, site)


def _fields(options: BrokerOptions) -> dict[str, Any]:
    return {f: getattr(options, f) for f in options.__dataclass_fields__}


@pytest.fixture
def live(make_mosquitto: Callable[..., Mosquitto], tmp_path: Path) -> LiveBroker:
    return start_live_broker(make_mosquitto, tmp_path / "broker")


@pytest.fixture
async def admin(live: LiveBroker) -> AsyncIterator[DynsecAdmin]:
    async with live.admin() as a:
        logins: DeviceLogins = a  # the registry's port (mypy checks the signatures)
        assert logins is a
        yield a


def workers(live: LiveBroker, peers: Connect) -> list[Peer]:
    """The gateway's two workers, each logged in as itself, on the shared subscriptions."""
    out = []
    for i in range(2):
        user = f"gridwatch-gateway-w{i}"
        peer, rc = peers(live.port, user, live.password(user))
        assert not rc.is_failure, rc
        for f in ("sensors/+/+/telemetry", "sensors/+/+/status"):
            assert not any(r.is_failure for r in peer.subscribe(f"$share/gridwatch/{f}"))
        out.append(peer)
    return out


def first_accepted(peers: Connect, port: int, user: str, password: str) -> tuple[Peer, float]:
    """Connect until the broker accepts; the peer and the seconds it took."""
    start = time.monotonic()
    while True:
        peer, rc = peers(port, user, password)
        if not rc.is_failure:
            return peer, time.monotonic() - start
        if time.monotonic() - start > LIMIT_S:
            pytest.fail(f"{user} still refused after {LIMIT_S} s: {rc}")
        time.sleep(0.02)


def first_refused(peers: Connect, port: int, user: str, password: str) -> float:
    """Connect until the broker refuses; the seconds it took."""
    start = time.monotonic()
    while True:
        peer, rc = peers(port, user, password)
        if rc.is_failure:
            assert rc.getName() in ("Not authorized", "Bad user name or password"), rc
            return time.monotonic() - start
        peer.close()
        if time.monotonic() - start > LIMIT_S:
            pytest.fail(f"{user} still admitted with that password after {LIMIT_S} s")
        time.sleep(0.02)


def report(what: str, seconds: float) -> None:
    print(f"\n[dynsec] {what}: {seconds * 1000:.0f} ms")


# -- provisioning -------------------------------------------------------------------------


async def test_a_provisioned_device_logs_in_within_5s_and_its_readings_reach_a_worker(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    ws = workers(live, peers)
    _, rc = peers(live.port, NEW.id, "guess")
    assert rc.is_failure  # not a login before it is provisioned

    start = time.monotonic()
    creds = await admin.provision(NEW)
    answered = time.monotonic() - start
    device, _ = first_accepted(peers, live.port, creds.username, creds.password)
    took = time.monotonic() - start
    report("provision answered", answered)
    report("provision -> first accepted login", took)
    assert took < LIMIT_S
    assert creds.username == NEW.id

    assert not device.publish(TELEMETRY, b'{"values":{"do":5.8}}').is_failure
    got = [m for w in ws for m in w.quiet(0.5)]
    assert [(m.topic, m.payload) for m in got] == [(TELEMETRY, b'{"values":{"do":5.8}}')]
    assert all(w.disconnects.empty() for w in ws)
    # The broker never restarted.
    assert live.process.running


@pytest.mark.parametrize(
    "topic",
    [
        "sensors/water/water-qp-01/telemetry",  # another device's topic
        "sensors/pond/pond-qp-01/status",  # another device's status (a forged "offline")
        "sensors/water/pond-qp-09/telemetry",  # its own id under another kind
        "sensors/pond/pond-qp-09/other",  # not a device topic
        "gridwatch/tickets/qp-g1",  # a forged ticket event
        "$CONTROL/dynamic-security/v1",  # making itself an admin
    ],
)
async def test_a_provisioned_device_publishes_only_its_own_topics_with_its_own_kind(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect, topic: str
) -> None:
    gateway, rc = peers(live.port, "gridwatch-gateway", live.password("gridwatch-gateway"))
    assert not rc.is_failure
    assert not any(r.is_failure for r in gateway.subscribe("sensors/#"))
    creds = await admin.provision(NEW)
    device, _ = first_accepted(peers, live.port, creds.username, creds.password)

    rc = device.publish(topic, b'{"values":{"do":0.1}}')
    assert rc.getName() == "Not authorized", f"broker accepted a publish on {topic}: {rc}"
    assert not device.publish(TELEMETRY, b"after").is_failure
    first = gateway.messages.get(timeout=WAIT)
    assert (first.topic, first.payload) == (TELEMETRY, b"after")
    assert gateway.quiet() == []
    # A device reads nothing either.
    assert all(r.is_failure for r in device.subscribe("sensors/#"))


async def test_provisioning_again_replaces_the_password_and_follows_a_new_kind(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    first = await admin.provision(NEW)
    again = await admin.provision(Sensor(id=NEW.id, kind="water", grid="qp-g1"))
    first_refused(peers, live.port, NEW.id, first.password)
    device, _ = first_accepted(peers, live.port, again.username, again.password)
    assert device.publish(TELEMETRY, b"x").getName() == "Not authorized"
    assert not device.publish("sensors/water/pond-qp-09/telemetry", b"x").is_failure


async def test_the_hubs_own_accounts_cannot_be_provisioned_as_devices(admin: DynsecAdmin) -> None:
    for name in ("gridwatch-admin", "Not-An-Id", "x"):
        sensor = Sensor(id="pond-qp-99", kind="pond", grid="qp-g1")
        object.__setattr__(sensor, "id", name)  # past validation: the admin must refuse it too
        with pytest.raises(ReservedLogin):
            await admin.provision(sensor)


# -- rotation and retirement ----------------------------------------------------------------


async def test_rotation_the_new_password_works_and_the_old_is_refused_within_5s(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    old = await admin.provision(NEW)
    connected, _ = first_accepted(peers, live.port, old.username, old.password)

    start = time.monotonic()
    new = await admin.rotate(NEW.id)
    report("rotate answered", time.monotonic() - start)
    device, new_took = first_accepted(peers, live.port, new.username, new.password)
    refused = first_refused(peers, live.port, old.username, old.password)
    since_rotate = time.monotonic() - start
    report("rotate -> new password accepted", new_took)
    report("rotate -> old password refused", since_rotate)
    assert new.password != old.password
    assert since_rotate < LIMIT_S
    assert refused < LIMIT_S
    # The session opened with the old password was thrown off.
    connected.disconnects.get(timeout=LIMIT_S)
    assert not device.publish(TELEMETRY, b"new").is_failure

    with pytest.raises(UnknownLogin):
        await admin.rotate("pond-qp-77")


async def test_a_disabled_login_is_refused_and_thrown_off(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    creds = await admin.provision(NEW)
    connected, _ = first_accepted(peers, live.port, creds.username, creds.password)
    start = time.monotonic()
    await admin.disable(NEW.id)
    why = connected.disconnects.get(timeout=LIMIT_S)
    report("disable -> session thrown off", time.monotonic() - start)
    took = first_refused(peers, live.port, creds.username, creds.password)
    report("disable -> login refused", took)
    assert why.is_failure or why.value == 0
    assert (await admin.client(NEW.id)).get("disabled") is True
    # A sensor of the bootstrapped site is disabled the same way; an unknown one is no error.
    await admin.disable("water-qp-01")
    first_refused(peers, live.port, "water-qp-01", live.password("water-qp-01"))
    await admin.disable(NEW.id)  # again: nothing to do
    await admin.disable("pond-qp-77")  # never provisioned: nothing to refuse
    with pytest.raises(UnknownLogin):
        await admin.client("pond-qp-77")


# -- the bootstrapped broker -------------------------------------------------------------------


async def test_the_bootstrapped_site_works_as_the_static_one(
    live: LiveBroker, peers: Connect
) -> None:
    assert live.process.proc is not None
    assert listening(live.process.proc.pid) == {("127.0.0.1", live.port)}  # no default 1883
    assert stat.S_IMODE((live.conf_dir / "dynamic-security.json").stat().st_mode) == 0o600
    assert not (live.conf_dir / "passwd").exists()

    ws = workers(live, peers)
    device, rc = peers(live.port, "pond-qp-01", live.password("pond-qp-01"))
    assert not rc.is_failure
    sent = [f"r{i}".encode() for i in range(20)]
    for payload in sent:
        assert not device.publish("sensors/pond/pond-qp-01/telemetry", payload).is_failure
    got = [m.payload for m in ws[0].quiet(1.0) + ws[1].quiet(0.1)]
    assert sorted(got) == sorted(sent)  # each reading to exactly one worker
    assert ws[0].publish("gridwatch/tickets/qp-g1", b"{}").getName() == "Not authorized"
    assert device.publish("sensors/water/water-qp-01/telemetry", b"x").getName() == (
        "Not authorized"
    )

    crew, rc = peers(live.port, "crew-qp-g1", live.password("crew-qp-g1"))
    assert not rc.is_failure
    assert not any(r.is_failure for r in crew.subscribe("gridwatch/tickets/qp-g1"))
    for user in ("gridwatch-notify", "gridwatch-api"):
        notifier, rc = peers(live.port, user, live.password(user))
        assert not rc.is_failure
        assert not notifier.publish("gridwatch/tickets/qp-g1", user.encode()).is_failure
        assert crew.messages.get(timeout=WAIT).payload == user.encode()
    _, rc = peers(live.port, None, None)
    assert rc.getName() == "Not authorized"
    for w in ws:
        assert w.disconnects.empty()


async def test_live_logins_survive_a_broker_restart_and_a_rewrite_of_the_config(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    creds = await admin.provision(NEW)
    rotated = await admin.rotate("water-qp-01")
    await admin.close()
    live.process.stop()
    # `gridwatch up` writes the configuration again at every start.
    options = BrokerOptions(
        **{**_fields(BrokerOptions.local(live.port, dynamic_security=True)), "gateway_workers": 2}
    )
    write_broker_config(live.site, live.conf_dir, options)
    live.process.start()

    first_accepted(peers, live.port, creds.username, creds.password)
    first_accepted(peers, live.port, rotated.username, rotated.password)
    _, rc = peers(live.port, "water-qp-01", live.password("water-qp-01"))
    assert rc.is_failure  # the rotated-away password stays refused
    first_accepted(peers, live.port, "pond-qp-01", live.password("pond-qp-01"))


async def test_ensuring_the_gateway_roles_adds_nothing_twice_and_throws_no_worker_off(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    ws = workers(live, peers)
    users = ["gridwatch-gateway-w0", "gridwatch-gateway-w1"]
    await admin.ensure_gateway_roles(users, gateway="gridwatch-gateway")
    await admin.ensure_gateway_roles(users, gateway="gridwatch-gateway")
    for w in ws:
        assert w.quiet(0.3) == []
        assert w.disconnects.empty()
    assert [r["rolename"] for r in (await admin.client(users[0]))["roles"]] == [
        "gridwatch-gateway-worker"
    ]


async def test_a_wrong_admin_password_is_a_typed_error(live: LiveBroker) -> None:
    wrong = DynsecAdmin("127.0.0.1", live.port, "gridwatch-admin", "wrong", timeout_s=2)
    with pytest.raises(DynsecUnavailable):
        await wrong.provision(NEW)
    await wrong.close()
    assert isinstance(DynsecUnavailable("x"), LoginError)  # what the registry's API catches


# -- an operator's Mosquitto: the shipped config with the plugin ----------------------------------


async def test_the_shipped_config_with_the_plugin_lines_takes_live_logins_over_tls(
    host: Host, make_mosquitto: Callable[..., Mosquitto], peers: Connect
) -> None:
    """deploy/mosquitto.conf with its `password_file`/`acl_file` lines swapped for its commented
    `plugin` lines (docs/deployment.md), on `broker-config --dynamic-security` files; run as
    root, Mosquitto drops to its own account and must still read and rewrite the plugin file."""
    site = host.etc_gridwatch / "site.json"
    site.write_text(SITE.model_dump_json(), encoding="utf-8")
    plain, tls = free_port(), free_port()
    broker_config(host, site, "--port", str(plain), "--workers", "2", "--dynamic-security")
    cert, _key = make_certificate(host)
    conf = shipped_mosquitto_conf(host, plain, tls)
    text = conf.read_text(encoding="utf-8")
    for line in ("password_file", "acl_file"):
        text, n = re.subn(rf"^{line} .*\n", "", text, flags=re.MULTILINE)
        assert n == 1, line
    text, n = re.subn(r"^#(plugin\S* )", r"\1", text, flags=re.MULTILINE)
    assert n == 2
    conf.write_text(text, encoding="utf-8")
    process = make_mosquitto(config_file=conf, port=plain)
    env = read_env(host.broker_files / "gateway.env")
    endpoint = MqttEndpoint(env["GRIDWATCH_DYNSEC_URL"])
    assert endpoint.port == plain

    ws = []
    for i, password in enumerate(env["GRIDWATCH_MQTT_WORKER_PASSWORDS"].split(",")):
        w, rc = peers(plain, f"gridwatch-gateway-w{i}", password)
        assert not rc.is_failure, rc
        assert not any(r.is_failure for r in w.subscribe("$share/gridwatch/sensors/+/+/telemetry"))
        ws.append(w)
    async with DynsecAdmin(
        endpoint.host, endpoint.port, env["GRIDWATCH_DYNSEC_USER"], env["GRIDWATCH_DYNSEC_PASSWORD"]
    ) as admin:
        start = time.monotonic()
        creds = await admin.provision(NEW)
        context = ssl.create_default_context(cafile=str(cert))
        while True:
            device, rc = peers(tls, creds.username, creds.password, tls=context)
            if not rc.is_failure:
                break
            assert time.monotonic() - start < LIMIT_S, rc
            await asyncio.sleep(0.02)
        report(
            "shipped config over TLS: provision -> first accepted login", time.monotonic() - start
        )
    assert not device.publish(TELEMETRY, b"over tls").is_failure
    got = [m.payload for w in ws for m in w.quiet(0.5)]
    assert got == [b"over tls"]
    # The plugin saved the new login in its file, which stays private to the broker's account.
    saved = json.loads((host.broker_files / "dynamic-security.json").read_text(encoding="utf-8"))
    assert NEW.id in {c["username"] for c in saved["clients"]}
    assert stat.S_IMODE((host.broker_files / "dynamic-security.json").stat().st_mode) == 0o600
    assert "Error" not in process.log_tail()


# -- the client under load and across failures ---------------------------------------------------


async def test_concurrent_provisions_each_get_their_own_answer(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    sensors = [Sensor(id=f"pond-qp-{i:03d}", kind="pond", grid="qp-g1") for i in range(100, 140)]
    start = time.monotonic()
    logins = await asyncio.gather(*(admin.provision(s) for s in sensors))
    report(f"{len(sensors)} concurrent provisions answered", time.monotonic() - start)
    assert [c.username for c in logins] == [s.id for s in sensors]
    assert len({c.password for c in logins}) == len(sensors)
    for c in logins[::8]:
        peer, _ = first_accepted(peers, live.port, c.username, c.password)
        topic = f"sensors/pond/{c.username}/telemetry"
        assert not peer.publish(topic, b"x").is_failure


async def test_the_client_reconnects_after_a_broker_restart(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    await admin.provision(NEW)
    live.process.stop()
    with pytest.raises(DynsecUnavailable):
        await admin.rotate(NEW.id)
    live.process.start()
    creds = await admin.rotate(NEW.id)  # a new connection, no new client object
    first_accepted(peers, live.port, creds.username, creds.password)


async def test_a_broker_without_the_plugin_is_a_timeout_not_a_hang(
    make_mosquitto: Callable[..., Mosquitto],
) -> None:
    plain = make_mosquitto()  # anonymous, no plugin: nobody answers on $CONTROL
    lone = DynsecAdmin("127.0.0.1", plain.port, "gridwatch-admin", "pw", timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(DynsecUnavailable, match="plugin loaded"):
        await lone.provision(NEW)
    assert time.monotonic() - start < 3
    await lone.close()


async def test_a_worker_holds_only_its_shared_subscription_and_receives_through_it(
    live: LiveBroker, peers: Connect
) -> None:
    """2.0.11's plugin checks the whole `$share/<group>/<filter>` at SUBSCRIBE: a worker may
    hold its group's subscriptions, not the plain filters (every reading for itself) nor
    another group's."""
    user = "gridwatch-gateway-w0"
    worker, rc = peers(live.port, user, live.password(user))
    assert not rc.is_failure
    assert not any(r.is_failure for r in worker.subscribe("$share/gridwatch/sensors/+/+/status"))
    for refused in ("sensors/+/+/telemetry", "sensors/#", "$share/other/sensors/+/+/telemetry"):
        assert all(r.is_failure for r in worker.subscribe(refused)), refused
    device, rc = peers(live.port, "pond-qp-01", live.password("pond-qp-01"))
    assert not rc.is_failure
    assert not device.publish("sensors/pond/pond-qp-01/status", b"online").is_failure
    assert not device.publish("sensors/pond/pond-qp-01/telemetry", b"not for it").is_failure
    assert [m.payload for m in worker.quiet(0.5)] == [b"online"]


async def test_ensuring_the_gateway_roles_repairs_a_share_only_worker_grant(
    live: LiveBroker, admin: DynsecAdmin, peers: Connect
) -> None:
    """A worker role holding its `$share/...` subscriptions without receiving the device topics
    behind them delivers nothing; ensuring the roles adds what is missing."""
    for f in ("sensors/+/+/telemetry", "sensors/+/+/status"):
        (answer,) = await admin.execute(
            {
                "command": "removeRoleACL",
                "rolename": "gridwatch-gateway-worker",
                "acltype": "publishClientReceive",
                "topic": f,
            },
        )
        assert answer.error is None, answer
    user = "gridwatch-gateway-w0"
    share = "$share/gridwatch/sensors/+/+/telemetry"
    worker, rc = peers(live.port, user, live.password(user))
    assert not rc.is_failure
    assert not any(r.is_failure for r in worker.subscribe(share))
    device, rc = peers(live.port, "pond-qp-01", live.password("pond-qp-01"))
    assert not rc.is_failure
    assert not device.publish("sensors/pond/pond-qp-01/telemetry", b"lost").is_failure
    assert worker.quiet(0.5) == []

    await admin.ensure_gateway_roles([user, "gridwatch-gateway-w1"], gateway="gridwatch-gateway")
    worker, rc = peers(live.port, user, live.password(user))  # the change threw it off
    assert not rc.is_failure
    assert not any(r.is_failure for r in worker.subscribe(share))
    assert not device.publish("sensors/pond/pond-qp-01/telemetry", b"back").is_failure
    assert worker.messages.get(timeout=WAIT).payload == b"back"


# -- gridwatch site apply ---------------------------------------------------------------------


def test_site_apply_gives_a_new_sensor_its_login_and_takes_a_retired_ones_away(
    live: LiveBroker, peers: Connect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gridwatch.cli import app

    admin = live.creds["admin"]
    monkeypatch.setenv("GRIDWATCH_DB_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    monkeypatch.setenv("GRIDWATCH_DYNSEC_URL", f"mqtt://127.0.0.1:{live.port}")
    monkeypatch.setenv("GRIDWATCH_DYNSEC_USER", admin["username"])
    monkeypatch.setenv("GRIDWATCH_DYNSEC_PASSWORD", admin["password"])
    monkeypatch.delenv("GRIDWATCH_SITE", raising=False)
    doc = SITE.document()
    first = tmp_path / "site.yaml"
    first.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    seeded = runner.invoke(app, ["site", "apply", str(first)])
    assert seeded.exit_code == 0, seeded.output
    assert "login " not in seeded.output  # the seed's sensors keep broker-config's logins
    first_accepted(peers, live.port, "water-qp-01", live.password("water-qp-01"))

    doc["sensors"] = [s for s in doc["sensors"] if s["id"] != "water-qp-01"]
    doc["sensors"].append({"id": NEW.id, "kind": "pond", "grid": "qp-g1"})
    changed = tmp_path / "changed.yaml"
    changed.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["site", "apply", str(changed)])
    assert result.exit_code == 0, result.output
    m = re.search(rf"login {NEW.id}: user (\S+) password (\S+) \(shown once\)", result.output)
    assert m is not None, result.output
    device, _ = first_accepted(peers, live.port, m[1], m[2])
    assert not device.publish(TELEMETRY, b'{"values":{"do":5.8}}').is_failure
    first_refused(peers, live.port, "water-qp-01", live.password("water-qp-01"))
