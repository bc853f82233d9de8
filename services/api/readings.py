"""The last reading of a sensor, from InfluxDB (contract §3 schema: measurement = kind, tag
`sensor`). A seam: the API works without InfluxDB (last_reading is then null)."""

from __future__ import annotations

import logging
from typing import Protocol

from adapters.influx.errors import InfluxError
from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import ident

log = logging.getLogger(__name__)


class LastReadings(Protocol):
    async def last(self, sensor: str, kind: str) -> dict[str, float | int | str] | None: ...


class NoReadings:
    """Used when no InfluxDB is configured."""

    async def last(self, sensor: str, kind: str) -> dict[str, float | int | str] | None:
        return None


class InfluxLastReadings:
    def __init__(self, influx: InfluxQuery) -> None:
        self.influx = influx
        self.errors = 0

    async def last(self, sensor: str, kind: str) -> dict[str, float | int | str] | None:
        q = f'SELECT * FROM {ident(kind)} WHERE "sensor" = $sensor ORDER BY time DESC LIMIT 1'  # noqa: S608 - identifier quoted, value bound
        try:
            series = await self.influx.query(q, {"sensor": sensor})
        except InfluxError as e:
            self.errors += 1
            log.warning("last reading of %s unavailable: %s", sensor, e)
            return None
        for s in series:
            for row in s.rows():
                return {
                    k: v
                    for k, v in row.items()
                    if v is not None
                    and not isinstance(v, bool)
                    and k not in ("sensor", "grid", "community")
                }
        return None
