"""The site document's models: communities and their grid cells, people, sensors, escalation
steps and notification channels (`domain.channels.ChannelSpec`) — one schema per concept, used
for the site file, the database's registry and every admin API body.

Ids are allow-listed by pattern because they become InfluxDB tags and MQTT topic levels. A
grid's `worker` and a community's `supervisor` name a person of `people` by id; the inline
`{id, name, phone}` form of §1 still loads (the person joins `people`). The cross-references
are checked by `domain.site.problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from domain.catalog import Kind
from domain.channels import ChannelSpec
from domain.duration import parse_duration
from domain.ids import Id
from domain.site.problems import problems

RULE_KEY = r"^[a-z]+\.[a-z0-9_]+$"
"""A rule id, as services/rules/spec.py spells them (`pond.low_oxygen`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRole(StrEnum):
    WORKER = "worker"  # a grid cell's worker: tickets are assigned to them
    SUPERVISOR = "supervisor"  # a community's supervisor: escalations go to them
    CREW = "crew"  # a crew member of the grid cells in `grids`


EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Person(_Strict):
    id: Id
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200, pattern=EMAIL_PATTERN)
    role: PersonRole = PersonRole.WORKER
    grids: list[Id] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _reference(cls, data: Any) -> Any:
        # A person named by id that `people` does not hold (Site resolves the ones it holds).
        if isinstance(data, str):
            raise ValueError(f"no person {data!r} in people")
        return data


class Polygon(_Strict):
    """A GeoJSON Polygon (RFC 7946 §3.1.6): rings of [lon, lat] positions, each closed."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _closed(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        for i, ring in enumerate(rings):
            if len(ring) < 4:
                raise ValueError(f"ring {i} has {len(ring)} positions; a ring needs at least 4")
            if ring[0] != ring[-1]:
                raise ValueError(
                    f"ring {i} does not close: its first position {list(ring[0])} "
                    f"is not its last {list(ring[-1])}"
                )
            for lon, lat in ring:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError(f"ring {i}: [{lon}, {lat}] is not a [lon, lat] position")
        return rings


class Grid(_Strict):
    id: Id
    name: str = Field(min_length=1, max_length=100)
    worker: Person
    boundary: Polygon | None = None


class EscalationStep(_Strict):
    """`{after: 30m, notify: supervisor}`: a ticket not acknowledged `after` its opening tells
    `notify` — the community's `supervisor`, the grid's `worker`, or a person by id — on the
    ticket's channels, mentioned by mobile."""

    after: float = Field(gt=0, description="seconds (or text: 30m, 1h) after the ticket opened")
    notify: str = Field(min_length=1, max_length=64)

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, v: object) -> float:
        return parse_duration(v)


class Community(_Strict):
    id: Id
    name: str = Field(min_length=1, max_length=100)
    supervisor: Person
    grids: list[Grid] = Field(min_length=1)
    escalation: list[EscalationStep] | None = None  # None: the site's chain


_SLOTTED = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True, config=_SLOTTED)
class Location:
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


@dataclass(frozen=True, slots=True, config=_SLOTTED)
class Sensor:
    """A sensor. A slotted pydantic dataclass, not a model: a district has up to a million,
    and a model's `__dict__` and fields-set cost ~490 bytes each (640 → 152 bytes a sensor,
    validated in half the time); it validates and dumps the same way (`document`)."""

    id: Id
    kind: Kind
    grid: Id
    asset: str = Field(default="", max_length=200)
    location: Location | None = None
    interval_s: int = Field(default=300, ge=1, le=86_400)
    rules: dict[Annotated[str, Field(pattern=RULE_KEY)], dict[str, Any]] = Field(
        default_factory=dict
    )
    """Per-sensor rule patches, as the rules file's `sensors: {<id>: ...}` takes them."""


_SENSOR = TypeAdapter(Sensor)


