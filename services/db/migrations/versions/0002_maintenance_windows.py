"""Maintenance windows: a sensor under maintenance for a period (issue 7).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("suppressed_keys", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maintenance_windows_end_ns"), ["end_ns"])
        batch_op.create_index(batch_op.f("ix_maintenance_windows_grid"), ["grid"])
        batch_op.create_index(batch_op.f("ix_maintenance_windows_sensor"), ["sensor"])


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_windows_sensor"))
        batch_op.drop_index(batch_op.f("ix_maintenance_windows_grid"))
        batch_op.drop_index(batch_op.f("ix_maintenance_windows_end_ns"))
    op.drop_table("maintenance_windows")
