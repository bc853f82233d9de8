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

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[str] = mapped_column(Text, default="")  # space-separated grid ids (crew)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    created_at_ns: Mapped[int] = mapped_column(BigInteger)
    revoked_at_ns: Mapped[int | None] = mapped_column(BigInteger)


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