class Site(_Strict):
    """A whole site. Cross-references (a sensor's grid, a person's grids, a channel's grids and
    communities, unique ids) are checked on load."""

    timezone: str = "Asia/Shanghai"
    communities: list[Community] = Field(min_length=1)
    people: list[Person] = Field(default_factory=list)
    sensors: list[Sensor] = Field(default_factory=list)
    channels: list[ChannelSpec] = Field(default_factory=list)
    escalation: list[EscalationStep] = Field(default_factory=list)  # site-wide chain

    @model_validator(mode="before")
    @classmethod
    def _resolve_people(cls, data: Any) -> Any:
        """Grids' workers and communities' supervisors named by id become the person of
        `people`; an inline person joins `people` (role from its place) unless already there."""
        if not isinstance(data, Mapping) or not isinstance(data.get("communities"), list):
            return data
        out = dict(data)
        given = out.get("people")
        if given is not None and not isinstance(given, list):
            return data  # the field's own validation says what is wrong
        people: list[Any] = list(given or [])
        known: dict[str, Any] = {}
        for p in people:
            pid = p.get("id") if isinstance(p, Mapping) else getattr(p, "id", None)
            if isinstance(pid, str):
                known.setdefault(pid, p)

        def resolve(ref: Any, role: PersonRole) -> Any:
            if isinstance(ref, str):
                return known.get(ref, ref)
            pid = ref.get("id") if isinstance(ref, Mapping) else getattr(ref, "id", None)
            if not isinstance(pid, str):
                return ref
            if pid not in known:
                entry: Any = ref
                if isinstance(ref, Mapping) and "role" not in ref:
                    entry = {**ref, "role": role.value}
                known[pid] = entry
                people.append(entry)
            elif isinstance(ref, Mapping):
                # Written inline where `people` has it too: the inline fields are the newer
                # word (a document edited in place), merged over the entry.
                base = known[pid]
                base = dict(base) if isinstance(base, Mapping) else base.model_dump()
                merged = {**base, **ref}
                if merged != base:
                    people[next(i for i, p in enumerate(people) if p is known[pid])] = merged
                    known[pid] = merged
            return known[pid]

        communities = []
        for c in out["communities"]:
            if isinstance(c, Mapping):
                c = dict(c)
                if "supervisor" in c:
                    c["supervisor"] = resolve(c["supervisor"], PersonRole.SUPERVISOR)
                if isinstance(c.get("grids"), list):
                    grids = []
                    for g in c["grids"]:
                        if isinstance(g, Mapping) and "worker" in g:
                            g = {**g, "worker": resolve(g["worker"], PersonRole.WORKER)}
                        elif isinstance(g, Grid):
                            resolve(g.worker, PersonRole.WORKER)
                        grids.append(g)
                    c["grids"] = grids
            elif isinstance(c, Community):
                resolve(c.supervisor, PersonRole.SUPERVISOR)
                for g in c.grids:
                    resolve(g.worker, PersonRole.WORKER)
            communities.append(c)
        out["communities"] = communities
        out["people"] = people
        return out

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Site:
        if info.context and info.context.get("defer_checks"):
            return self  # parse_site runs `problems` itself, to report each with its place
        found = problems(self)
        if found:
            raise ValueError("; ".join(str(p) for p in found))
        return self

    def document(self) -> dict[str, Any]:
        """The site in the file's normalised shape (JSON types): people once under `people`,
        grids and communities naming them by id, defaults left out. Loading it gives this
        site back."""
        out: dict[str, Any] = {"timezone": self.timezone, "communities": []}
        for c in self.communities:
            cd = c.model_dump(mode="json", exclude_defaults=True, exclude={"grids"})
            cd["supervisor"] = c.supervisor.id
            cd["grids"] = []
            for g in c.grids:
                gd = g.model_dump(mode="json", exclude_defaults=True)
                gd["worker"] = g.worker.id
                cd["grids"].append(gd)
            out["communities"].append(cd)
        out["people"] = [p.model_dump(mode="json", exclude_defaults=True) for p in self.people]
        out["sensors"] = [
            _SENSOR.dump_python(s, mode="json", exclude_defaults=True) for s in self.sensors
        ]
        for name in ("channels", "escalation"):
            items = getattr(self, name)
            out[name] = [i.model_dump(mode="json", exclude_defaults=True) for i in items]
        return out

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
