"""Databases for the ticket tests: every lifecycle test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.site import Registry
from services.db.engine import open_database
from tests.pg import pg_url, postgres  # noqa: F401 - fixtures
from tests.services.tickets.site import registry


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty ticket database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gw.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    e = open_database(url)
    yield e
    e.dispose()


@pytest.fixture
def site() -> Registry:
    """The two-community test site."""
    return registry()
