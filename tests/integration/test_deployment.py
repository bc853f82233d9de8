"""The hub as it is deployed (issue 11, contract §10): the shipped broker config, the files
`gridwatch broker-config` writes, `deploy/gridwatch.env.example` + `gateway.env`, and the
commands of the systemd units — `gridwatch gateway --workers 2 --metrics-port …` and
`gridwatch api` as separate processes on PostgreSQL and InfluxDB. Devices publish over TLS with
their own logins; every reading is stored once, a ticket reaches its crew through the API, and
nobody is thrown off the broker, not even by a device that asks for the gateway's client id.

The compose file is checked to run the same commands with the same environment file (there is
no Docker engine on the test machines; docs/deployment.md says so), and the units are checked
by `systemd-analyze verify`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from domain.site import Registry, load_site
from simulators import demo
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tests.harness import InfluxDB, Mosquitto, free_port
from tests.integration.deployhost import (
    DEPLOY,
    Host,
    broker_config,
    make_certificate,
    read_env,
    shipped_mosquitto_conf,
)
from tests.integration.mqttpeers import Connect
from tests.integration.test_cluster import stored_points
from tests.integration.tickets_support import tickets
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures

SENSORS = ["sewer-cy-mh-03", "sewer-cy-pw-01", "pond-cy-01", "water-cy-net-01", "power-cy-tx-01"]
HOURS = 12
INSTALLED = "/opt/gridwatch/.venv/bin/gridwatch"
"""Where the units expect the console script; the test runs this checkout's instead."""


