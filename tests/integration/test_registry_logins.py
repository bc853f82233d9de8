"""The admin API's device logins on a real Mosquitto with its dynamic-security plugin: a sensor
created with `POST /sensors` logs in with the credentials of the 201 within 5 s, `POST
/sensors/{id}/credentials` replaces its password (the old one refused within 5 s), and `DELETE`
retires it (its login refused). The registry's own row keeps only a hash."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from domain.site import Registry
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.registry.logins import check_password
from tests.harness import Mosquitto
from tests.integration.mqttpeers import Connect
from tests.integration.test_dynsec import (
    LIMIT_S,
    SITE,
    first_accepted,
    first_refused,
    report,
    start_live_broker,
)
from tests.services.api.conftest import _WithState


async def test_sensor_logins_follow_the_admin_api(
    make_mosquitto: Callable[..., Mosquitto], tmp_path: Path, peers: Connect
) -> None:
    live = start_live_broker(make_mosquitto, tmp_path / "broker")
    hubs: list[Hub] = []
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'gw.db'}", site="")
    async with live.admin() as logins:
        app = create_app(
            settings,
            registry=Registry(SITE),
            on_start=hubs.append,
            tick_interval_s=0,
            logins=logins,
            web=False,
        )
        async with (
            app.router.lifespan_context(app) as state,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=_WithState(app, dict(state or {}))),
                base_url="http://gridwatch.test",
            ) as client,
        ):
            hub = hubs[0]
            h = {"Authorization": f"Bearer {hub.tokens.create('root', 'admin')}"}
            start = time.monotonic()
            r = await client.post(
                "/api/v1/sensors",
                json={"id": "pond-qp-09", "kind": "pond", "grid": "qp-g1"},
                headers=h,
            )
            assert r.status_code == 201, r.text
            creds = r.json()["credentials"]
            answered = time.monotonic() - start
            _, took = first_accepted(peers, live.port, creds["username"], creds["password"])
            report("POST /sensors answered (registry + provision)", answered)
            report("201 -> first accepted login", took)
            assert took < LIMIT_S
            assert hub.store is not None
            row = hub.store.sensor_row("pond-qp-09")
            assert row is not None
            assert row.login_hash is not None
            assert check_password(creds["password"], row.login_hash)

            r = await client.post("/api/v1/sensors/pond-qp-09/credentials", headers=h)
            assert r.status_code == 200, r.text
            new = r.json()["credentials"]
            report(
                "rotation -> old password refused",
                first_refused(peers, live.port, creds["username"], creds["password"]),
            )
            first_accepted(peers, live.port, new["username"], new["password"])

            r = await client.delete("/api/v1/sensors/pond-qp-09", headers=h)
            assert r.status_code == 200, r.text
            assert "login_error" not in r.json()
            report(
                "retirement -> login refused",
                first_refused(peers, live.port, new["username"], new["password"]),
            )
            audit = (
                await client.get("/api/v1/audit", params={"entity": "sensor"}, headers=h)
            ).json()
            logins_seen = [c["after"]["login"] for c in audit["changes"] if c["action"] == "login"]
            assert logins_seen == ["disabled", "rotated", "provisioned"]
