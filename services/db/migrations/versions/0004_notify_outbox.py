"""The notification outbox and the escalation chains' progress (issue 14).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("due_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until_ns", sa.BigInteger(), nullable=True),
        sa.Column("done_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
    )
    op.create_index("ix_notify_outbox_work", "notify_outbox", ["channel", "status", "due_at_ns"])
    op.create_index(op.f("ix_notify_outbox_ticket_id"), "notify_outbox", ["ticket_id"])
    op.create_table(
        "notify_escalations",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_notify_escalations_ticket_id_tickets"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", "step", name=op.f("pk_notify_escalations")),
    )


def downgrade() -> None:
    op.drop_table("notify_escalations")
    op.drop_index(op.f("ix_notify_outbox_ticket_id"), table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_work", table_name="notify_outbox")
    op.drop_table("notify_outbox")
