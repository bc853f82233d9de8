"""The tables, as SQLAlchemy 2 declarative models.

Times are integers in nanoseconds since the epoch (UTC): event times come from devices in ns,
and comparing "is this breach older than what the ticket has seen" must be exact on SQLite and
PostgreSQL alike. The API turns them into ISO 8601.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ACTIVE = text("status != 'resolved'")
"""The predicate of the partial unique index: at most one non-resolved ticket per key."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    grid: Mapped[str] = mapped_column(String(64), index=True)
    community: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str] = mapped_column(String(64))
    assignee_name: Mapped[str] = mapped_column(String(100))
    supervisor: Mapped[str | None] = mapped_column(String(64))
    opened_at_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_at_ns: Mapped[int] = mapped_column(BigInteger)
    acknowledged_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    created_at_ns: Mapped[int] = mapped_column(BigInteger)  # hub clock: drives escalation
    escalated_at_ns: Mapped[int | None] = mapped_column(BigInteger)  # to the supervisor
    last_event_ns: Mapped[int] = mapped_column(BigInteger)  # newest breach event time applied
    first_value: Mapped[float | None] = mapped_column(Float)
    peak_value: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    comparison: Mapped[str] = mapped_column(String(16), default="")
    limit_zh: Mapped[str] = mapped_column(String(100), default="")
    limit_en: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    provenance: Mapped[str] = mapped_column(String(4), default="")
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index(
            "uq_tickets_active_key",
            "sensor",
            "rule",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index("ix_tickets_key", "sensor", "rule", "id"),
    )


class TicketEvent(Base):
    """One line of a ticket's timeline: what happened, who did it, when it happened (event
    time) and when the hub recorded it."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    at_ns: Mapped[int] = mapped_column(BigInteger)
    recorded_at_ns: Mapped[int] = mapped_column(BigInteger)
    severity: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[str] = mapped_column(Text, default="")  # space-separated photo ids

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_ticket_events_timeline", "ticket_id", "id"),  # a page: newest lines first
        Index("ix_ticket_events_kinds", "ticket_id", "kind"),  # the counts, from the index
    )


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[str] = mapped_column(Text, default="")  # space-separated grid ids (crew)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    revoked_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(100), default="")  # shown on timelines


class SignInLink(Base):
    """A one-time sign-in link for a token's holder: the link's secret is stored hashed; using
    it gives the phone a fresh secret of the token (the old one stops working)."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    expires_at_ns: Mapped[int] = mapped_column(BigInteger)
    used_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at_ns: Mapped[int | None] = mapped_column(BigInteger)


class Photo(Base):
    """A photo of a ticket, re-encoded without metadata, with its thumbnail (both JPEG)."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at_ns: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    received_bytes: Mapped[int] = mapped_column(Integer)  # as uploaded
    stored_bytes: Mapped[int] = mapped_column(Integer)  # image + thumbnail, what the budget counts
    image: Mapped[bytes] = mapped_column(LargeBinary)
    thumb: Mapped[bytes] = mapped_column(LargeBinary)


class ResidentReport(Base):
    """What a resident reported at a sensor (the public form): kept apart from the timeline
    because the phone number is for the grid's crew only, never for notices."""

    __tablename__ = "resident_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    sensor: Mapped[str] = mapped_column(String(64), index=True)
    what: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(32), default="")
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))
    at_ns: Mapped[int] = mapped_column(BigInteger)


class RejectionRow(Base):
    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reason: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(300))
    sensor: Mapped[str | None] = mapped_column(String(64))
    metric: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    payload_head: Mapped[str] = mapped_column(Text)
    received_at_ns: Mapped[int] = mapped_column(BigInteger)


class RuleState(Base):
    __tablename__ = "rule_state"

    sensor: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # JSON


class DeliveryFailure(Base):
    """A webhook delivery that failed after every retry: what operators look at."""

    __tablename__ = "delivery_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    ticket_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    failed_at_ns: Mapped[int] = mapped_column(BigInteger)


class MaintenanceWindow(Base):
    """A sensor under maintenance for a period: rules raise no new tickets for it meanwhile.

    `announced`/`closed` record that the hub wrote the window's start and end into the
    timelines of the sensor's active tickets; `suppressed` counts the distinct conditions the
    rules held back (keys in `suppressed_keys`, JSON), so a restart does not count them twice.
    """

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor: Mapped[str] = mapped_column(String(64), index=True)
    grid: Mapped[str] = mapped_column(String(64), index=True)
    start_ns: Mapped[int] = mapped_column(BigInteger)
    end_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    announced: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    suppressed_keys: Mapped[str] = mapped_column(Text, default="[]")


