"""The read side of the site the hub's processes share: `Registry`, its lookups (a sensor's
`Placement` in one dict lookup) and the whole-view swap when a committed change arrives."""

from __future__ import annotations

from dataclasses import dataclass

from domain.site.models import Community, Grid, Person, Sensor, Site


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a sensor sits, resolved once: what the gateway tags and the rules route by.

    A slotted record rather than a model: there is one per sensor, and built from models
    already validated it needs no validation; as a pydantic model (a __dict__ and a fields-set
    each) it cost 480 bytes, 48 MB at 100,000 sensors.
    """

    sensor: Sensor
    grid: Grid
    community: Community


@dataclass(frozen=True, slots=True)
class _View:
    """One version of the registry, built once; what a lookup reads."""

    site: Site
    version: int
    grids: dict[str, tuple[Grid, Community]]
    communities: dict[str, Community]
    placements: dict[str, Placement]
    retired: frozenset[str]
    people: dict[str, Person]

    @classmethod
    def build(cls, site: Site, version: int, retired: frozenset[str]) -> _View:
        grids = {g.id: (g, c) for c in site.communities for g in c.grids}
        placements: dict[str, Placement] = {}
        for s in site.sensors:
            grid, community = grids[s.grid]
            placements[s.id] = Placement(s, grid, community)
        return cls(
            site=site,
            version=version,
            grids=grids,
            communities={c.id: c for c in site.communities},
            placements=placements,
            retired=retired - placements.keys(),
            people={p.id: p for p in site.people},
        )


class Registry:
    """Lookups over a Site; the hot path does one dict lookup.

    Live: every process holds one Registry object and `swap` replaces its whole view (one
    attribute store) when a newer version is committed, so a lookup — a reading being judged —
    sees one version or the next, never a mix. Hold on to `snapshot()` to read several things
    of one version. `retired` are sensors that once were here: their readings are refused as
    `retired_sensor` rather than `unknown_sensor`."""

    def __init__(self, site: Site, *, version: int = 0, retired: frozenset[str] = frozenset()):
        self._view = _View.build(site, version, retired)

    @property
    def site(self) -> Site:
        return self._view.site

    @property
    def version(self) -> int:
        """The database registry's version this view was read at (0: a site file only)."""
        return self._view.version

    @property
    def grids(self) -> dict[str, tuple[Grid, Community]]:
        return self._view.grids

    @property
    def communities(self) -> dict[str, Community]:
        return self._view.communities

    @property
    def placements(self) -> dict[str, Placement]:
        return self._view.placements

    @property
    def people(self) -> dict[str, Person]:
        """Everyone of `people` (grid workers and supervisors included), by id."""
        return self._view.people

    @property
    def retired(self) -> frozenset[str]:
        return self._view.retired

    def get(self, sensor_id: str) -> Placement | None:
        return self._view.placements.get(sensor_id)

    def is_retired(self, sensor_id: str) -> bool:
        return sensor_id in self._view.retired

    def __len__(self) -> int:
        return len(self._view.placements)

    def sensors_of(self, community_id: str) -> list[Sensor]:
        view = self._view
        return [p.sensor for p in view.placements.values() if p.community.id == community_id]

    def swap(self, newer: Registry) -> None:
        """Take `newer`'s view: every holder of this object sees it from the next lookup."""
        self._view = newer._view

    def snapshot(self) -> Registry:
        """A Registry fixed at this object's current view (it does not follow swaps)."""
        r = Registry.__new__(Registry)
        r._view = self._view
        return r