def unit(name: str) -> dict[str, str]:
    """The [Service] settings of a shipped unit (last assignment wins, as in systemd)."""
    section, out = "", {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def command_of(name: str) -> list[str]:
    """A unit's ExecStart as argv, the installed script swapped for this checkout's CLI."""
    argv = shlex.split(unit(name)["ExecStart"])
    assert argv[0] == INSTALLED
    return [sys.executable, "-m", "gridwatch.cli", *argv[1:]]


def environment_file(host: Host, influx: InfluxDB, db: str, pg: str, http_port: int) -> Path:
    """/etc/gridwatch/gridwatch.env as docs/deployment.md has the operator write it: the
    example with this host's addresses and paths, then broker-config's gateway.env."""
    example = read_env(DEPLOY / "gridwatch.env.example")
    here = {
        "GRIDWATCH_SITE": str(host.etc_gridwatch / "site.yaml"),
        "GRIDWATCH_INFLUX_URL": influx.url,
        "GRIDWATCH_INFLUX_DB": db,
        "GRIDWATCH_DB_URL": pg,
        "GRIDWATCH_SPOOL_DIR": str(host.root / "var/lib/gridwatch/spool"),
        "GRIDWATCH_HTTP": f"127.0.0.1:{http_port}",
        "GRIDWATCH_PUBLIC_URL": f"http://127.0.0.1:{http_port}",  # behind no proxy here
    }
    assert set(example) == set(here), "the example's variables changed: update this test"
    lines = [f"{k}={here[k]}" for k in example]
    gateway_env = (host.broker_files / "gateway.env").read_text(encoding="utf-8")
    path = host.etc_gridwatch / "gridwatch.env"
    path.write_text("\n".join(lines) + "\n" + gateway_env, encoding="utf-8")
    path.chmod(0o600)
    return path


@dataclass
class Deployed:
    host: Host
    broker: Mosquitto
    influx: InfluxDB
    plain: int
    tls: int
    cafile: Path
    env: dict[str, str]
    creds: dict[str, object]
    api: str
    metrics: str
    gateway: subprocess.Popen[bytes]
    api_proc: subprocess.Popen[bytes]
    logs: Path

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def password(self, sensor: str) -> str:
        devices = self.creds["devices"]
        assert isinstance(devices, dict)
        return str(devices[sensor]["password"])


def _spawn(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)


def _wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    procs: list[subprocess.Popen[bytes]],
    logs: Path,
    detail: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    journal = "\n".join(
        f"--- {f.name}\n{f.read_text(errors='replace')[-4000:]}" for f in sorted(logs.glob("*.log"))
    )
    exited = [f"{p.args[3:]} exited {p.returncode}" for p in procs if p.poll() is not None]
    pytest.fail(f"no {what} within {timeout} s {exited}\n{detail()}\n{journal}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # what systemd sends (KillMode=mixed: the parent)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def deployed(
    host: Host,
    make_mosquitto: Callable[..., Mosquitto],
    influxdb: InfluxDB,
    influx_db: str,
    pg_url: str,  # noqa: F811 - fixture
) -> Iterator[Deployed]:
    shutil.copy(demo.SITE, host.etc_gridwatch / "site.yaml")
    plain, tls = free_port(), free_port()
    broker_config(host, host.etc_gridwatch / "site.yaml", "--port", str(plain), "--workers", "2")
    cert, _ = make_certificate(host)
    broker = make_mosquitto(config_file=shipped_mosquitto_conf(host, plain, tls), port=plain)
    http_port, metrics_port = free_port(), free_port()
    env_file = environment_file(host, influxdb, influx_db, pg_url, http_port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env |= read_env(env_file)
    logs = host.root / "journal"
    logs.mkdir()
    workdir = host.root / "var/lib/gridwatch"  # the units' StateDirectory / WorkingDirectory
    workdir.mkdir(parents=True)

    gateway_argv = command_of("gridwatch-gateway.service")
    assert gateway_argv[-2:] == ["--metrics-port", "9108"]
    gateway_argv[-1] = str(metrics_port)
    gateway = _spawn(gateway_argv, env, logs / "gateway.log", workdir)
    api = _spawn(command_of("gridwatch-api.service"), env, logs / "api.log", workdir)
    creds = json.loads((host.broker_files / "credentials.json").read_text(encoding="utf-8"))
    d = Deployed(
        host,
        broker,
        influxdb,
        plain,
        tls,
        cert,
        env,
        creds,
        f"http://127.0.0.1:{http_port}",
        f"http://127.0.0.1:{metrics_port}/metrics",
        gateway,
        api,
        logs,
    )
    try:
        # Both workers hold their shared subscription (each logs it once subscribed).
        _wait_for(
            "subscribed workers",
            lambda: all(
                re.search(rf" w{i} gateway\.mqtt\w*: MQTT subscribed to \$share/", d.log("gateway"))
                for i in range(2)
            ),
            240,
            [gateway],
            logs,
        )
        _wait_for("the API", lambda: _answers(f"{d.api}/api/v1/healthz"), 120, [api], logs)
        yield d
    finally:
        _stop(api)
        _stop(gateway)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _token(d: Deployed, *args: str) -> str:
    argv = [sys.executable, "-m", "gridwatch.cli", "token", "create", *args]
    done = subprocess.run(argv, env=d.env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()[-1]


@pytest.mark.slow
def test_the_deployed_hub_stores_every_reading_once_and_tickets_reach_their_crew(
    deployed: Deployed, peers: Connect
) -> None:
    d = deployed
    sc, site = load_scenario(demo.scenario_path("storm-night"))
    assert {s.id for s in site.sensors} == {s.id for s in load_site(demo.SITE).sensors}
    registry = Registry(site)
    start = sc.start.timestamp()
    sim = Simulation(site, start=start, seed=sc.seed, scenario=sc, sensors=SENSORS)
    emissions = list(sim.emissions(start + HOURS * 3600))
    readings = sum(e.readings for e in emissions if e.topic.endswith("/telemetry"))

    # A device that asks for the gateway's client id, on the device listener: it gets its own
    # (its user name; one of the site's devices that plays no part in the scenario here).
    other = sorted({s.id for s in site.sensors} - set(SENSORS))[0]
    intruder, rc = peers(
        d.tls,
        other,
        d.password(other),
        client_id=d.env["GRIDWATCH_MQTT_CLIENT_ID"],
        tls=_tls(d),
    )
    assert not rc.is_failure
    devices = {}
    for sensor in SENSORS:
        devices[sensor], rc = peers(
            d.tls, sensor, d.password(sensor), client_id=sensor, tls=_tls(d)
        )
        assert not rc.is_failure, (sensor, rc)
    for e in emissions:
        assert not devices[e.sensor].publish(e.topic, e.payload).is_failure, e.topic

    _stored_once(d, readings, 240)

    # The rules opened tickets; a crew reads its own grid's through the API.
    got = tickets(d.env["GRIDWATCH_DB_URL"], registry)
    assert got, "storm-night opens tickets on these sensors"
    for t in got:
        assert [e.kind for e in t.events].count("opened") == 1, t.events
    grid = got[0].grid
    crew = _token(d, "--name", "crew-deploy", "--role", "crew", "--grid", grid)
    listed = httpx.get(
        f"{d.api}/api/v1/tickets", headers={"Authorization": f"Bearer {crew}"}, timeout=10
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["tickets"]
    assert {t["grid"] for t in items} == {grid}
    assert len(items) == len([t for t in got if t.grid == grid])
    assert httpx.get(f"{d.api}/api/v1/tickets", timeout=10).status_code == 401

    # The parent serves what its workers counted (one metrics view of the cluster).
    metrics = httpx.get(d.metrics, timeout=10).text
    counted = _metric_sum(metrics, "gridwatch_gateway_readings_stored_total")
    assert counted == readings, metrics[:2000]

    # Nobody was thrown off: no client saw a disconnect, no gateway worker reconnected, and
    # the broker replaced no session.
    for who, peer in [("intruder", intruder), *devices.items()]:
        assert peer.disconnects.empty(), who
    _stop(d.api_proc)
    _stop(d.gateway)
    d.broker.stop()
    gateway_log, broker_log = d.log("gateway"), d.broker.log_tail(100_000)
    assert "MQTT disconnected" not in gateway_log, gateway_log[-3000:]
    assert "already connected, closing old connection" not in broker_log, broker_log[-3000:]
    # No secret reached the journal.
    for secret in re.findall(
        r"://[^:/]+:([^@]+)@", (d.host.broker_files / "gateway.env").read_text()
    ):
        assert secret not in gateway_log + d.log("api")
    print(
        f"deployment: {readings} readings stored once by 2 workers, {len(got)} tickets, "
        f"{len(items)} for crew {grid}, metrics counted {counted:.0f}, 0 takeovers"
    )


def _diagnosis(d: Deployed) -> str:
    """What a stalled run needs to be read: how far storage got, the gateway's own counts
    and the broker's view of its clients."""
    try:
        metrics = httpx.get(d.metrics, timeout=10).text
    except httpx.HTTPError as e:
        metrics = f"(metrics unreadable: {e})"
    counts = "\n".join(
        line
        for line in metrics.splitlines()
        if line.startswith("gridwatch_") and not line.endswith(" 0.0")
    )
    return (
        f"stored: {_stored(d)}\n--- gateway metrics (non-zero)\n{counts}\n"
        f"--- PostgreSQL sessions not idle\n{_pg_activity(d.env['GRIDWATCH_DB_URL'])}\n"
        f"--- broker log\n{d.broker.log_tail(60)}"
    )


def _pg_activity(url: str) -> str:
    """Who waits on what in PostgreSQL: a stalled rules process is usually a lock wait."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            rows = c.execute(
                "SELECT pid, state, wait_event_type, wait_event, now() - xact_start, "
                "left(query, 200) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            ).fetchall()
    except psycopg.Error as e:
        return f"(unreadable: {e})"
    return "\n".join(" | ".join(str(v) for v in row) for row in rows) or "(none)"


def _tls(d: Deployed) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(d.cafile))


def _stored(d: Deployed) -> int:
    return asyncio.run(stored_points(d.influx, d.env["GRIDWATCH_INFLUX_DB"]))


def _stored_once(d: Deployed, want: int, timeout: float) -> None:
    """Wait for `want` readings in InfluxDB, then a moment more: exactly `want`, none twice."""
    _wait_for(
        f"{want} readings in InfluxDB",
        lambda: _stored(d) >= want,
        timeout,
        [d.gateway, d.api_proc],
        d.logs,
        lambda: _diagnosis(d),
    )
    time.sleep(1.0)  # a duplicate would land within a batch interval or two
    assert _stored(d) == want


def _metric_sum(text: str, name: str) -> float:
    """The sum of a Prometheus counter over its label sets."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith((f"{name} ", f"{name}{{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


# -- the shipped files, checked without running them ----------------------------------------


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    env = tmp_path / "gridwatch.env"
    env.write_text("")
    for name in ("gridwatch-gateway.service", "gridwatch-api.service"):
        text = (DEPLOY / name).read_text(encoding="utf-8")
        # only the two paths that do not exist on a test machine move
        text = text.replace(INSTALLED, str(Path(sys.executable).with_name("gridwatch")))
        text = text.replace("/etc/gridwatch/gridwatch.env", str(env))
        (tmp_path / name).write_text(text, encoding="utf-8")
        done = subprocess.run(
            [tool, "verify", str(tmp_path / name)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == "", done.stderr


def test_compose_runs_the_units_commands_with_the_units_environment() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    for service, unit_name in (
        ("gateway", "gridwatch-gateway.service"),
        ("api", "gridwatch-api.service"),
    ):
        u = unit(unit_name)
        assert shlex.split(services[service]["command"]) == [
            "gridwatch",
            *shlex.split(u["ExecStart"])[1:],
        ]
        assert services[service]["env_file"] == u["EnvironmentFile"]
        assert "environment" not in services[service]  # nothing beside the file the test runs
        assert services[service]["network_mode"] == "host"  # 127.0.0.1 means the same host
    # the broker runs the shipped file, where it reads the broker-config files and certificate
    mounts = services["mosquitto"]["volumes"]
    assert "./mosquitto.conf:/etc/mosquitto/mosquitto.conf:ro" in mounts
    assert "/etc/mosquitto/gridwatch:/etc/mosquitto/gridwatch:ro" in mounts
    assert "/etc/mosquitto/certs:/etc/mosquitto/certs:ro" in mounts
    assert services["mosquitto"]["network_mode"] == "host"
