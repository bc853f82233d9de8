"""Residents' reports (contract §9): a public form opens or adds to the sensor's one active
resident.report ticket; rate-limited per client and per sensor; the phone number reaches the
grid's crew only, never a notice; the public side never shows ticket data."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from services.api.ratelimit import RateLimit
from services.tickets.reads import TicketFilter
from tests.services.api.conftest import Api
from tests.services.api.test_photos import photo

URL = "/api/v1/public/reports/pond-qp-01"


async def send(api: Api, what: str = "smell", phone: str = "", **files: bytes) -> int:
    r = await api.client.post(
        URL,
        data={"what": what, "phone": phone},
        files={k: ("photo.jpg", v, "image/jpeg") for k, v in files.items()} or None,
    )
    return r.status_code


def resident_ticket(api: Api) -> dict[str, Any]:
    """The newest resident.report ticket of pond-qp-01, as JSON."""
    found = api.hub.tickets.reads.find(TicketFilter(sensor="pond-qp-01"))
    t = next(t for t in found if t.rule == "resident.report")
    return api.hub.tickets.reads.get(t.id).model_dump(mode="json")


async def test_reports_open_one_ticket_and_count_occurrences(api: Api) -> None:
    r = await api.client.post(URL, data={"what": "smell", "phone": "+86 138 0000 1234"})
    assert r.status_code == 201
    assert set(r.json()) == {"reference"}  # no ticket data on the public side
    assert await send(api, "dead_fish", file=photo()) == 201
    t = resident_ticket(api)
    assert (t["status"], t["grid"], t["occurrences"], t["kind"]) == ("open", "qp-g1", 2, "pond")
    assert [e["kind"] for e in t["events"]] == ["opened", "reported"]
    assert "死鱼" in t["events"][-1]["note"]
    assert t["events"][-1]["photos"]
    assert "居民报告" in t["summary"]["zh"]
    assert "138" not in json.dumps(t)  # the phone is in no ticket read, and so in no notice


async def test_the_phone_is_for_the_grid_s_crew_only(api: Api) -> None:
    await send(api, "overflow", phone="13800001234")
    tid = resident_ticket(api)["id"]
    url = f"/api/v1/tickets/{tid}/reports"
    crew = (await api.client.get(url, headers=api.headers("own"))).json()
    assert crew[0]["phone"] == "13800001234"
    for who in ("officer", "admin"):
        seen = (await api.client.get(url, headers=api.headers(who))).json()
        assert (seen[0]["phone"], seen[0]["has_phone"]) == (None, True)
    assert (await api.client.get(url, headers=api.headers("other"))).status_code == 404
    assert (await api.client.get(url)).status_code == 401


async def test_a_resolved_report_ticket_is_followed_by_a_new_one(api: Api) -> None:
    await send(api)
    first = resident_ticket(api)["id"]
    await api.client.post(f"/api/v1/tickets/{first}/resolve", headers=api.headers("own"))
    await send(api, "other")
    assert resident_ticket(api)["id"] != first


async def test_rate_limited_per_client(api: Api) -> None:
    for _ in range(3):  # GRIDWATCH_FIELD_RESIDENT_REPORTS_PER_CLIENT's default
        assert await send(api) == 201
    r = await api.client.post(URL, data={"what": "smell"})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0


async def test_rate_limited_per_sensor(api: Api) -> None:
    api.hub.resident_limits = (RateLimit("c", 100, 3600), RateLimit("s", 2, 3600))
    assert await send(api) == 201
    assert await send(api) == 201
    assert await send(api) == 429
    r = await api.client.post(
        "/api/v1/public/reports/water-qp-01", data={"what": "no_water"}
    )  # another sensor is not held back
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("what", "phone", "status"),
    [("fire", "", 422), ("smell", "call me", 422), ("smell", "<script>", 422)],
)
async def test_only_the_listed_things_and_a_phone_number(
    api: Api, what: str, phone: str, status: int
) -> None:
    assert await send(api, what, phone) == status


async def test_unknown_sensor_and_a_bad_photo(api: Api) -> None:
    r = await api.client.post("/api/v1/public/reports/nope-01", data={"what": "smell"})
    assert r.status_code == 404
    assert await send(api, file=b"not a photo") == 415


async def test_the_form_learns_the_asset_only(api: Api) -> None:
    r = await api.client.get("/api/v1/public/sensors/pond-qp-01")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "kind", "asset", "community", "choices"}
    assert body["asset"] == "堰塘A"
    page = await api.client.get("/r/pond-qp-01")
    assert page.status_code == 200
    assert "resident.js" in page.text
    label = await api.client.get("/s/pond-qp-01", follow_redirects=False)
    assert (label.status_code, label.headers["location"]) == (302, "/#/sensor/pond-qp-01")


async def test_a_resident_photo_is_stored_without_exif(api: Api) -> None:
    await send(api, file=photo())
    t = resident_ticket(api)
    [p] = t["photos"]
    r = await api.client.get(f"/api/v1/photos/{p['id']}", headers=api.headers("own"))
    assert len(Image.open(io.BytesIO(r.content)).getexif()) == 0
