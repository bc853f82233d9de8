"""A small site for the ingest tests: one sensor of each kind in one grid cell."""

from __future__ import annotations

from domain.site import Registry
from tests.sites import qingping_site

NOW_NS = 1_764_144_100 * 10**9  # 2025-11-26T08:01:40Z, the hub clock in these tests
TS = 1_764_144_000  # a device time 100 s before NOW_NS

POND = "sensors/pond/pond-qp-01/telemetry"
WATER = "sensors/water/water-qp-01/telemetry"
POWER = "sensors/power/power-qp-01/telemetry"
SEWER = "sensors/sewer/sewer-qp-01/telemetry"


def registry() -> Registry:
    return Registry(
        qingping_site(
            [
                {"id": f"{kind}-qp-01", "kind": kind, "grid": "qp-g1"}
                for kind in ("pond", "water", "power", "sewer")
            ]
        )
    )
