"""Comments are bounded (length, and a rate per person), and the timeline pages over HTTP."""

from __future__ import annotations

from services.api.ratelimit import COMMENTS_PER_WINDOW, WINDOW_S, RateLimit
from tests.services.api.conftest import Api


async def test_a_comment_over_2000_characters_is_422_naming_the_field(api: Api) -> None:
    url = f"/api/v1/tickets/{api.ticket_id}/comments"
    r = await api.client.post(url, headers=api.headers("own"), json={"text": "x" * 2001})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "text"]]
    ok = await api.client.post(url, headers=api.headers("own"), json={"text": "水" * 2000})
    assert ok.status_code == 201
    assert ok.json()["events"][-1]["note"] == "水" * 2000


async def test_too_many_comments_by_one_person_are_429_with_retry_after(api: Api) -> None:
    now = [1000.0]
    api.hub.comments = RateLimit(clock=lambda: now[0])
    url = f"/api/v1/tickets/{api.ticket_id}/comments"
    for i in range(COMMENTS_PER_WINDOW):
        r = await api.client.post(url, headers=api.headers("own"), json={"text": f"#{i}"})
        assert r.status_code == 201, r.text
        now[0] += 1
    refused = await api.client.post(url, headers=api.headers("own"), json={"text": "again"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == WINDOW_S - COMMENTS_PER_WINDOW
    # nothing was stored for the refused one, and another person may still comment
    t = await api.client.get(f"/api/v1/tickets/{api.ticket_id}", headers=api.headers("own"))
    assert t.json()["comment_count"] == COMMENTS_PER_WINDOW
    admin = await api.client.post(url, headers=api.headers("admin"), json={"text": "admin"})
    assert admin.status_code == 201
    now[0] += WINDOW_S - COMMENTS_PER_WINDOW  # the first one has left the window
    again = await api.client.post(url, headers=api.headers("own"), json={"text": "later"})
    assert again.status_code == 201


async def test_the_timeline_pages_over_http_and_only_for_those_who_may_see_it(api: Api) -> None:
    base = f"/api/v1/tickets/{api.ticket_id}"
    api.hub.comments = RateLimit(count=1000)
    for i in range(45):
        await api.client.post(
            f"{base}/comments", headers=api.headers("own"), json={"text": f"#{i}"}
        )
    t = (await api.client.get(base, headers=api.headers("own"))).json()
    assert (t["event_count"], t["comment_count"]) == (46, 45)
    seen = [e["id"] for e in t["events"]]
    before = t["events_next"]
    while before is not None:
        r = await api.client.get(
            f"{base}/events", params={"before": before, "limit": 10}, headers=api.headers("own")
        )
        assert r.status_code == 200
        seen[:0] = [e["id"] for e in r.json()["events"]]
        before = r.json()["next"]
    assert seen == sorted(set(seen))
    assert len(seen) == 46
    newest = (await api.client.get(f"{base}/events", headers=api.headers("officer"))).json()
    assert newest["events"][-1]["note"] == "#44"
    other = await api.client.get(f"{base}/events", headers=api.headers("other"))
    assert other.status_code == 404
    for bad in ("limit=0", "limit=201", "before=0", "before=x"):
        r = await api.client.get(f"{base}/events?{bad}", headers=api.headers("own"))
        assert r.status_code == 422, bad


async def test_lists_carry_counts_not_the_timeline(api: Api) -> None:
    base = f"/api/v1/tickets/{api.ticket_id}"
    await api.client.post(f"{base}/comments", headers=api.headers("own"), json={"text": "到了"})
    [t] = (await api.client.get("/api/v1/tickets?kind=pond", headers=api.headers("own"))).json()[
        "tickets"
    ]
    assert "events" not in t
    assert (t["id"], t["event_count"], t["comment_count"]) == (api.ticket_id, 2, 1)
