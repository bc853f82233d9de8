"""Alembic environment: runs on the connection handed in by `services.db.engine.migrate`, or
on `sqlalchemy.url` when called from the `alembic` command line for authoring migrations."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from services.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (alembic -x) or call services.db.engine.migrate")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
