"""The ticket routes from a crew member's side: filters, bounds, actions, no mass assignment."""

from __future__ import annotations

import pytest

from domain.measurement import Rejection, RejectReason
from tests.services.api.conftest import Api


async def test_ticket_json_has_the_contract_fields(api: Api) -> None:
    r = await api.client.get(f"/api/v1/tickets/{api.ticket_id}", headers=api.headers("own"))
    t = r.json()
    for key in [
        "id",
        "sensor",
        "kind",
        "metric",
        "rule",
        "severity",
        "status",
        "grid",
        "community",
        "assignee",
        "opened_at",
        "updated_at",
        "resolved_at",
        "first_value",
        "peak_value",
        "last_value",
        "occurrences",
        "recovered",
        "summary",
        "events",
    ]:
        assert key in t
    assert t["summary"]["zh"].startswith("清平社区 清平1号网格 堰塘A:溶解氧 1.5 mg/L")
    assert t["opened_at"].startswith("2023-11-14T22:13:20")


async def test_filters(api: Api) -> None:
    h = api.headers("admin")

    async def ids(q: str) -> list[str]:
        return [
            t["sensor"]
            for t in (await api.client.get(f"/api/v1/tickets?{q}", headers=h)).json()["tickets"]
        ]

    assert await ids("kind=pond") == ["pond-qp-01"]
    assert await ids("kind=water&severity=critical") == ["water-qp-01"]
    assert await ids("status=resolved") == []
    assert await ids("community=hexi") == []
    assert await ids("since=2030-01-01T00:00:00Z") == []
    assert len(await ids("status=active&limit=1")) == 1


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=100000", "status=closed", "grid=../x", "since=yesterday"]
)
async def test_bad_queries_are_422(api: Api, query: str) -> None:
    r = await api.client.get(f"/api/v1/tickets?{query}", headers=api.headers("admin"))
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("ack", {"status": "resolved"}),
        ("ack", {"assignee": "w-999"}),
        ("comments", {"text": "x", "grid": "hx-g1"}),
        ("comments", {"text": "x", "severity": "warning"}),
        ("resolve", {"note": "x", "status": "open"}),
        ("resolve", {"note": "x", "assignee": "w-999", "grid": "hx-g1"}),
    ],
)
async def test_no_mass_assignment(api: Api, path: str, body: dict[str, str]) -> None:
    r = await api.client.post(
        f"/api/v1/tickets/{api.ticket_id}/{path}", headers=api.headers("own"), json=body
    )
    assert r.status_code == 422
    t = api.hub.tickets.reads.get(api.ticket_id)
    assert (t.status, t.assignee, t.grid, t.severity) == ("open", "w-017", "qp-g1", "critical")


async def test_ack_comment_resolve_by_crew(api: Api) -> None:
    h = api.headers("own")
    base = f"/api/v1/tickets/{api.ticket_id}"
    assert (await api.client.post(f"{base}/ack", headers=h)).json()["status"] == "acknowledged"
    await api.client.post(f"{base}/comments", headers=h, json={"text": "换了曝气头"})
    t = (await api.client.post(f"{base}/resolve", headers=h, json={"note": "done"})).json()
    assert t["status"] == "resolved"
    assert [(e["kind"], e["actor"]) for e in t["events"]] == [
        ("opened", "hub"),
        ("acknowledged", "li-ming"),
        ("commented", "li-ming"),
        ("resolved", "li-ming"),
    ]
    again = await api.client.post(f"{base}/resolve", headers=h, json={"note": "again"})
    assert again.status_code == 409
    assert (await api.client.get("/api/v1/tickets/999999", headers=h)).status_code == 404


async def test_sensor_detail_lists_open_tickets(api: Api) -> None:
    s = (await api.client.get("/api/v1/sensors/pond-qp-01", headers=api.headers("own"))).json()
    assert s["grid"] == "qp-g1"
    assert s["asset"] == "堰塘A"
    assert [t["id"] for t in s["open_tickets"]] == [api.ticket_id]
    assert s["last_reading"] is None  # no InfluxDB configured in this app


async def _record(api: Api) -> None:
    await api.hub.rejections.record(
        [
            Rejection(RejectReason.UNKNOWN_SENSOR, "sensors/pond/ghost-01/telemetry", i, "who?")
            for i in range(5)
        ]
    )
    await api.hub.rejections.flush()


async def test_rejections_newest_first_and_bounded(api: Api) -> None:
    await _record(api)
    r = (await api.client.get("/api/v1/rejections?limit=3", headers=api.headers("officer"))).json()
    assert [x["received_at"] for x in r["rejections"]] == sorted(
        (x["received_at"] for x in r["rejections"]), reverse=True
    )
    assert r["count"] == 3
    assert r["rejections"][0]["reason"] == "unknown_sensor"
    bad = await api.client.get("/api/v1/rejections?limit=5000", headers=api.headers("officer"))
    assert bad.status_code == 422


async def test_health_metrics_and_openapi(api: Api) -> None:
    health = (await api.client.get("/api/v1/healthz")).json()
    assert health == {"status": "ok", "database": True, "ingest": None, "registry_version": 1}
    m = await api.client.get("/api/v1/metrics", headers=api.headers("officer"))
    assert m.headers["content-type"].startswith("text/plain")
    assert "gridwatch_registry_version 1.0" in m.text
    assert 'gridwatch_tickets_active{severity="critical",status="open"} 2.0' in m.text
    spec = (await api.client.get("/openapi.json")).json()
    assert "/api/v1/tickets/{ticket_id}/resolve" in spec["paths"]
