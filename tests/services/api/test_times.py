"""Every route reads a request time the same way (domain.instants.to_ns): the same instant
written zone-less (site-local, Asia/Shanghai), with Z, with +08:00 or as Unix seconds selects
and stores the same nanosecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.services.api.conftest import Api

# T0 of tests/services/tickets/site.py (1_700_000_000 s), the tickets' opened_at, four ways.
T0_WRITTEN = [
    "2023-11-15T06:13:20",
    "2023-11-14T22:13:20Z",
    "2023-11-15T06:13:20+08:00",
    "1700000000",
]
ONE_SECOND_LATER = [
    "2023-11-15T06:13:21",
    "2023-11-14T22:13:21Z",
    "2023-11-15T06:13:21+08:00",
    "1700000001",
]


@pytest.mark.parametrize(("at", "after"), list(zip(T0_WRITTEN, ONE_SECOND_LATER, strict=True)))
async def test_tickets_since(api: Api, at: str, after: str) -> None:
    async def count(since: str) -> int:
        r = await api.client.get(
            "/api/v1/tickets", params={"since": since}, headers=api.headers("admin")
        )
        assert r.status_code == 200, r.text
        return int(r.json()["count"])

    assert await count(at) == 2  # both tickets opened exactly then: since is inclusive
    assert await count(after) == 0


# Tomorrow 00:00 UTC (a window may reach at most 31 days ahead), the same four ways.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
CST = timezone(timedelta(hours=8))
START_WRITTEN = [
    START.astimezone(CST).replace(tzinfo=None).isoformat(),
    START.strftime("%Y-%m-%dT%H:%M:%SZ"),
    START.astimezone(CST).isoformat(),
    str(int(START.timestamp())),
]


@pytest.mark.parametrize("start", START_WRITTEN)
async def test_maintenance_window_start(api: Api, start: str) -> None:
    end = (START + timedelta(hours=4)).astimezone(CST).isoformat()
    body = {"sensor": "pond-qp-01", "start": start, "end": end}
    r = await api.client.post("/api/v1/maintenance", json=body, headers=api.headers("own"))
    assert r.status_code == 201, r.text
    assert r.json()["start"] == START.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert r.json()["end"] == (START + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