class OutboxRow(Base):
    """One notice owed to one channel (services.notify.outbox): written in the transaction that
    made the ticket event, deleted never; a channel's worker claims due rows under a lease
    (`lease_owner`, `lease_until_ns`), sends them (several in one message when they came
    together) and records the outcome. `status`: pending | sent | failed."""

    __tablename__ = "notify_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)  # JSON: services.notify.message.Item
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    due_at_ns: Mapped[int] = mapped_column(BigInteger)  # not before: window, quiet hours, retry
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until_ns: Mapped[int | None] = mapped_column(BigInteger)
    done_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_notify_outbox_work", "channel", "status", "due_at_ns"),)


class EscalationRow(Base):
    """Step `step` of a ticket's escalation chain was taken (at most once: the primary key)."""

    __tablename__ = "notify_escalations"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64))
    at_ns: Mapped[int] = mapped_column(BigInteger)


# -- the live registry (contract §7) -----------------------------------------------------------
# One row per entity; lists and mappings as JSON text. `position` keeps the document's order,
# so an export lists things as they were written.


class RegistryMeta(Base):
    """The registry's one row: its `version` (grows with every committed change, what every
    process polls or is notified of) and the site-wide settings."""

    __tablename__ = "registry_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at_ns: Mapped[int] = mapped_column(BigInteger)


class RegistryCommunity(Base):
    __tablename__ = "registry_communities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    supervisor: Mapped[str] = mapped_column(String(64))  # a person's id
    own_escalation: Mapped[bool] = mapped_column(Boolean, default=False)  # else the site's
    position: Mapped[int] = mapped_column(Integer)


class RegistryGrid(Base):
    __tablename__ = "registry_grids"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("registry_communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    worker: Mapped[str] = mapped_column(String(64))  # a person's id
    boundary: Mapped[str | None] = mapped_column(Text)  # GeoJSON Polygon
    position: Mapped[int] = mapped_column(Integer)


class RegistryPerson(Base):
    __tablename__ = "registry_people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of grid ids
    position: Mapped[int] = mapped_column(Integer)


class RegistrySensor(Base):
    """A sensor, current or retired (`retired_at_ns`): a retired sensor's row stays, so its
    history keeps its name and a re-used id is recognised."""

    __tablename__ = "registry_sensors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    grid: Mapped[str] = mapped_column(String(64), index=True)  # no FK: a retired one keeps it
    asset: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    interval_s: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text, default="{}")  # JSON per-sensor rule patches
    position: Mapped[int] = mapped_column(Integer)
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    retired_at_ns: Mapped[int | None] = mapped_column(BigInteger)
    login_hash: Mapped[str | None] = mapped_column(String(200))  # of the broker password
    login_set_at_ns: Mapped[int | None] = mapped_column(BigInteger)


class RegistryChannel(Base):
    """A notification channel (contract §8): its `ChannelSpec` as JSON, so the notifier's
    schema (domain.site.ChannelSpec) can grow without a migration of its own."""

    __tablename__ = "registry_channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    spec: Mapped[str] = mapped_column(Text)  # JSON: ChannelSpec as the site file writes it
    position: Mapped[int] = mapped_column(Integer)


class RegistryEscalation(Base):
    """One escalation step: site-wide (`community` NULL) or a community's."""

    __tablename__ = "registry_escalation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str | None] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    after_s: Mapped[float] = mapped_column(Float)
    notify: Mapped[str] = mapped_column(String(64))


class RegistryAudit(Base):
    """One registry change: who (token name), when, which entity, before and after (JSON;
    NULL for an addition's before and a removal's after)."""

    __tablename__ = "registry_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(16), index=True)
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # added | changed | removed | login | ...
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)


class SensorPlacement(Base):
    """Where a sensor was, and when: [valid_from, valid_to) on the hub clock (valid_to NULL:
    still there). What a report of a past period attributes a sensor's readings by."""

    __tablename__ = "sensor_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor: Mapped[str] = mapped_column(String(64), index=True)
    grid: Mapped[str] = mapped_column(String(64))
    community: Mapped[str] = mapped_column(String(64))
    valid_from_ns: Mapped[int] = mapped_column(BigInteger)
    valid_to_ns: Mapped[int | None] = mapped_column(BigInteger)
