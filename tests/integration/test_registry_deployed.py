"""Issue 13's "done when" on the deployed hub: `gridwatch gateway --workers 2` and `gridwatch
api` as processes on PostgreSQL (the `deployed` fixture of test_deployment), a device publishing
10 readings/s at QoS 1 over TLS with its broker-config login while a hundred registry changes go
through the admin API — sensors added, patched, retired, an unrelated sensor moved, grids and
people patched. Every reading the broker acknowledged is stored in InfluxDB exactly once, and
the gateway rejects none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from domain import topics
from tests.integration.mqttpeers import Connect
from tests.integration.test_deployment import (
    Deployed,
    _diagnosis,
    _metric_sum,
    _stored,
    _stored_once,
    _tls,
    _token,
    deployed,  # noqa: F401 - fixture
)
from tests.integration.tickets_support import reading
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures

DEVICE = "water-cy-tank-01"  # publishes throughout; no change touches it
MOVED = "water-cy-tank-02"  # the unrelated sensor moved back and forth
RATE_HZ = 10.0
CHANGES = 100


def changes() -> Iterator[tuple[str, str, dict[str, object] | None]]:
    """(method, path, body) of a hundred registry changes of every sort."""
    n = 0
    while True:
        i = n // 6
        new = f"pond-cy-9{i:02d}"
        yield "POST", "/sensors", {"id": new, "kind": "pond", "grid": "cy-g2", "interval_s": 60}
        yield "PATCH", f"/sensors/{new}", {"interval_s": 120 + i}
        yield "PATCH", f"/sensors/{MOVED}", {"grid": "cy-g3" if i % 2 == 0 else "cy-g1"}
        yield "PATCH", "/grids/cy-g2", {"name": f"朝阳2号网格 ({i})"}
        yield "PATCH", "/people/w-012", {"phone": f"138-0000-{i:04d}"}
        yield "DELETE", f"/sensors/{new}", None
        n += 6


@pytest.mark.slow
def test_a_device_publishing_through_a_hundred_api_changes_loses_nothing(
    deployed: Deployed,  # noqa: F811 - fixture
    peers: Connect,
) -> None:
    d = deployed
    admin = _token(d, "--name", "admin-registry-load", "--role", "admin")
    http = httpx.Client(
        base_url=f"{d.api}/api/v1", headers={"Authorization": f"Bearer {admin}"}, timeout=30
    )
    device, rc = peers(d.tls, DEVICE, d.password(DEVICE), client_id=DEVICE, tls=_tls(d))
    assert not rc.is_failure, rc
    before = _stored(d)

    acked: list[float] = []
    refused: list[str] = []
    done = threading.Event()

    def publish() -> None:
        t0 = time.time() - 3600  # distinct, ordered timestamps in the past hour
        n = 0
        next_at = time.monotonic()
        while not done.is_set():
            e = reading("water", DEVICE, topics.DEFAULT_PREFIX, t0 + n * 0.1, pressure=0.3)
            got = device.publish(e.topic, e.payload)
            if got.is_failure:
                refused.append(str(got))
            else:
                acked.append(t0 + n * 0.1)
            n += 1
            next_at += 1 / RATE_HZ
            time.sleep(max(0.0, next_at - time.monotonic()))

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        time.sleep(1.0)  # the device is well under way before the first change
        took: list[float] = []
        version0 = http.get("/site").json()["version"]
        began = time.monotonic()
        for (method, path, body), _ in zip(changes(), range(CHANGES), strict=False):
            t = time.monotonic()
            r = http.request(method, path, json=body)
            took.append(time.monotonic() - t)
            assert r.status_code in (200, 201), (method, path, r.status_code, r.text)
        spent = time.monotonic() - began
        time.sleep(1.0)  # and goes on after the last one
    finally:
        done.set()
        publisher.join(10)
    version = http.get("/site").json()["version"]
    http.close()
    assert version - version0 == CHANGES, (version0, version)
    assert not refused, refused[:5]

    want = before + len(acked)
    _stored_once(d, want, 60)
    metrics = httpx.get(d.metrics, timeout=10).text
    assert _metric_sum(metrics, "gridwatch_gateway_rejections_total") == 0, _diagnosis(d)
    assert _metric_sum(metrics, "gridwatch_gateway_readings_stored_total") == want
    took.sort()
    print(
        f"registry under load: {len(acked)} readings acknowledged at {RATE_HZ:.0f}/s, "
        f"{_stored(d) - before} stored, 0 rejected; {CHANGES} API changes in {spent:.1f} s "
        f"(version {version0} -> {version}), per change median {took[len(took) // 2] * 1000:.0f}"
        f" ms, p95 {took[int(len(took) * 0.95)] * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms"
    )
