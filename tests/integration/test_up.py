"""`gridwatch up` as a newcomer runs it: local Mosquitto and InfluxDB started under a folder
of its own, the demo community simulated, tickets reachable through the API with the printed
tokens, the dashboard served, and everything stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from domain.site import Sensor
from gridwatch.broker.dynsec import DynsecAdmin
from tests.harness import free_port


@dataclass
class Hub:
    proc: subprocess.Popen[str]
    url: str
    tokens: dict[str, str]
    banner: str


def _read_banner(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"`gridwatch up` exited early ({proc.poll()}):\n{''.join(lines)}")
        lines.append(line)
        if line.startswith("Demo tokens"):
            for _ in range(20):
                nxt = proc.stdout.readline()
                if not nxt.strip():
                    return "".join(lines)
                lines.append(nxt)
    pytest.fail(f"no banner within {timeout}s:\n{''.join(lines)}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("up")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridwatch.cli", "up", "--var", str(tmp / "var"),
         "--http", f"127.0.0.1:{port}", "--backfill", "6h", "--speed", "20000"],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        banner = _read_banner(proc, 60)
        tokens = {}
        for line in banner.splitlines():
            m = re.match(r"\s+(gw_\S+)\s+(.+)$", line)
            if m:
                tokens[m.group(2).strip()] = m.group(1)
        yield Hub(proc, f"http://127.0.0.1:{port}", tokens, banner)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _tickets(hub: Hub, token: str) -> list[dict[str, object]]:
    r = httpx.get(
        f"{hub.url}/api/v1/tickets",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return list(r.json()["tickets"])


def test_banner_names_the_dashboard_and_prints_tokens(hub: Hub) -> None:
    assert f"dashboard   {hub.url}/" in hub.banner
    assert {"admin", "officer"} <= set(hub.tokens)
    assert any(role.startswith("crew ") for role in hub.tokens)


def test_the_simulated_storm_opens_tickets_for_the_right_crew(hub: Hub) -> None:
    admin = hub.tokens["admin"]
    deadline = time.monotonic() + 90
    found: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        found = [t for t in _tickets(hub, admin) if t["rule"] == "sewer.surcharge"]
        if found:
            break
        time.sleep(1)
    assert found, "the storm-night scenario raised no sewer surcharge ticket"
    grid = str(found[0]["grid"])
    crew = next(tok for role, tok in hub.tokens.items() if role.startswith(f"crew {grid} "))
    theirs = _tickets(hub, crew)
    assert any(t["rule"] == "sewer.surcharge" for t in theirs)
    assert all(t["grid"] == grid for t in theirs)


def test_api_refuses_without_token_and_serves_the_dashboard(hub: Hub) -> None:
    assert httpx.get(f"{hub.url}/api/v1/tickets", timeout=10).status_code == 401
    page = httpx.get(f"{hub.url}/", timeout=10)
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    health = httpx.get(f"{hub.url}/api/v1/healthz", timeout=10).json()
    assert health["database"] is True
    assert health["ingest"]["broker_connected"] is True, health
    assert health["ingest"]["spool_depth"] == 0, health


def test_a_reading_published_by_hand_as_the_readme_says(hub: Hub) -> None:
    """The README's first session: mosquitto_pub as a device with its own password; a bad
    value next to a good one is refused, counted and inspectable, the good one stored."""
    var = Path(hub.banner.split("data, logs")[1].split()[0])
    creds = json.loads((var / "broker" / "credentials.json").read_text(encoding="utf-8"))
    device = creds["devices"]["pond-qp-01"]
    port = hub.banner.split("MQTT")[1].split()[0].rsplit(":", 1)[1]
    stamp = int(time.time())
    payload = json.dumps({"ts": stamp, "values": {"do": 6.5, "ph": "high"}})
    subprocess.run(
        ["mosquitto_pub", "-p", port, "-u", device["username"], "-P", device["password"],
         "-i", device["client_id"], "-q", "1", "-t", device["telemetry"], "-m", payload],
        check=True, timeout=10,
    )  # fmt: skip
    officer = {"Authorization": f"Bearer {hub.tokens['officer']}"}
    deadline = time.monotonic() + 20
    mine: list[dict[str, object]] = []
    while time.monotonic() < deadline and not mine:
        r = httpx.get(f"{hub.url}/api/v1/rejections", headers=officer, timeout=10)
        mine = [x for x in r.json()["rejections"] if str(stamp) in str(x.get("payload_head"))]
        time.sleep(0.3)
    assert mine, "the refused value never showed up in /rejections"
    assert mine[0]["reason"] == "malformed"
    assert mine[0]["sensor"] == "pond-qp-01"
    influx = hub.banner.split("InfluxDB")[1].split()[0]
    q = f"SELECT do FROM pond WHERE sensor='pond-qp-01' AND time = {stamp}s"  # noqa: S608 - our literal
    rows = httpx.get(f"{influx}/query", params={"db": "gridwatch", "q": q}, timeout=10).json()
    assert rows["results"][0]["series"][0]["values"][0][1] == 6.5


async def test_ups_own_broker_takes_a_new_device_login_without_a_restart(hub: Hub) -> None:
    """`up`'s Mosquitto runs the dynamic-security plugin: the admin login `up` hands its API
    provisions a device that then publishes with its new login; disabled, it is refused."""
    var = Path(hub.banner.split("data, logs")[1].split()[0])
    creds = json.loads((var / "broker" / "credentials.json").read_text(encoding="utf-8"))
    port = int(hub.banner.split("MQTT")[1].split()[0].rsplit(":", 1)[1])
    assert "plugin_opt_config_file" in (var / "broker" / "mosquitto.conf").read_text()
    admin = creds["admin"]
    async with DynsecAdmin("127.0.0.1", port, admin["username"], admin["password"]) as logins:
        login = await logins.provision(Sensor(id="pond-up-77", kind="pond", grid="cy-g1"))

        def publish() -> int:
            return subprocess.run(
                ["mosquitto_pub", "-p", str(port), "-u", login.username, "-P", login.password,
                 "-q", "1", "-t", "sensors/pond/pond-up-77/status", "-m", "online"],
                check=False, timeout=10, capture_output=True,
            ).returncode  # fmt: skip

        assert publish() == 0
        await logins.disable("pond-up-77")
        assert publish() != 0


def test_a_sensor_added_through_the_api_publishes_with_its_new_login(hub: Hub) -> None:
    """Contract §7 on `up`: `POST /sensors` answers the device's login (dynamic security), the
    device publishes with it and its reading is stored — no restart; `DELETE` retires it and
    its login is refused."""
    admin = {"Authorization": f"Bearer {hub.tokens['admin']}"}
    port = hub.banner.split("MQTT")[1].split()[0].rsplit(":", 1)[1]
    influx = hub.banner.split("InfluxDB")[1].split()[0]
    body = {"id": "pond-up-88", "kind": "pond", "grid": "cy-g1", "interval_s": 60}
    r = httpx.post(f"{hub.url}/api/v1/sensors", json=body, headers=admin, timeout=30)
    assert r.status_code == 201, r.text
    created = time.monotonic()
    login = r.json()["credentials"]
    assert login is not None, r.json()
    stamp = int(time.time())

    def publish(ts: int) -> int:
        payload = json.dumps({"ts": ts, "values": {"do": 6.1}})
        return subprocess.run(
            ["mosquitto_pub", "-p", port, "-u", login["username"], "-P", login["password"],
             "-q", "1", "-t", "sensors/pond/pond-up-88/telemetry", "-m", payload],
            check=False, timeout=10, capture_output=True,
        ).returncode  # fmt: skip

    q = f"SELECT do FROM pond WHERE sensor='pond-up-88' AND time = {stamp}s"  # noqa: S608 - ours
    stored = None
    while stored is None and time.monotonic() - created < 5:
        if publish(stamp) == 0:
            found = httpx.get(f"{influx}/query", params={"db": "gridwatch", "q": q}, timeout=10)
            if found.json()["results"][0].get("series"):
                stored = time.monotonic() - created
                break
        time.sleep(0.1)
    assert stored is not None, "no reading of the new sensor stored within 5 s of its 201"
    print(f"\n201 -> first stored reading: {stored:.2f} s")
    r = httpx.delete(f"{hub.url}/api/v1/sensors/pond-up-88", headers=admin, timeout=30)
    assert r.status_code == 200, r.text
    assert "login_error" not in r.json()
    assert publish(stamp + 60) != 0


def test_sigterm_stops_everything_it_started(hub: Hub) -> None:
    var = Path(hub.banner.split("data, logs")[1].split()[0])
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(30) == 0
    assert (var / "gridwatch.db").is_file()
    influx = hub.banner.split("InfluxDB")[1].split()[0].rsplit(":", 1)[1]
    mqtt = hub.banner.split("MQTT")[1].split()[0].rsplit(":", 1)[1]
    for what, port in (("API", hub.url.rsplit(":", 1)[1]), ("InfluxDB", influx), ("broker", mqtt)):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"the {what} still listens"
