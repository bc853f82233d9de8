"""GET /sensors colours each sensor from the active tickets, server-side, so the map and any
other client agree: offline beats critical beats warning beats ok; a community.silent ticket
makes its whole community offline; a recovered or resolved ticket no longer counts."""

from __future__ import annotations

import time
from dataclasses import replace

from domain.breach import Change, Severity
from services.db.rule_state import SqlRuleStateStore
from services.rules.silence import HUB_ROW
from tests.services.api.conftest import Api
from tests.services.tickets.site import HOUR, T0, low_do

S = 10**9
HOUR_NS = 3600 * S


async def _states(api: Api, who: str = "admin") -> dict[str, str]:
    r = await api.client.get("/api/v1/sensors", headers=api.headers(who))
    assert r.status_code == 200
    return {s["id"]: s["state"] for s in r.json()["sensors"]}


async def _detail_state(api: Api, sensor: str) -> str:
    r = await api.client.get(f"/api/v1/sensors/{sensor}", headers=api.headers("admin"))
    assert r.status_code == 200
    state: str = r.json()["state"]
    return state


async def test_state_is_the_worst_unrecovered_ticket(api: Api) -> None:
    # the fixture opened critical low-oxygen tickets on pond-qp-01 and water-qp-01
    assert await _states(api) == {
        "pond-qp-01": "critical",
        "water-qp-01": "critical",
        "power-qp-02": "ok",
        "sewer-hx-01": "ok",
    }
    voltage = replace(
        low_do(Change.RAISED, at=T0 + HOUR, severity=Severity.WARNING, sensor="power-qp-02"),
        rule="power.voltage",
        metric="voltage",
    )
    api.hub.tickets.apply(voltage)
    offline = replace(
        low_do(Change.RAISED, at=T0 + 2 * HOUR, sensor="pond-qp-01"),
        rule="sensor.offline",
        metric=None,
        value=None,
        comparison="offline",
    )
    api.hub.tickets.apply(offline)
    api.hub.tickets.apply(low_do(Change.CLEARED, at=T0 + 2 * HOUR, sensor="water-qp-01"))
    states = await _states(api)
    assert states == {
        "pond-qp-01": "offline",  # offline beats its critical low-oxygen ticket
        "water-qp-01": "ok",  # recovered: the ticket only waits for the crew to close it
        "power-qp-02": "warning",
        "sewer-hx-01": "ok",
    }
    for sensor, state in states.items():
        assert await _detail_state(api, sensor) == state


async def test_a_silent_community_is_offline_everywhere_in_it(api: Api) -> None:
    silent = replace(
        low_do(Change.RAISED, at=T0 + HOUR, sensor="qingping"),
        rule="community.silent",
        metric=None,
        value=None,
        comparison="offline",
    )
    api.hub.tickets.apply(silent)
    states = await _states(api)
    assert states["pond-qp-01"] == states["water-qp-01"] == states["power-qp-02"] == "offline"
    assert states["sewer-hx-01"] == "ok"  # another community
    assert await _detail_state(api, "power-qp-02") == "offline"


async def test_resolved_tickets_leave_the_sensor_ok_and_crews_see_their_own(api: Api) -> None:
    h = api.headers("own")
    r = await api.client.post(f"/api/v1/tickets/{api.ticket_id}/resolve", headers=h, json={})
    assert r.status_code == 200
    assert await _states(api, "own") == {"pond-qp-01": "ok", "water-qp-01": "critical"}
    assert await _states(api, "other") == {"sewer-hx-01": "ok"}


async def test_a_sensor_the_hub_has_no_verdict_on_is_waiting(api: Api) -> None:
    """With a hub's start record: not heard since the hub started (inside the offline grace,
    or never reported), or silent past 3 × interval_s before its offline ticket opens, is
    "waiting" instead of ok; a ticket's state still wins."""
    now = time.time_ns()
    store = SqlRuleStateStore(api.hub.engine)
    store.save(
        {
            HUB_ROW: {"started": now - 2 * HOUR_NS, "intervals": 3.0},
            ("sewer-hx-01", "sensor.offline"): {"last_ts": now, "seen": now - 60 * S},
            ("power-qp-02", "sensor.offline"): {"last_ts": now, "seen": now - 3 * HOUR_NS},
            ("pond-qp-01", "sensor.offline"): {"last_ts": now, "seen": now - 60 * S},
        }
    )
    states = await _states(api)
    assert states == {
        "pond-qp-01": "critical",  # its open ticket says more than its presence
        "water-qp-01": "critical",  # never heard since the hub started, but critical
        "power-qp-02": "waiting",  # last heard before the hub started
        "sewer-hx-01": "ok",
    }
    assert await _detail_state(api, "power-qp-02") == "waiting"
    store.save({("sewer-hx-01", "sensor.offline"): {"last_ts": now, "seen": now - 16 * 60 * S}})
    assert (await _states(api))["sewer-hx-01"] == "waiting"  # silent past 3 × 300 s
    assert await _detail_state(api, "sewer-hx-01") == "waiting"
