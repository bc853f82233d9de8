"""The live registry in SQL (issue 13): communities, grids, people, sensors, channels,
escalation steps, its version, the audit log and sensors' placement intervals.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_meta",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_meta"),
    )
    op.create_table(
        "registry_communities",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("own_escalation", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_communities"),
    )
    op.create_table(
        "registry_grids",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("boundary", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community"],
            ["registry_communities.id"],
            name="fk_registry_grids_community_registry_communities",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registry_grids"),
    )
    op.create_index("ix_registry_grids_community", "registry_grids", ["community"])
    op.create_table(
        "registry_people",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("grids", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_people"),
    )
    op.create_table(
        "registry_sensors",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("retired_at_ns", sa.BigInteger(), nullable=True),
        sa.Column("login_hash", sa.String(200), nullable=True),
        sa.Column("login_set_at_ns", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_sensors"),
    )
    op.create_index("ix_registry_sensors_grid", "registry_sensors", ["grid"])
    op.create_table(
        "registry_channels",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_channels"),
    )
    op.create_table(
        "registry_escalation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("after_s", sa.Float(), nullable=False),
        sa.Column("notify", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_escalation"),
    )
    op.create_index("ix_registry_escalation_community", "registry_escalation", ["community"])
    op.create_table(
        "registry_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registry_audit"),
    )
    op.create_index("ix_registry_audit_at_ns", "registry_audit", ["at_ns"])
    op.create_index("ix_registry_audit_entity", "registry_audit", ["entity"])
    op.create_table(
        "sensor_placements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sensor", sa.String(64), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("valid_from_ns", sa.BigInteger(), nullable=False),
        sa.Column("valid_to_ns", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sensor_placements"),
    )
    op.create_index("ix_sensor_placements_sensor", "sensor_placements", ["sensor"])


def downgrade() -> None:
    for table in (
        "sensor_placements",
        "registry_audit",
        "registry_escalation",
        "registry_channels",
        "registry_sensors",
        "registry_people",
        "registry_grids",
        "registry_communities",
        "registry_meta",
    ):
        op.drop_table(table)
