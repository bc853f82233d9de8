"""Ticket timelines read in pages: indexes so a ticket's newest lines and its counts come from
the index, not from reading every comment of a long history (issue 11).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_timeline", ["ticket_id", "id"])
        batch_op.create_index("ix_ticket_events_kinds", ["ticket_id", "kind"])


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_kinds")
        batch_op.drop_index("ix_ticket_events_timeline")
