"""A resident's report opens or adds to the sensor's one active `resident.report` ticket.

The ticket is routed like any other (the sensor's grid, its worker, notified when it opens);
each further report while it is active counts an occurrence and writes a `reported` line with
what was seen — never the phone number, which stays in `resident_reports` and is shown to the
crew of that grid only (`ResidentReports.list`), so it reaches no group notification. A
resident's photo is re-encoded like a crew's (services.photos).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.site import Registry
from services.auth.principal import NotVisible, Principal
from services.db.models import ResidentReport, Ticket
from services.photos.images import Encoded
from services.photos.store import PhotoStore
from services.tickets.errors import TicketNotFound
from services.tickets.lifecycle import EventKind
from services.tickets.reads import public
from services.tickets.routing import route
from services.tickets.rows import line, new_ticket
from services.tickets.schemas import Notice

RULE = "resident.report"
ACTOR = "resident"

WHAT: dict[str, tuple[str, str]] = {
    "smell": ("异味", "bad smell"),
    "overflow": ("溢流冒水", "overflowing"),
    "dead_fish": ("死鱼", "dead fish"),
    "discoloured": ("水色异常", "discoloured water"),
    "no_water": ("停水", "no water"),
    "low_pressure": ("水压低", "low water pressure"),
    "power_out": ("停电", "power cut"),
    "damage": ("设施损坏", "damaged equipment"),
    "other": ("其他问题", "something else"),
}
"""What a resident can say they see: a fixed list (no free text reaches a crew's phone)."""

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


class ReportError(ValueError):
    """A report that cannot be taken (422 at the body)."""

    field = "what"


@dataclass(frozen=True, slots=True)
class ReportPublic:
    """One report as the ticket page shows it; `phone` only for the grid's crew."""

    id: int
    at_ns: int
    what: str
    what_zh: str
    what_en: str
    photo: int | None
    phone: str | None
    has_phone: bool


class ResidentReports:
    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        photos: PhotoStore,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.photos = photos
        self.clock = clock

    def check(self, sensor: str, what: str, phone: str) -> str:
        """The phone number as stored, or NotVisible / ReportError."""
        if self.registry.get(sensor) is None:
            raise NotVisible(sensor)
        if what not in WHAT:
            raise ReportError(f"what must be one of {', '.join(WHAT)}")
        phone = phone.strip()
        if phone and not PHONE.match(phone):
            e = ReportError("a phone number is 6-20 digits, spaces or dashes, optionally +")
            e.field = "phone"
            raise e
        return phone

    def report(
        self, sensor: str, what: str, phone: str = "", photo: Encoded | None = None
    ) -> tuple[int, list[Notice]]:
        """Take a report: its id, and the notices to send (an opened ticket's)."""
        phone = self.check(sensor, what, phone)
        for attempt in range(2):
            try:
                with Session(self.engine, expire_on_commit=False) as s, s.begin():
                    return self._report(s, sensor, what, phone, photo)
            except IntegrityError:  # another report opened the ticket first: add to it
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _report(
        self, s: Session, sensor: str, what: str, phone: str, photo: Encoded | None
    ) -> tuple[int, list[Notice]]:
        now = self.clock()
        zh, en = WHAT[what]
        t = s.scalars(
            select(Ticket)
            .where(Ticket.sensor == sensor, Ticket.rule == RULE, Ticket.status != "resolved")
            .with_for_update()
        ).first()
        opened = t is None
        if t is None:
            r = route(self.registry, sensor, RULE)
            if r is None:  # pragma: no cover - check() saw the sensor
                raise NotVisible(sensor)
            t = new_ticket(
                r,
                sensor,
                RULE,
                now,
                metric=None,
                severity="warning",
                opened_at_ns=now,
                updated_at_ns=now,
                last_event_ns=now,
                occurrences=1,
                recovered=False,
                comparison="",
            )
            s.add(t)
            s.flush()
            r_place = (r.community_name, r.grid_name, r.asset)
        else:
            t.occurrences += 1
            t.updated_at_ns = max(t.updated_at_ns, now)
            t.last_event_ns = max(t.last_event_ns, now)
            rr = route(self.registry, sensor, RULE)
            r_place = (rr.community_name, rr.grid_name, rr.asset) if rr else ("", t.grid, "")
        photo_id = self.photos.store(s, t, photo, ACTOR, now).id if photo is not None else None
        row = ResidentReport(
            ticket_id=t.id, sensor=sensor, what=what, phone=phone, photo_id=photo_id, at_ns=now
        )
        s.add(row)
        kinds = [
            w
            for (w,) in s.execute(
                select(ResidentReport.what).where(ResidentReport.ticket_id == t.id)
            )
        ]
        _summarise(t, r_place, kinds)
        entry = line(t, EventKind.OPENED if opened else EventKind.REPORTED, ACTOR, now, now)
        entry.note = f"{zh} / {en}"
        entry.photos = "" if photo_id is None else str(photo_id)
        s.add(entry)
        s.flush()
        notices = [Notice(event=EventKind.OPENED.value, ticket=public(s, t))] if opened else []
        return row.id, notices

    def list(self, ticket_id: int, who: Principal) -> list[ReportPublic]:
        """The reports of a ticket the caller may see; phone numbers for its grid's crew only."""
        with Session(self.engine) as s:
            t = s.get(Ticket, ticket_id)
            if t is None or (who.scope is not None and t.grid not in who.scope):
                raise TicketNotFound(ticket_id)
            crew = who.scope is not None  # a crew token here is one of this grid
            return [
                ReportPublic(
                    id=r.id,
                    at_ns=r.at_ns,
                    what=r.what,
                    what_zh=WHAT.get(r.what, (r.what, r.what))[0],
                    what_en=WHAT.get(r.what, (r.what, r.what))[1],
                    photo=r.photo_id,
                    phone=(r.phone or None) if crew else None,
                    has_phone=bool(r.phone),
                )
                for r in s.scalars(
                    select(ResidentReport)
                    .where(ResidentReport.ticket_id == ticket_id)
                    .order_by(ResidentReport.id)
                )
            ]


def _summarise(t: Ticket, place: tuple[str, str, str], kinds: list[str]) -> None:
    """The ticket's sentence: where, what residents saw (most reported first), how often."""
    order = sorted(set(kinds), key=lambda w: (-kinds.count(w), w))
    zh = "、".join(WHAT[w][0] for w in order if w in WHAT)
    en = ", ".join(WHAT[w][1] for w in order if w in WHAT)
    where_zh = " ".join(p for p in place if p)
    where_en = ", ".join(p for p in place if p)
    t.summary_zh = f"{where_zh}:居民报告{zh}(共 {len(kinds)} 次)"
    t.summary_en = f"{where_en}: residents report {en} ({len(kinds)} reports)"
