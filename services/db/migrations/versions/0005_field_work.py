"""Field work on phones (contract §9, issue 15): the person's name on a token, one-time sign-in
links, ticket photos (stored in the database: backups take them with the tickets), resident
reports, and the photo ids a timeline line carries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name", sa.String(100), nullable=False, server_default="")
        )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photos", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("used_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at_ns", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name="fk_sign_in_links_token_id_tokens"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_links"),
        sa.UniqueConstraint("digest", name="uq_sign_in_links_digest"),
    )
    op.create_index("ix_sign_in_links_token_id", "sign_in_links", ["token_id"])
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("received_bytes", sa.Integer(), nullable=False),
        sa.Column("stored_bytes", sa.Integer(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_photos_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_photos"),
    )
    op.create_index("ix_photos_ticket_id", "photos", ["ticket_id"])
    op.create_table(
        "resident_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(64), nullable=False),
        sa.Column("what", sa.String(32), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_resident_reports_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name="fk_resident_reports_photo_id_photos"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resident_reports"),
    )
    op.create_index("ix_resident_reports_ticket_id", "resident_reports", ["ticket_id"])
    op.create_index("ix_resident_reports_sensor", "resident_reports", ["sensor"])


def downgrade() -> None:
    op.drop_table("resident_reports")
    op.drop_table("photos")
    op.drop_table("sign_in_links")
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_column("photos")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("display_name")
