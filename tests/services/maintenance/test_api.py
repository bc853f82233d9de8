"""POST/GET/DELETE /api/v1/maintenance over the real app (lifespan, SQLite, tokens)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tests.services.api.conftest import Api

URL = "/api/v1/maintenance"
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(
    hour=0, minute=0, second=0, microsecond=0
)
BODY = {
    "sensor": "pond-qp-01",
    "start": TOMORROW.astimezone(timezone(timedelta(hours=8))).isoformat(),
    "end": (TOMORROW + timedelta(hours=4)).isoformat(),
    "note": "更换探头",
}


async def test_crew_marks_own_sensor_lists_and_ends_it_others_cannot(api: Api) -> None:
    c = api.client
    r = await c.post(URL, json=BODY, headers=api.headers("own"))
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["sensor"] == "pond-qp-01"
    assert w["grid"] == "qp-g1"
    assert w["created_by"] == "li-ming"
    assert w["start"] == TOMORROW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert w["active"] is False

    assert (await c.post(URL, json=BODY, headers=api.headers("other"))).status_code == 422
    assert (await c.post(URL, json=BODY, headers=api.headers("officer"))).status_code == 403
    assert (await c.post(URL, json=BODY, headers=api.headers("none"))).status_code == 401
    bad = {**BODY, "end": (TOMORROW - timedelta(hours=1)).isoformat()}
    assert (await c.post(URL, json=bad, headers=api.headers("admin"))).status_code == 422

    officer = (await c.get(URL, headers=api.headers("officer"))).json()
    assert [x["id"] for x in officer["windows"]] == [w["id"]]
    other = (await c.get(URL, headers=api.headers("other"))).json()
    assert other["count"] == 0

    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("other"))).status_code == 404
    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("officer"))).status_code == 403
    r = await c.delete(f"{URL}/{w['id']}", headers=api.headers("own"))
    assert r.status_code == 200
    ended = r.json()
    assert ended["ended_by"] == "li-ming"
    assert ended["end"] == ended["start"]  # not started yet: cancelled
    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("own"))).status_code == 409


def _at(days: float) -> str:
    """An instant `days` from now, ISO 8601 in UTC."""
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_far_and_extreme_times_are_a_422_not_a_500(api: Api) -> None:
    for start, end in (
        (None, "9999-12-31T23:59:59Z"),
        ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00+14:00", _at(1)),
        (_at(40), _at(41)),  # a month and more ahead: plan it nearer the time
    ):
        body = {"sensor": "pond-qp-01", "end": end, **({"start": start} if start else {})}
        r = await api.client.post(URL, json=body, headers=api.headers("admin"))
        assert r.status_code == 422, (start, end, r.text)
        assert r.json()["detail"][0]["msg"]


async def test_a_crew_learns_nothing_of_another_grids_sensor(api: Api) -> None:
    """Another grid's sensor and one that does not exist get the same answer."""
    answers = []
    for sensor in ("pond-qp-01", "pond-zz-99"):
        body = {"sensor": sensor, "end": _at(1)}
        r = await api.client.post(URL, json=body, headers=api.headers("other"))
        answers.append((r.status_code, r.json()["detail"][0]["msg"].replace(sensor, "S")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    assert "qp-g1" not in str(answers)


async def test_windows_cannot_be_chained_to_silence_a_sensor_for_long(api: Api) -> None:
    """Back-to-back windows of 31 days each would silence a sensor for years: no window may
    reach more than 31 days ahead, and a sensor has at most 10 windows not yet over."""
    own = api.headers("own")
    first = {"sensor": "pond-qp-01", "end": _at(30)}
    assert (await api.client.post(URL, json=first, headers=own)).status_code == 201
    chained = {"sensor": "pond-qp-01", "start": _at(30), "end": _at(61)}
    r = await api.client.post(URL, json=chained, headers=own)
    assert r.status_code == 422, r.text
    assert "31 days" in r.json()["detail"][0]["msg"]

    for i in range(9):  # ten windows in all, not yet over
        body = {"sensor": "pond-qp-01", "start": _at(i + 1), "end": _at(i + 1.5)}
        assert (await api.client.post(URL, json=body, headers=own)).status_code == 201
    r = await api.client.post(URL, json={"sensor": "pond-qp-01", "end": _at(2)}, headers=own)
    assert r.status_code == 422, r.text
    assert "10 maintenance windows" in r.json()["detail"][0]["msg"]
    other = {"sensor": "water-qp-01", "end": _at(2)}  # another sensor is not affected
    assert (await api.client.post(URL, json=other, headers=own)).status_code == 201
